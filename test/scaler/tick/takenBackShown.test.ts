import t from 'tap';
import { decisionsOf } from '../../../src/leader/statusPage.js';
import { preemptableJobs, tickHarness, tickTestConfig, type LogLine } from '../../fixtures/leaderFakes.js';

/**
 * A draining node a plan takes back is told of as its drain was: logged with the plan's reason,
 * an `undrain` decision in /status, kept among the recent ticks, and counted in the metrics. It
 * was silent before: a node logged as draining went on taking work with nothing saying why.
 */
t.test('a node taken back from draining is logged, listed as a decision and counted', async (t) => {
  const {
    clock,
    provisioner,
    cluster,
    store,
    lines,
    metrics,
    scaler: first,
    restart,
  } = tickHarness(tickTestConfig({ nodeTypes: [{ type: 't2.medium', spot: true }] }, {}));
  cluster.queued = preemptableJobs(1);
  await first.tick();
  const [node] = provisioner.live();
  if (!node) throw new Error('nothing launched');
  cluster.register(node.instanceId, true);
  cluster.queued = [];
  cluster.place('j0', node.instanceId, clock.now());
  await clock.advance(30_000);
  await first.tick();
  // The leader stopped with the node draining (its job still running); restarted, it finds work
  // queued again, which the node's free room takes sooner than a launch.
  store.state = { ...store.state!, draining: { [node.instanceId]: clock.now() } };
  const restarted = restart();
  await restarted.restore();
  cluster.queued = preemptableJobs(1, 'more');
  await clock.advance(30_000);
  const { report } = await restarted.tick();

  t.same(report.takenBack, [node.instanceId], 'the tick took the node back');
  t.equal(provisioner.live().length, 1, 'instead of launching');
  t.equal(store.state.draining[node.instanceId], undefined, 'no longer draining in the saved state');
  const reason = report.plan.undrain.find((u) => u.nodeId === node.instanceId)?.reason;
  t.match(reason, /demand is back/);
  const logged = (lines as (LogLine & { nodeId?: string; reason?: string })[]).filter(
    (l) => l.msg === 'node taken back from draining',
  );
  t.same(
    logged.map((l) => [l.nodeId, l.reason]),
    [[node.instanceId, reason]],
    'logged once, with the plan reason',
  );
  t.same(
    decisionsOf(report)
      .filter((d) => d.kind === 'undrain')
      .map((d) => `${d.what}: ${d.reason}`),
    [`${node.instanceId}: ${reason}`],
    'an undrain decision for /status',
  );
  t.ok(
    restarted.recentReports.includes(report),
    'a tick that only took a node back is kept among the recent ones',
  );
  const counted = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)!.get()).values.reduce((s, v) => s + v.value, 0);
  t.equal(await counted('toil_nodes_taken_back_total'), 1);
  t.equal(await counted('toil_nodes_drained_total'), 0, 'no plan drained a node here');
});
