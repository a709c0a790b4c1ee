import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import type { TrackedBatchSystem } from '../../src/leader/workloadTracker.js';
import type { ClusterBatchSystem, JobUpdateListener } from '../../src/ports/batchSystem.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { fakeDaemonDeps, sortAttempt } from '../fixtures/leaderFakes.js';

/**
 * A job issued by a submitted workflow wakes the scaler after `tick.queueDebounce`, not at the next
 * `scaleInterval`: on a ManualClock the first launch call comes exactly one debounce after the
 * issue, with the scale interval (10 minutes here) far from over. A burst of issues is one tick.
 */
const catalogue = await readCatalogue();
const DEBOUNCE_MS = 700;
const SCALE_INTERVAL_MS = 600_000;

/** A Mesos batch system with no agents: what is issued stays queued (the scaler must launch). */
function queueOnlyBatchSystem(): ClusterBatchSystem {
  const issued = new Set<string>();
  return {
    name: 'mesos',
    start: async (_listener: JobUpdateListener) => {},
    issue: async (job) => void issued.add(job.jobId),
    kill: async () => {},
    issuedJobIds: () => issued,
    maxJobRequirements: () => undefined,
    shutdown: async () => {},
    clusterAgents: async () => [],
    markDraining: () => {},
    unmarkDraining: async () => {},
    isEmpty: () => true,
    drain: async () => {},
    nodeLost: () => [],
  };
}

t.test(
  'a queued job wakes the scaler after tick.queueDebounce, without waiting for scaleInterval',
  async (t) => {
    const clock = new ManualClock();
    const config = parseLeaderConfigObject(
      {
        http: { port: 0 },
        tick: { queueDebounce: `${DEBOUNCE_MS}ms` },
        scaler: {
          region: 'us-west-2',
          zones: ['us-west-2a'],
          nodeTypes: ['t2.medium'],
          scaleInterval: `${SCALE_INTERVAL_MS / 1000}s`,
        },
      },
      catalogue,
    );
    let batchSystem: TrackedBatchSystem | undefined;
    let finish: (() => void) | undefined;
    const deps = fakeDaemonDeps(clock, config);
    const daemon = new LeaderDaemon({
      ...deps,
      newBatchSystem: queueOnlyBatchSystem,
      runWorkflow: (_submission, bs) => {
        batchSystem = bs;
        return new Promise((resolve) => (finish = () => resolve({ status: 'succeeded', jobsRun: 3 })));
      },
    });
    await daemon.start();
    t.teardown(async () => {
      finish?.();
      await daemon.stop();
    });
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    await settle();
    // The loop's first tick ran with nothing queued, and it now sleeps for scaleInterval.
    await clock.advance(60_000);
    await settle();
    t.equal(deps.provisioner.launchCalls.length, 0, 'nothing to launch while nothing is queued');

    daemon.submit({ workflowFile: 'wf.ts', jobStore: 'file:js', args: [] });
    await settle();
    if (!batchSystem) throw new Error('runWorkflow was not called');
    const issuedAt = clock.now();
    // A burst of three issues: one wake-up, one debounce after the first.
    for (let i = 1; i <= 3; i++) await batchSystem.issue(sortAttempt(`job-${i}`));
    await settle();

    await clock.advance(DEBOUNCE_MS - 1);
    await settle();
    t.equal(deps.provisioner.launchCalls.length, 0, 'no launch before the debounce has passed');
    await clock.advance(1);
    await settle();
    t.equal(deps.provisioner.launchCalls.length, 1, 'one launch call, made by the tick the queue woke');
    t.equal(
      clock.now() - issuedAt,
      DEBOUNCE_MS,
      `launched ${clock.now() - issuedAt} ms after the issue: the debounce, not the scale interval`,
    );
    t.ok(clock.now() - issuedAt < SCALE_INTERVAL_MS - 60_000, 'well before the next scheduled tick');
    t.match(deps.provisioner.launchCalls[0], {
      offering: { instanceType: 't2.medium', market: 'on-demand' },
      count: 1,
    });
  },
);
