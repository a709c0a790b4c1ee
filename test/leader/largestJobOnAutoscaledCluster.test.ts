import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { TrackedBatchSystem } from '../../src/leader/workloadTracker.js';
import { largestLaunchable } from '../../src/scaler/overhead.js';
import { scriptedBatchSystem } from '../fixtures/leaderFakes.js';
import { config, GiB } from '../scaler/fixtures/scaler.js';

/**
 * The largest job a workflow may declare on a cluster its scaler grows is the largest of the
 * nodes registered and of the types the scaler may launch, resource by resource: the batch
 * system alone knows only the nodes registered so far, and a 4-core job whose 1-core parent ran
 * on a c5.large was refused as too big for a cluster allowed c5.xlarge.
 */
const registered = (cores: number, memory: number, disk: number) => ({
  ...scriptedBatchSystem().system,
  maxJobRequirements: () => ({ cores, memory, disk, preemptable: false }),
});

t.test('the types the scaler may launch raise the largest job past the nodes registered', async (t) => {
  const scaler = config({ nodeTypes: 'c5.large,c5.xlarge', maxNodes: 2 });
  const tracked = new TrackedBatchSystem(registered(2, 3 * GiB, 40 * GiB), new ManualClock(), undefined, () =>
    largestLaunchable(scaler),
  );
  const max = tracked.maxJobRequirements();
  t.equal(max?.cores, 4, "c5.xlarge's 4 cores, not the c5.large's 2");
  t.ok(max !== undefined && max.memory > 3 * GiB && max.memory < 8 * GiB, 'c5.xlarge memory after overhead');
});

t.test('a registered node bigger than every type still counts (a static worker)', async (t) => {
  const scaler = config({ nodeTypes: 'c5.large', maxNodes: 2 });
  const tracked = new TrackedBatchSystem(
    registered(16, 64 * GiB, 500 * GiB),
    new ManualClock(),
    undefined,
    () => largestLaunchable(scaler),
  );
  t.same(tracked.maxJobRequirements(), { cores: 16, memory: 64 * GiB, disk: 500 * GiB, preemptable: false });
});

t.test('with no node registered, the types alone bound a job (a job no type fits is refused)', async (t) => {
  const scaler = config({ nodeTypes: 'c5.large,c5.xlarge', maxNodes: 2 });
  const none = { ...scriptedBatchSystem().system, maxJobRequirements: () => undefined };
  const tracked = new TrackedBatchSystem(none, new ManualClock(), undefined, () => largestLaunchable(scaler));
  t.equal(tracked.maxJobRequirements()?.cores, 4);
});

t.test('a type the scaler may launch none of (maxNodes 0) does not count', async (t) => {
  t.equal(largestLaunchable(config({ nodeTypes: 'c5.large,c5.xlarge', maxNodes: [2, 0] }))?.cores, 2);
  t.equal(largestLaunchable({ nodeTypes: [], assumeZeroOverhead: false }), undefined, 'no type: no bound');
});

t.test('without a scaler the nodes registered are the cluster', async (t) => {
  const tracked = new TrackedBatchSystem(registered(2, 3 * GiB, 40 * GiB), new ManualClock());
  t.equal(tracked.maxJobRequirements()?.cores, 2);
});
