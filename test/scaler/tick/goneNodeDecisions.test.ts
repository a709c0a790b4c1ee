import t from 'tap';
import { decisionsOf } from '../../../src/leader/statusPage.js';
import { preemptableJobs, tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * A node of ours the cloud ends without our asking (a spot reclaim, a terminate from the console)
 * is a decision in /status, with why, as a node the leader terminates is: it was named only in
 * the log. The tick that sees it gone keeps its report among the recent ones for that.
 */
const config = () =>
  tickTestConfig({ zones: ['us-west-2a'], nodeTypes: 't2.medium:0.03', preemptableCompensation: 0 });

/** One node of ours, busy, then ended by `end`: the decisions of the tick that sees it gone. */
async function goneUnderJob(end: (s: ReturnType<typeof tickHarness>, id: string) => void) {
  const s = tickHarness(config());
  s.provisioner.prices.set('t2.medium/us-west-2a', 0.012);
  s.cluster.queued = preemptableJobs(1);
  await s.scaler.tick();
  const [node] = s.provisioner.live();
  s.cluster.register(node!.instanceId, true);
  s.cluster.queued = [];
  s.cluster.place('j0', node!.instanceId, s.clock.now());
  await s.clock.advance(30_000);
  await s.scaler.tick();
  end(s, node!.instanceId);
  const { report } = await s.scaler.tick();
  return { id: node!.instanceId, report, recent: s.scaler.recentReports, decisions: decisionsOf(report) };
}

t.test('a spot node reclaimed: a gone decision saying so', async (t) => {
  const { id, report, recent, decisions } = await goneUnderJob((s, id) => s.provisioner.nodes.delete(id));
  t.same(
    decisions.filter((d) => d.kind === 'gone').map((d) => `${d.what}: ${d.reason}`),
    [`${id}: spot reclaimed`],
  );
  t.ok(recent.includes(report), "the tick's report is kept among the recent ones, for /status");
});

t.test('a node terminated from the console: a gone decision with the cloud reason', async (t) => {
  const { id, decisions } = await goneUnderJob((s, id) => {
    const n = s.provisioner.nodes.get(id)!;
    s.provisioner.nodes.set(id, { ...n, state: 'terminated', stateReason: 'Client.UserInitiatedShutdown' });
  });
  t.same(
    decisions.filter((d) => d.kind === 'gone').map((d) => `${d.what}: ${d.reason}`),
    [`${id}: stopped or terminated by someone else (Client.UserInitiatedShutdown)`],
  );
});
