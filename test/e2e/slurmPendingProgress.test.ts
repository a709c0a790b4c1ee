import t from 'tap';
import path from 'node:path';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { waitFor } from '../fixtures/waitFor.js';
import { REPO_ROOT, scratchDir, startToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

/**
 * A job Slurm holds PENDING is issued, not running. toil run's progress counted every issued job
 * as running, so a run whose only job waited in Slurm's queue (a busy partition, a --begin time)
 * said "1 running"; and a Ctrl-C then said it was killing running jobs. Both now say what Slurm
 * says: waiting to start, and cancelled from the queue.
 */
t.test(
  'toil run --batchSystem slurm shows a job Slurm holds PENDING as waiting to start, and a stop cancels it as queued',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], memoryMb: 4000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-pending-');
    const running = startToil(
      [
        'run',
        path.join(REPO_ROOT, 'examples/sort.ts'),
        './store',
        '--batchSystem',
        'slurm',
        // Slurm holds the job PENDING (reason BeginTime) for ten minutes.
        '--slurmArgs',
        '--begin=now+600',
        '--numLines',
        '100',
      ],
      { cwd: dir, env: { SLURM_CONF: cluster.controller.conf } },
    );
    t.teardown(() => running.child.kill('SIGKILL'));
    let stderr = '';
    running.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor('a progress line', () => /^toil: \d+\/\d+ jobs, /m.test(stderr), 60_000);
    const pending = (await cluster.cli.jobs()).filter((j) => j.state === 'PENDING');
    t.equal(pending.length, 1, 'Slurm holds the one job PENDING');
    t.match(
      stderr,
      /^toil: 0\/1 jobs, 0 running, 1 waiting to start$/m,
      'the progress line counts it waiting',
    );
    t.notMatch(stderr, /^toil: 0\/1 jobs, 1 running/m, 'never as running');
    running.child.kill('SIGINT');
    const stopped = await running.done;
    t.equal(stopped.code, 130, stopped.stderr);
    t.match(
      stopped.stderr,
      /^toil: SIGINT: stopping the workflow and cancelling its 1 queued job \(SIGINT again to exit at once\)$/m,
    );
    await waitFor(
      'the pending job cancelled',
      async () => (await cluster.cli.jobs()).every((j) => j.state !== 'PENDING'),
      30_000,
    );
  },
);
