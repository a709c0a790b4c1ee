import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from '../../src/common/processIdentity.js';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { waitFor } from '../fixtures/waitFor.js';
import { longJobArgs, runToil, scratchDir, startToil, workerPids } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * `toil kill --force` SIGKILLs the leader; on Slurm its batch jobs run on under slurmd. --force
 * then cancels, in the cluster the leader recorded, the Slurm jobs of this workflow's jobs, and
 * no other: another workflow's job (a toil comment naming a job this store does not have) runs on.
 */
t.test(
  "toil kill --force on Slurm cancels the workflow's running Slurm job and leaves others alone",
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], cpus: 2, memoryMb: 2000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-killforce-');
    const log = path.join(dir, 'exec.log');
    const env = { SLURM_CONF: cluster.controller.conf };

    // Another workflow's job, already running on the node.
    const other = await cluster.cli.submit(
      [
        '--job-name=toil.other',
        '--comment=toil:00000000-0000-4000-8000-000000000000:1',
        '--nodes=1',
        '--ntasks=1',
        '--cpus-per-task=1',
        '--mem=10M',
        '--output=/dev/null',
        `--chdir=${dir}`,
      ],
      '#!/bin/sh\nexec sleep 600\n',
    );
    t.teardown(() => cluster.cli.cancel(other).catch(() => undefined));

    // One job that sleeps ten minutes: it runs long after the leader is gone unless it is cancelled.
    const running = startToil(longJobArgs(dir, '--batchSystem', 'slurm'), { cwd: dir, env });
    t.teardown(() => void running.child.kill('SIGKILL'));
    await waitFor(
      'the long job to start on the node',
      () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('start tree'),
      90_000,
    );
    const stateOf = async (id: number): Promise<string | undefined> =>
      (await cluster.cli.jobs()).find((j) => j.jobId === id)?.state;
    const ours = (await cluster.cli.jobs()).filter((j) => j.jobId !== other && j.state === 'RUNNING');
    t.equal(ours.length, 1, 'one Slurm job of the workflow runs');
    t.equal(await stateOf(other), 'RUNNING', "the other workflow's job runs");
    const workers = workerPids(path.join(dir, 'js'));
    t.equal(workers.length, 1, `one worker process runs the job (${workers.join(', ')})`);
    t.teardown(() => {
      for (const pid of workers) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    });

    // No SLURM_CONF here: the cluster is the one the leader recorded in the job store.
    const kill = await runToil(['kill', 'file:./js', '--force'], {
      cwd: dir,
      env: { SLURM_CONF: undefined },
    });
    t.equal(kill.code, 0, kill.stderr);
    t.match(kill.stderr, /^toil: --force: killed the leader \(pid \d+\) on this machine$/m);
    t.match(
      kill.stderr,
      new RegExp(
        `^toil: --force: cancelled 1 queued or running Slurm job\\(s\\) of the workflow in the Slurm cluster of ${cluster.controller.conf.replace(/[.]/g, '\\.')}: ${ours[0]!.jobId}$`,
        'm',
      ),
    );
    t.equal((await running.done).signal, 'SIGKILL', 'the leader was killed');
    await waitFor(
      'the Slurm job to be cancelled',
      async () => (await stateOf(ours[0]!.jobId)) === 'CANCELLED',
      20_000,
    );
    t.equal(await stateOf(ours[0]!.jobId), 'CANCELLED', "the workflow's Slurm job is CANCELLED");
    await waitFor(
      'the worker process to be killed',
      () => workers.every((pid) => !processAlive(pid)),
      20_000,
    );
    t.equal(await stateOf(other), 'RUNNING', "the other workflow's job still runs");
  },
);
