import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { needsSlurm } from '../fixtures/slurmCluster.js';
import { leaderKilledWithSlurmJobRunning } from '../fixtures/slurmKilledLeader.js';
import { waitFor } from '../fixtures/waitFor.js';
import { longJobArgs, runToil, startToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * A leader killed with SIGKILL leaves its Slurm jobs queued and running. `toil run --restart`
 * runs those jobs again, so it cancels the dead leader's first: otherwise each would run to its
 * end beside its re-run (holding a node the re-run waits for) and be left in squeue after the
 * workflow is stopped.
 */
t.test(
  "toil run --restart on Slurm after the leader was SIGKILLed cancels the dead leader's Slurm jobs",
  { skip: needsSlurm() },
  async (t) => {
    const { cluster, dir, env, live, left } = await leaderKilledWithSlurmJobRunning(t, 'toil-slurm-restart-');
    const log = path.join(dir, 'exec.log');
    const starts = () =>
      fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('start tree').length - 1 : 0;
    t.equal(starts(), 1, 'the job started once');
    t.equal((await live()).length, 1, 'its Slurm job runs on without it');
    // toil status says so, instead of "none of its jobs is running".
    const status = await runToil(['status', 'file:./js', '--printStatus'], { cwd: dir, env });
    t.match(
      status.stdout,
      /^no leader is running the workflow in file:\.\/js, but the last one was killed \(-9\) or lost with 1 job\(s\) issued to slurm, which may still be queued or running there: 'toil kill --force file:\.\/js' cancels them/m,
      `toil status --printStatus says the dead leader's job may still run\n${status.stdout}`,
    );

    const second = startToil([...longJobArgs(dir, '--batchSystem', 'slurm'), '--restart'], { cwd: dir, env });
    t.teardown(() => void second.child.kill('SIGKILL'));
    await waitFor('the job to start again', () => starts() === 2, 90_000);
    const old = (await cluster.cli.jobs()).find((j) => j.jobId === left.jobId);
    t.equal(old?.state, 'CANCELLED', "the dead leader's Slurm job was cancelled");
    const after = await live();
    t.equal(after.length, 1, `one Slurm job of the workflow runs (${after.map((j) => j.jobId).join(', ')})`);
    t.not(after[0]?.jobId, left.jobId, "it is the restarted leader's");

    second.child.kill('SIGINT');
    t.not((await second.done).code, 0, 'the restarted leader stops on SIGINT');
    await waitFor('no Slurm job of the workflow left', async () => (await live()).length === 0, 20_000);
    t.equal((await live()).length, 0, 'squeue has no job of the workflow');
  },
);
