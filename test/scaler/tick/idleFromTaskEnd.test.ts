import t from 'tap';
import { ManualClock } from '../../../src/common/clock.js';
import { TrackedBatchSystem } from '../../../src/leader/workloadTracker.js';
import { HANDOFF_GRACE_SECONDS } from '../../../src/scaler/cost/plan.js';
import {
  preemptableJobs,
  scriptedBatchSystem,
  sortAttempt,
  tickHarness,
  tickTestConfig,
} from '../../fixtures/leaderFakes.js';

/**
 * A node's idle clock starts when its last task ended (the batch system's update), not at the tick
 * that first finds it empty. With idleGrace 0 (the default), a node is still kept for the few
 * seconds the leader takes to commit a finished job and issue its follow-on: a tick in that gap
 * used to retire the node the follow-on needed, and launch another one for it.
 */
t.test('the tracker reports where and when each attempt ended (not for lost ones)', async (t) => {
  const clock = new ManualClock();
  const scripted = scriptedBatchSystem();
  const tracked = new TrackedBatchSystem(scripted.system, clock);
  const updates: string[] = [];
  await tracked.start((u) => updates.push(u.jobId));
  await tracked.issue(sortAttempt('j1'));
  await tracked.issue(sortAttempt('j2'));
  await clock.advance(42_000);
  // As the Mesos batch system reports: the agent id it ran on.
  scripted.update({ jobId: 'j1', attempt: 1, outcome: 'failed', exitCode: 1, node: 'agent-7' });
  scripted.update({ jobId: 'j2', attempt: 1, outcome: 'lost', node: 'agent-8' });
  t.same(
    tracked.takeEvents(),
    [
      { kind: 'taskEnded', agent: 'agent-7', at: clock.now() },
      { kind: 'lost', jobId: 'j2', name: 'sort', agentId: 'agent-8' },
    ],
    'a failed attempt frees its node at the update; a lost one is the node gone',
  );
  t.same(updates, ['j1', 'j2'], 'the updates reach the leader as before');
});

t.test(
  'idleGrace 0: a node whose job just ended waits for the follow-on instead of being replaced',
  async (t) => {
    const { clock, provisioner, cluster, scaler, store } = tickHarness(
      tickTestConfig({ nodeTypes: [{ type: 't2.medium', spot: true }], idleGrace: '0s' }),
    );
    cluster.queued = preemptableJobs(1);
    await scaler.tick();
    const [node] = provisioner.live();
    if (!node) throw new Error('nothing launched');
    await clock.advance(20_000);
    cluster.register(node.instanceId, true);
    const agent = `agent-${node.instanceId}`;
    cluster.queued = [];
    cluster.place('j0', node.instanceId, clock.now());
    await scaler.tick();

    // The job ends 29 s later, one second before the next tick; its follow-on is not issued yet.
    await clock.advance(29_000);
    cluster.finish('j0');
    cluster.events.push({ kind: 'taskEnded', agent, at: clock.now() });
    await clock.advance(1_000);
    await scaler.tick();
    t.same(
      [provisioner.live().length, store.state!.draining[node.instanceId], provisioner.terminateCalls.length],
      [1, undefined, 0],
      `empty for 1 s (< ${HANDOFF_GRACE_SECONDS} s): kept, not drained`,
    );
    t.equal(
      store.state!.lastBusyAt[node.instanceId],
      clock.now() - 1_000,
      'its idle clock starts at the task end',
    );

    // The follow-on arrives and runs there: no launch.
    cluster.queued = preemptableJobs(1, 'merge');
    await scaler.tick();
    t.equal(provisioner.live().length, 1, 'no second node launched for the follow-on');
    cluster.queued = [];
    cluster.place('j0b', node.instanceId, clock.now());
    await clock.advance(30_000);
    await scaler.tick();
    cluster.finish('j0b');
    cluster.events.push({ kind: 'taskEnded', agent: node.instanceId, at: clock.now() });

    // Nothing follows: retired at the first tick past the grace. The end is matched by host too
    // (Slurm names a node by its host).
    await clock.advance(HANDOFF_GRACE_SECONDS * 1000);
    await scaler.tick();
    t.equal(provisioner.live().length, 0, `retired once empty for ${HANDOFF_GRACE_SECONDS} s`);
  },
);
