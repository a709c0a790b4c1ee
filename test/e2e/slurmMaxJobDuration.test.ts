import t from 'tap';
import path from 'node:path';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

// Two attempts of 3 s each plus Slurm's scheduling, on a busy two-core machine.
t.setTimeout(180_000);

/**
 * Toil's --maxJobDuration on a real Slurm: the attempt's start is Slurm's (squeue's StartTime),
 * not the submission's, and the kill goes through scancel, so Slurm's own record says the job was
 * cancelled rather than left running past the limit.
 */
t.test(
  '--batchSystem slurm --maxJobDuration: a looping job is cancelled in Slurm, retried, and fails the run',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], memoryMb: 4000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-maxdur-');
    const started = Date.now();
    const r = await runToil(
      [
        'run',
        path.join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts'),
        './store',
        'job-spins',
        ...['--batchSystem', 'slurm', '--maxJobDuration', '3', '--retryCount', '1'],
      ],
      { cwd: dir, env: { SLURM_CONF: cluster.controller.conf } },
    );
    const took = (Date.now() - started) / 1000;
    t.equal(r.code, 1, `the workflow fails (exit ${r.code}, ${took.toFixed(1)} s)\n${r.stderr.slice(-2000)}`);
    t.match(
      r.stderr,
      /^toil: job 'spinner' \([0-9a-f-]+\) failed after 2 attempt\(s\): job 'spinner' ran longer than --maxJobDuration 3 s \(for \d+\.\d s\) and was killed\n?$/m,
      'the summary names the job and the limit',
    );
    t.match(
      r.stderr,
      /job 'spinner' failed; trying again: job 'spinner' ran longer than --maxJobDuration 3 s/,
    );
    t.ok(took < 120, `ended well before the test's timeout (${took.toFixed(1)} s)`);

    // Slurm's record, not ours: both attempts of the spinner were cancelled, none is left running.
    const spinners = (await cluster.cli.jobs()).filter((j) => parseAttemptComment(j.comment));
    const states = spinners.map((j) => j.state).sort();
    t.ok(
      spinners.length >= 2,
      `at least the spinner's two attempts are in Slurm's record (${spinners.length})`,
    );
    t.notOk(
      states.some((s) => ['RUNNING', 'PENDING', 'COMPLETING'].includes(s)),
      `no Slurm job of the run is still pending or running (${states.join(', ')})`,
    );
    t.ok(
      states.filter((s) => s === 'CANCELLED').length >= 2,
      `the two attempts were cancelled by the leader (${states.join(', ')})`,
    );
  },
);
