import t, { type Test } from 'tap';
import { createLogger } from '../../../src/common/log.js';
import { decisionsOf } from '../../../src/leader/statusPage.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import { localClusterWithLeader } from '../../fixtures/ec2Local.js';
import { FakeAgents, MemoryTickStore, capturedLog, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * A worker node of ours that someone stops (maintenance, the console) is terminated by the next
 * tick, said in one log line and in the tick's decisions, and its jobs run again: before, the
 * tick, which listed pending and running instances only, forgot it, and it stayed stopped, its
 * root volume billing, named nowhere. The cluster is the local EC2 endpoint, through the real SDK
 * client; the node is stopped as a person would, through the endpoint's control path.
 */
async function leaderWithABusyNode(t: Test, name: string) {
  const { clock, provisioner, endpoint } = await localClusterWithLeader(t, name);
  const agents = new FakeAgents();
  const store = new MemoryTickStore();
  const { destination, lines } = capturedLog();
  const cfg = tickTestConfig({ nodeTypes: ['t2.medium'], minNodes: 1, maxNodes: 1, idleGrace: '1h' });
  const make = () =>
    new ClusterScaler({
      provisioner,
      cluster: agents,
      store,
      clock,
      log: createLogger({ level: 'info', destination }),
      config: () => cfg,
      newLeaderId: () => 'leader-a',
    });
  const scaler = make();
  await scaler.restore();
  await scaler.tick();
  const [node] = Object.keys(scaler.persisted.owned);
  if (!node) throw new Error('the leader launched nothing');
  agents.register(node);
  agents.place('j0', node, clock.now());
  await scaler.tick();
  const stop = async (): Promise<void> => {
    const res = await fetch(`${endpoint.url}/_localcloud/stop/${node}`, { method: 'POST' });
    t.same(await res.json(), { instanceId: node, state: 'stopped' }, 'the node is stopped');
  };
  const stateOf = async (id: string) =>
    (await provisioner.listNodes({ includeStopped: true, includeTerminated: true })).find(
      (n) => n.instanceId === id,
    )?.state;
  return { clock, provisioner, agents, store, lines, scaler, make, node, stop, stateOf };
}

const REASON =
  /^EC2 shows it stopped: a stopped node runs no job, starting it again costs a boot, and its root volume bills while it is kept; the work it had is planned anew$/;

t.test('a stopped node of ours under a running job is terminated by the next tick, saying so', async (t) => {
  const c = await leaderWithABusyNode(t, 'stopped');
  await c.stop();
  const { report } = await c.scaler.tick();

  t.match(await c.stateOf(c.node), /^(shutting-down|terminated)$/, 'terminated in the cloud');
  t.ok(report.terminated.includes(c.node), 'in the tick report as terminated');
  t.match(report.stopped, [{ nodeId: c.node, reason: REASON }]);
  t.equal(report.stopped?.length, 1);
  const lines = c.lines.filter((l) => l.msg.includes(c.node) && l.msg.startsWith('terminating'));
  t.equal(lines.length, 1, 'one log line');
  t.equal(lines[0]?.level, 40, 'a warning');
  t.equal(
    lines[0]?.msg,
    `terminating worker instance ${c.node} (t2.medium on-demand) this leader launched: ${REASON.source.slice(1, -1)}`,
  );
  const decisions = decisionsOf(report).filter((d) => d.what === c.node);
  t.match(decisions, [{ kind: 'terminate', what: c.node, reason: REASON }], "one of the tick's decisions");
  t.equal(decisions.length, 1);

  t.match(
    c.agents.calls.filter((l) => l.startsWith('lost')),
    [`lost agent-${c.node}: lost: its node ${c.node} is gone (stopped or terminated: stopped)`],
    'its job is lost in that tick, not counted as a spot reclaim',
  );
  t.same(
    c.agents.queued.map((j) => j.id),
    ['j0'],
    'and issued again',
  );
  t.notOk(c.scaler.persisted.owned[c.node], 'no longer owned');
  t.equal(c.scaler.persisted.spotInterruptions ?? 0, 0);
  t.equal(report.launched.length, 1, 'a node replaces it (minNodes 1) in the same tick');
  t.not(report.launched[0], c.node);

  const { report: next } = await c.scaler.tick();
  t.same(next.stopped, [], 'terminated once');
  t.notOk(next.terminated.includes(c.node));
});

t.test('a leader restarted while a node of its is stopped terminates it at its first tick', async (t) => {
  const c = await leaderWithABusyNode(t, 'stopped-restart');
  await c.stop();
  const again = c.make();
  const { forgotten } = await again.restore();
  t.same(forgotten, [], 'the stopped node is not forgotten at the restart');
  t.ok(again.persisted.owned[c.node], 'still owned');
  const { report } = await again.tick();
  t.match(report.stopped, [{ nodeId: c.node, reason: REASON }]);
  t.match(await c.stateOf(c.node), /^(shutting-down|terminated)$/, 'terminated in the cloud');
});
