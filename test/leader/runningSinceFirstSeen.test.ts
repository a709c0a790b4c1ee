import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { ClusterWorkload, TrackedBatchSystem } from '../../src/leader/workloadTracker.js';
import { scriptedBatchSystem, sortAttempt } from '../fixtures/leaderFakes.js';

/**
 * A running job's `startedAt` is when a reading first found it on an agent, not when it was
 * issued: time spent queued (waiting for a node to boot) is not time running, or the policy would
 * think jobs run longer than they do.
 */
t.test('startedAt is when the job was first seen running, not its issue time', async (t) => {
  const clock = new ManualClock();
  const scripted = scriptedBatchSystem();
  const tracked = new TrackedBatchSystem(scripted.system, clock);
  await tracked.start(() => {});
  const workload = new ClusterWorkload(async () => []);
  workload.add(tracked);

  const issuedAt = clock.now();
  await tracked.issue(sortAttempt('j1'));
  t.same(
    (await workload.read()).queued.map((q) => q.id),
    ['j1'],
    'queued while no agent runs it',
  );

  await clock.advance(90_000); // a node boots
  scripted.onAgent.add('j1');
  const first = await workload.read();
  t.equal(first.running[0]?.startedAt, issuedAt + 90_000, 'started when first seen on the agent');

  await clock.advance(30_000);
  const later = await workload.read();
  t.equal(later.running[0]?.startedAt, issuedAt + 90_000, 'a later reading keeps the first sighting');

  // Lost and issued again: the new attempt starts afresh.
  scripted.onAgent.delete('j1');
  await tracked.issue({ ...sortAttempt('j1'), attempt: 2 });
  await clock.advance(10_000);
  scripted.onAgent.add('j1');
  t.equal((await workload.read()).running[0]?.startedAt, clock.now(), 'a new attempt: its own start');
});
