import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { progressCounts } from '../../src/leader/consoleOutput.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import type { WorkflowProgress } from '../../src/leader/workflowRunner.js';
import type { TrackedBatchSystem } from '../../src/leader/workloadTracker.js';
import { waitFor } from '../fixtures/waitFor.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { fakeDaemonDeps, scriptedBatchSystem, sortAttempt } from '../fixtures/leaderFakes.js';

/**
 * The leader reports every issued job as running; a job queued for a node still booting is not.
 * GET /workflows/:id (what `toil run --leader` follows) and /status (the status page's workflow
 * table) tell them apart as `toil status` does.
 */
const catalogue = await readCatalogue();

t.test('GET /workflows/:id and /status count queued jobs as waiting to start, not running', async (t) => {
  const clock = new ManualClock();
  const config = parseLeaderConfigObject(
    {
      http: { port: 0 },
      scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'], scaleInterval: '10m' },
    },
    catalogue,
  );
  const scripted = scriptedBatchSystem();
  // Started on a node, as the Mesos and Slurm batch systems report them.
  const system = {
    ...scripted.system,
    runningJobs: () => [...scripted.onAgent].map((jobId) => ({ jobId, attempt: 1, batchJobId: jobId })),
  };
  let batchSystem: TrackedBatchSystem | undefined;
  let report: ((p: WorkflowProgress) => void) | undefined;
  let end: (() => void) | undefined;
  const daemon = new LeaderDaemon({
    ...fakeDaemonDeps(clock, config),
    newBatchSystem: () => system,
    runWorkflow: async (_submission, bs, onProgress) => {
      batchSystem = bs;
      report = onProgress;
      await bs.start(() => {});
      return new Promise((resolve) => (end = () => resolve({ status: 'succeeded', jobsRun: 7 })));
    },
  });
  const url = await daemon.start();
  t.teardown(() => {
    end?.();
    return daemon.stop();
  });
  const run = daemon.submit({ workflowFile: 'wf.ts', jobStore: 'file:js', args: [] });
  await waitFor('the workflow started', () => batchSystem !== undefined);
  if (!batchSystem || !report) throw new Error('runWorkflow was not called');
  for (let i = 1; i <= 6; i++) await batchSystem.issue(sortAttempt(`job-${i}`));
  report({ known: 7, completed: 1, running: 6, failed: 0 });
  scripted.onAgent.add('job-1');
  scripted.onAgent.add('job-2');

  const shown = (await (await fetch(`${url}/workflows/${run.id}`)).json()) as { progress: WorkflowProgress };
  t.same(shown.progress, { known: 7, completed: 1, running: 2, waiting: 4, failed: 0 });
  t.equal(progressCounts(shown.progress), '1/7 jobs, 2 running, 4 waiting to start', 'the client’s line');
  // /status (what the status page's workflow table shows) counts them the same way.
  const status = (await (await fetch(`${url}/status`)).json()) as {
    workflows: { id: string; progress: WorkflowProgress }[];
  };
  t.same(
    status.workflows.find((w) => w.id === run.id)?.progress,
    { known: 7, completed: 1, running: 2, waiting: 4, failed: 0 },
    '/status: 2 running, 4 waiting to start',
  );

  for (const id of ['job-3', 'job-4', 'job-5', 'job-6']) scripted.onAgent.add(id);
  t.same(
    daemon.progressOf(run),
    { known: 7, completed: 1, running: 6, waiting: 0, failed: 0 },
    'all started',
  );
  t.equal(progressCounts(daemon.progressOf(run)!), '1/7 jobs, 6 running', 'no waiting shown when none waits');
});
