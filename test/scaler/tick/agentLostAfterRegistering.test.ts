import t from 'tap';
import { preemptableJobs, tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * A node whose agent registered and then left the cluster (a job killed the agent's process, the
 * node wedged) runs nothing: it was counted as booting capacity until bootTimeout, which kept the
 * queue's replacement from being launched and blamed the node for never registering. It is
 * replaced once its agent has been gone for AGENT_LOST_GRACE_SECONDS (120 s); an agent that comes
 * back within that keeps its node.
 */
function harness(bootTimeout = '15m') {
  return tickHarness(
    tickTestConfig({ nodeTypes: [{ type: 't2.medium', spot: true }], bootTimeout, targetTime: '30m' }, {}),
  );
}

/** A cluster whose one node (launched for a queued job) has registered its agent, 30 s after its launch. */
async function registeredNode(bootTimeout?: string) {
  const h = harness(bootTimeout);
  h.cluster.queued = preemptableJobs(1);
  await h.scaler.tick();
  const [node] = h.provisioner.live();
  if (!node) throw new Error('nothing launched');
  await h.clock.advance(30_000);
  h.cluster.register(node.instanceId, true);
  await h.scaler.tick();
  return { ...h, node };
}

t.test(
  'a node whose agent left after registering is replaced after the grace, not after bootTimeout',
  async (t) => {
    const { clock, provisioner, cluster, store, scaler, node } = await registeredNode();
    t.ok(store.state!.registeredAt?.[node.instanceId], 'registered');
    // Its agent is gone from the cluster manager; the job is queued again.
    await clock.advance(30_000);
    cluster.agentsByInstance.delete(node.instanceId);
    const lostAt = clock.now();
    const first = await scaler.tick();
    t.equal(store.state!.agentLostAt?.[node.instanceId], lostAt, 'the tick that found it gone records when');
    t.same(first.report.plan.terminate, [], 'within the grace: kept');
    await clock.advance(60_000);
    t.same((await scaler.tick()).report.plan.terminate, [], '60 s later: still within the grace');
    await clock.advance(70_000);
    const { report } = await scaler.tick();
    t.same(
      report.plan.terminate,
      [
        {
          nodeId: node.instanceId,
          reason: 'its agent registered, then left the cluster 2m10s ago and has not come back; replacing it',
        },
      ],
      '130 s after: replaced, named for what happened, long before bootTimeout (15m)',
    );
    t.equal(report.plan.launch.length, 1, 'a replacement for the queued job in the same plan');
    t.notOk(
      provisioner.live().some((n) => n.instanceId === node.instanceId),
      'terminated',
    );
    t.notOk(store.state!.agentLostAt?.[node.instanceId], 'forgotten with the node');
  },
);

t.test('an agent that comes back (disconnected, then connected) keeps its node', async (t) => {
  const { clock, cluster, store, scaler, node } = await registeredNode();
  const agent = cluster.agentsByInstance.get(node.instanceId)!;
  await clock.advance(30_000);
  cluster.disconnect(node.instanceId);
  await scaler.tick();
  t.ok(store.state!.agentLostAt?.[node.instanceId], 'a disconnected agent counts as gone');
  await clock.advance(60_000);
  cluster.agentsByInstance.set(node.instanceId, { ...agent, disconnected: false });
  await scaler.tick();
  t.equal(store.state!.agentLostAt, undefined, 'back: nothing recorded');
  await clock.advance(120_000);
  const { report } = await scaler.tick();
  t.notOk(
    report.plan.terminate.some((x) => x.nodeId === node.instanceId && /agent registered/.test(x.reason)),
    'not replaced',
  );
});

t.test('past bootTimeout, a node whose agent left is still no boot failure: it booted', async (t) => {
  const { clock, cluster, store, scaler, node } = await registeredNode('1m');
  await clock.advance(30_000);
  cluster.agentsByInstance.delete(node.instanceId);
  await scaler.tick();
  await clock.advance(60_000);
  t.same((await scaler.tick()).report.plan.terminate, [], 'past bootTimeout, within the grace: kept');
  await clock.advance(70_000);
  const { report } = await scaler.tick();
  t.match(report.plan.terminate, [{ nodeId: node.instanceId, reason: /^its agent registered, then left/ }]);
  t.same(store.state!.smoothing?.bootFailures ?? {}, {}, 'no run of boot failures started');
});
