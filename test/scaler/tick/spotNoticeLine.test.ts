import t from 'tap';
import { preemptableJobs, tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * The log line of a spot interruption notice says what the plan of its tick did for the noticed
 * node's jobs: the nodes it launched, named with their type and market, or why it launched none
 * (the plan's waiting reason), so that an operator whose jobs then wait knows it from the line.
 */
const ZONES = ['us-west-2a'];
const config = (scaler: Record<string, unknown> = {}) =>
  tickTestConfig(
    { zones: ZONES, nodeTypes: 't2.medium:0.03', maxNodes: 4, preemptableCompensation: 0, ...scaler },
    { spotPriceRefresh: '10s' },
  );

/**
 * A spot node, running one job unless `idle`, then noticed (reclaimed in `inMs`): resolves with
 * the notice lines and the tick's report.
 */
async function noticeOnNode(
  s: ReturnType<typeof tickHarness>,
  options: { idle?: boolean; inMs?: number; beforeNotice?: () => Promise<void> } = {},
) {
  s.provisioner.prices.set('t2.medium/us-west-2a', 0.012);
  s.cluster.queued = preemptableJobs(1);
  await s.scaler.tick();
  const [first] = s.provisioner.live();
  s.cluster.register(first!.instanceId, true);
  s.cluster.queued = [];
  if (!options.idle) s.cluster.place('j0', first!.instanceId, s.clock.now());
  await s.clock.advance(30_000);
  await s.scaler.tick();
  await options.beforeNotice?.();
  s.provisioner.notices = [
    {
      instanceId: first!.instanceId,
      noticedAt: s.clock.now(),
      terminateAt: s.clock.now() + (options.inMs ?? 120_000),
    },
  ];
  const { report } = await s.scaler.tick();
  const lines = s.lines.filter((l) => l.msg.startsWith('spot interruption notice'));
  return { noticed: first!.instanceId, report, lines };
}

t.test('a replacement launched: the notice line names it, with its type and market', async (t) => {
  const s = tickHarness(config());
  const { noticed, report, lines } = await noticeOnNode(s);
  t.equal(report.launched.length, 1, 'the plan of the tick launched one node');
  const replacement = report.launched[0]!;
  t.same(
    lines.map((l) => l.msg),
    [
      `spot interruption notice: ${noticed} (t2.medium spot) drained now, reclaimed in 120s with 1 job(s) of ours; this tick launched ${replacement} (t2.medium spot) for the queue they join`,
    ],
    'one line, naming the node noticed and the one launched',
  );
});

t.test('no replacement launched: the notice line says why, as the plan does', async (t) => {
  const s = tickHarness(config());
  const { noticed, report, lines } = await noticeOnNode(s, {
    beforeNotice: async () => {
      // The market rose above the bid as the reclaim came: the plan waits for it to fall.
      s.provisioner.prices.set('t2.medium/us-west-2a', 0.05);
      await s.clock.advance(10_000);
    },
  });
  t.same(report.launched, [], 'the plan of the tick launched nothing');
  const reason = report.plan.waiting[0]?.reason;
  t.match(reason, /above the bid/, 'the plan waits for the price');
  t.same(
    lines.map((l) => l.msg),
    [
      `spot interruption notice: ${noticed} (t2.medium spot) drained now, reclaimed in 120s with 1 job(s) of ours; this tick launched no node for them: 1 job: ${reason}`,
    ],
    'one line, with the waiting reason instead of a replacement',
  );
});

t.test('an idle noticed node: the notice line says there is nothing to replace', async (t) => {
  const s = tickHarness(config({ idleGrace: '10m' }));
  const { noticed, report, lines } = await noticeOnNode(s, { idle: true, inMs: 90_000 });
  t.same(report.launched, []);
  t.same(
    lines.map((l) => l.msg),
    [
      `spot interruption notice: ${noticed} (t2.medium spot) drained now, reclaimed in 90s with no job of ours: nothing to replace`,
    ],
  );
});
