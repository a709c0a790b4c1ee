import t from 'tap';
import { REBALANCE_RECOMMENDED_TAG } from '../../../src/ports/provisioner.js';
import { ProvisionerError } from '../../../src/provisioner/errors.js';
import { meteredTickHarness, preemptableJobs, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * The tick and the spot market: observed prices in every plan (refreshed every
 * tick.spotPriceRefresh), the bid sent as MaxPrice, and interruption notices that drain a node
 * at once and plan its replacement in the same tick.
 */
const ZONES = ['us-west-2a', 'us-west-2b'];
const bidConfig = (scaler: Record<string, unknown> = {}) =>
  tickTestConfig(
    { zones: ZONES, nodeTypes: 't2.medium:0.03', maxNodes: 4, ...scaler },
    { spotPriceRefresh: '10m' },
  );

const setup = meteredTickHarness;

t.test(
  'spot launches go to the cheapest observed zone with MaxPrice = the bid; prices shown with their age',
  async (t) => {
    const s = setup(bidConfig());
    s.provisioner.prices.set('t2.medium/us-west-2a', 0.02);
    s.provisioner.prices.set('t2.medium/us-west-2b', 0.012);
    s.agents.queued = preemptableJobs(2);
    const { report } = await s.tick.tick();
    t.same(
      s.provisioner.launchCalls.map((c) => c.offering),
      [{ instanceType: 't2.medium', zone: 'us-west-2b', market: 'spot', maxPrice: 0.03, rootVolumeGiB: 50 }],
      'the cheaper zone, the bid as MaxPrice',
    );
    t.match(report.plan.launch, [{ zone: 'us-west-2b', pricePerHour: 0.012 }]);
    t.match(report.spotPrices, [
      { instanceType: 't2.medium', zone: 'us-west-2a', price: 0.02, source: 'observed', ageSeconds: 0 },
      { instanceType: 't2.medium', zone: 'us-west-2b', price: 0.012, source: 'observed', ageSeconds: 0 },
    ]);
    const metrics = await s.metrics.registry.getSingleMetricAsString('toil_spot_price_dollars');
    t.match(metrics, /toil_spot_price_dollars\{instance_type="t2.medium",zone="us-west-2b"\} 0.012/);

    // Five minutes later: not read again; the prices have aged.
    await s.clock.advance(300_000);
    s.provisioner.prices.set('t2.medium/us-west-2b', 0.05);
    const later = await s.tick.tick();
    t.match(later.report.spotPrices, [
      { zone: 'us-west-2a', ageSeconds: 300 },
      { zone: 'us-west-2b', price: 0.012 },
    ]);
  },
);

t.test('the observed price above the bid: the plan waits, naming the observed price', async (t) => {
  const s = setup(bidConfig());
  s.provisioner.prices.set('t2.medium/us-west-2a', 0.04);
  s.provisioner.prices.set('t2.medium/us-west-2b', 0.041);
  s.agents.queued = preemptableJobs(2);
  const { report } = await s.tick.tick();
  t.same(s.provisioner.launchCalls, [], 'nothing launched');
  t.match(
    [...report.plan.waiting.map((w) => w.reason), ...report.plan.notes].join('\n'),
    /observed spot price \$0\.04\/h for t2\.medium\/us-west-2a\/spot is above the bid \$0\.03\/h/,
  );
});

t.test('no price yet, or the read failed: the launch still goes out with MaxPrice = the bid', async (t) => {
  const s = setup(bidConfig());
  s.provisioner.spotPricesFail = new ProvisionerError(
    'THROTTLED',
    'EC2 DescribeSpotPriceHistory: Rate exceeded',
  );
  s.agents.queued = preemptableJobs(2);
  const { report } = await s.tick.tick();
  t.match(
    s.provisioner.launchCalls.map((c) => c.offering),
    [{ market: 'spot', maxPrice: 0.03 }],
  );
  t.match(report.spotPriceFeed, { lastError: { code: 'THROTTLED' } }, 'the failure is shown');
});

t.test(
  'an interruption notice drains the node at once and its replacement is launched in the same tick',
  async (t) => {
    const s = setup(bidConfig({ maxNodes: 4 }));
    s.provisioner.prices.set('t2.medium/us-west-2a', 0.012);
    s.provisioner.prices.set('t2.medium/us-west-2b', 0.02);
    s.agents.queued = preemptableJobs(1);
    await s.tick.tick();
    const [first] = s.provisioner.live();
    t.ok(first, 'one spot node');
    s.agents.register(first!.instanceId, true);
    s.agents.queued = [];
    t.ok(s.agents.place('j0', first!.instanceId, s.clock.now()), 'its job runs there');
    await s.clock.advance(30_000);
    await s.tick.tick();
    t.equal(s.provisioner.live().length, 1, 'steady: nothing more launched');

    s.provisioner.notices = [
      { instanceId: first!.instanceId, noticedAt: s.clock.now(), terminateAt: s.clock.now() + 120_000 },
    ];
    const { report } = await s.tick.tick();
    t.same(report.interruptionNotices, [first!.instanceId]);
    t.ok(s.agents.marks.has(`agent-${first!.instanceId}`), 'the noticed node is marked draining');
    t.notOk(s.agents.place('j1', first!.instanceId, s.clock.now()), 'no new task lands on it');
    t.equal(report.launched.length, 1, 'a replacement launched in the same tick');
    t.not(report.launched[0], first!.instanceId);
    t.same(report.terminated, [], 'the noticed node is left for the cloud to reclaim');
    t.equal(
      (await s.metrics.registry.getSingleMetric('toil_spot_interruption_notices_total')!.get()).values[0]!
        .value,
      1,
    );
    // The next tick sees the same notice: no second replacement.
    const again = await s.tick.tick();
    t.same(again.report.launched, [], 'one notice, one replacement');
  },
);

t.test(
  'a rebalance recommendation: no new work placed on the node, new work gets a new node, the node is neither drained nor terminated while its job runs',
  async (t) => {
    const s = setup(bidConfig({ maxNodes: 4, idleGrace: '2m' }));
    s.provisioner.prices.set('t2.medium/us-west-2a', 0.012);
    s.provisioner.prices.set('t2.medium/us-west-2b', 0.02);
    s.agents.queued = preemptableJobs(1);
    await s.tick.tick();
    const [hinted] = s.provisioner.live();
    s.agents.register(hinted!.instanceId, true);
    s.agents.queued = [];
    t.ok(s.agents.place('j0', hinted!.instanceId, s.clock.now()), 'its job runs there');
    await s.clock.advance(30_000);
    await s.tick.tick();

    // The node tags itself once its metadata shows events/recommendations/rebalance.
    s.provisioner.nodes.set(hinted!.instanceId, {
      ...hinted!,
      tags: { ...hinted!.tags, [REBALANCE_RECOMMENDED_TAG]: new Date(s.clock.now()).toISOString() },
    });
    // One more job that would fit beside j0 (t2.medium: two cores, one used).
    s.agents.queued = preemptableJobs(1, 'more').map((j) => ({ ...j, id: 'j1' }));
    const { report } = await s.tick.tick();
    t.ok(s.agents.marks.has(`agent-${hinted!.instanceId}`), 'the batch system places no new task there');
    t.notOk(s.agents.place('j1', hinted!.instanceId, s.clock.now()), 'j1 is refused on it');
    t.equal(report.launched.length, 1, 'j1 gets a new node instead of the room beside j0');
    t.match(
      report.plan.notes.join('\n'),
      new RegExp(
        `node ${hinted!.instanceId} .*has a rebalance recommendation: no new work is placed there; its 1 running job\\(s\\) finish`,
      ),
    );
    t.same(
      [report.plan.drain, report.plan.terminate],
      [[], []],
      'the hint alone drains and terminates nothing',
    );
    t.same(
      s.agents.calls.filter((c) => c.startsWith('force') || c.startsWith('lost')),
      [],
      'nothing is killed',
    );

    // Ticks later, j0 still runs there and the node stays; once it has been idle its grace, it goes.
    await s.clock.advance(60_000);
    const later = await s.tick.tick();
    t.same(later.report.plan.terminate, [], 'kept while j0 runs');
    s.agents.finish('j0');
    await s.clock.advance(10_000);
    await s.tick.tick();
    await s.clock.advance(130_000);
    const idle = await s.tick.tick();
    t.ok(
      idle.report.plan.terminate.some((x) => x.nodeId === hinted!.instanceId),
      'retired as any idle node, after idleGrace',
    );
  },
);
