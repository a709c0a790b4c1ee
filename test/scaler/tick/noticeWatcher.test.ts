import t from 'tap';
import { ProvisionerError } from '../../../src/provisioner/errors.js';
import { meteredTickHarness, preemptableJobs, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * Spot interruption notices read between ticks (tick.noticePoll): a notice no tick has recorded has
 * its node's agent marked draining at the first read after it appears, and wakes a tick; the tick
 * alone records and counts it. On a ManualClock stepped by hand: no tick runs unless the test runs it.
 */
const POLL_MS = 5_000;

async function setup(tick: Record<string, unknown> = {}) {
  const cfg = tickTestConfig(
    { zones: ['us-west-2a'], nodeTypes: 't2.medium:0.03', maxNodes: 4, scaleInterval: '60s' },
    { noticePoll: `${POLL_MS}ms`, ...tick },
  );
  const { clock, provisioner, agents, metrics, tick: scaler } = meteredTickHarness(cfg);
  agents.queued = preemptableJobs(1);
  await scaler.tick();
  const [node] = provisioner.live();
  if (!node) throw new Error('no spot node launched');
  agents.queued = [];
  const notice = () => ({
    instanceId: node.instanceId,
    noticedAt: clock.now(),
    terminateAt: clock.now() + 120_000,
  });
  const noticesCounted = async (): Promise<number> =>
    (await metrics.registry.getSingleMetric('toil_spot_interruption_notices_total')!.get()).values[0]!.value;
  let wakes = 0;
  const stop = new AbortController();
  const watch = (): Promise<void> => scaler.watchNotices(stop.signal, () => wakes++);
  return {
    clock,
    provisioner,
    agents,
    scaler,
    node,
    notice,
    noticesCounted,
    watch,
    stop,
    wakes: () => wakes,
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

const agentCases: {
  name: string;
  register: (s: Setup) => void;
  marked: boolean;
}[] = [
  {
    name: 'its agent reports the instance id',
    register: (s) => s.agents.register(s.node.instanceId, true),
    marked: true,
  },
  {
    name: "its agent names only its host, the node's private address",
    register: (s) =>
      s.agents.agentsByInstance.set(s.node.instanceId, {
        agentId: `agent-${s.node.instanceId}`,
        hostname: s.node.privateIp!,
        preemptable: true,
        runningJobIds: [],
      }),
    marked: true,
  },
  {
    name: 'no agent yet (still booting): nothing to mark, a tick is woken',
    register: () => {},
    marked: false,
  },
];

for (const c of agentCases)
  t.test(`a notice between ticks, ${c.name}`, async (t) => {
    const s = await setup();
    c.register(s);
    if (c.marked) t.ok(s.agents.place('j0', s.node.instanceId, s.clock.now()), 'its job runs there');
    await s.clock.advance(1_000);
    await s.scaler.tick();
    const ticked = s.scaler.lastCompletedAt;
    const agentId = `agent-${s.node.instanceId}`;
    const watching = s.watch();
    await s.clock.advance(2_000);
    s.provisioner.notices = [s.notice()];

    await s.clock.advance(POLL_MS - 2_000 - 1);
    t.notOk(s.agents.marks.has(agentId), 'not before the read');
    t.equal(s.wakes(), 0);
    await s.clock.advance(1);
    t.equal(s.agents.marks.has(agentId), c.marked, c.marked ? 'marked at the read' : 'no agent to mark');
    if (c.marked) t.notOk(s.agents.place('j1', s.node.instanceId, s.clock.now()), 'no new job lands there');
    t.equal(s.wakes(), 1, 'a tick is woken');
    t.equal(s.scaler.lastCompletedAt, ticked, 'before any tick ran');
    t.equal(await s.noticesCounted(), 0, 'not counted by the read');

    const { report } = await s.scaler.tick();
    t.same(report.interruptionNotices, [s.node.instanceId], 'the woken tick records the notice');
    t.equal(
      report.launched.length,
      c.marked ? 1 : 0,
      c.marked ? "and launches its job's replacement node" : 'no job of its own to replace',
    );
    t.equal(await s.noticesCounted(), 1);
    await s.clock.advance(3 * POLL_MS);
    t.equal(s.wakes(), 1, 'the same notice wakes no more ticks');
    const again = await s.scaler.tick();
    t.same(again.report.interruptionNotices, [], 'nor is it recorded again');
    t.equal(await s.noticesCounted(), 1, 'counted once');
    s.stop.abort();
    await watching;
  });

t.test('a notice a tick has recorded already: the reads neither mark nor wake', async (t) => {
  const s = await setup();
  s.agents.register(s.node.instanceId, true);
  s.provisioner.notices = [s.notice()];
  const { report } = await s.scaler.tick();
  t.same(report.interruptionNotices, [s.node.instanceId]);
  const marksByTick = s.agents.calls.length;
  const watching = s.watch();
  await s.clock.advance(3 * POLL_MS);
  t.equal(s.wakes(), 0);
  t.equal(s.agents.calls.length, marksByTick, 'no mark of its own');
  s.stop.abort();
  await watching;
});

t.test('a failed read marks nothing and the next read does', async (t) => {
  const s = await setup();
  s.agents.register(s.node.instanceId, true);
  const read = s.provisioner.interruptionNotices.bind(s.provisioner);
  let failures = 1;
  s.provisioner.interruptionNotices = () =>
    failures-- > 0
      ? Promise.reject(new ProvisionerError('THROTTLED', 'EC2 DescribeSpotInstanceRequests: Rate exceeded'))
      : read();
  s.provisioner.notices = [s.notice()];
  const watching = s.watch();
  await s.clock.advance(POLL_MS);
  t.equal(s.wakes(), 0, 'the throttled read: no notice seen, not retried at once');
  t.equal(failures, 0);
  await s.clock.advance(POLL_MS);
  t.ok(s.agents.marks.has(`agent-${s.node.instanceId}`), 'the next read marks the node');
  t.equal(s.wakes(), 1);
  s.stop.abort();
  await watching;
});

t.test('tick.noticePoll 0: no reads between ticks', async (t) => {
  const s = await setup({ noticePoll: 0 });
  let reads = 0;
  s.provisioner.interruptionNotices = async () => (reads++, []);
  await s.watch();
  await s.clock.advance(10 * POLL_MS);
  t.equal(reads, 0);
});

t.test('tick.noticePoll below a second is refused, naming the field', async (t) => {
  t.throws(() => tickTestConfig({}, { noticePoll: '200ms' }), /noticePoll.*at least 1s/s);
});
