import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { needsSlurm } from '../fixtures/slurmCluster.js';
import { leaderKilledWithSlurmJobRunning } from '../fixtures/slurmKilledLeader.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * `toil clean` after the leader was SIGKILLed: its Slurm job runs on, and once the job store is
 * gone nothing can tell it is the workflow's (`toil kill --force` and `--restart` find it through
 * the store). Clean cancels it before it deletes the store.
 */
t.test(
  "toil clean on Slurm after the leader was SIGKILLed cancels the dead leader's Slurm jobs",
  { skip: needsSlurm() },
  async (t) => {
    const { cluster, dir, env, live, left } = await leaderKilledWithSlurmJobRunning(t, 'toil-slurm-clean-');
    t.equal((await live()).length, 1, 'its Slurm job runs on without it');

    const clean = await runToil(['clean', 'file:./js'], { cwd: dir, env });
    t.equal(clean.code, 0, `toil clean exits 0\n${clean.stderr}`);
    t.match(clean.stdout, /^deleted job store file:\.\/js$/m);
    t.match(
      clean.stderr,
      new RegExp(
        `^toil: clean: cancelled 1 queued or running Slurm job\\(s\\) of the workflow in the Slurm cluster of \\S+: ${left.jobId}$`,
        'm',
      ),
      'it says which Slurm job it cancelled',
    );
    t.notOk(fs.existsSync(path.join(dir, 'js')), 'the job store is gone');
    const job = (await cluster.cli.jobs()).find((j) => j.jobId === left.jobId);
    t.ok(
      job?.state === 'CANCELLED' || job?.state === 'COMPLETING',
      `the dead leader's Slurm job was cancelled (${job?.state})`,
    );
    await waitFor('no Slurm job of the workflow left', async () => (await live()).length === 0, 20_000);
    t.equal((await live()).length, 0, 'squeue has no job of the workflow');
  },
);
