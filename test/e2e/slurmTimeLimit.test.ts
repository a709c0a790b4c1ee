import t from 'tap';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { needsSlurm, startSlurmCluster, toilJobCompletions } from '../fixtures/slurmCluster.js';
import { longJobArgs, runToil, scratchDir } from '../fixtures/workflowCli.js';

// One attempt at Slurm's shortest limit (1 min), on a busy two-core machine.
t.setTimeout(240_000);

/**
 * A job that runs past its Slurm time limit (`--slurmTime 1`: one minute, Slurm's shortest) is
 * ended by Slurm (TIMEOUT): a failed attempt, as in Toil (one, to keep the test short: with
 * --retryCount it spends a retry like any failure), and the run's summary
 * says Slurm ended it at its limit and what sets that limit, not only Slurm's state and a signal.
 */
t.test(
  '--batchSystem slurm: a job past its time limit is ended by Slurm and named as timed out',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], memoryMb: 4000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-timelimit-');
    const r = await runToil(
      longJobArgs(dir, '--batchSystem', 'slurm', '--slurmTime', '1', '--retryCount', '0'),
      { cwd: dir, env: { SLURM_CONF: cluster.controller.conf } },
    );
    t.equal(r.code, 1, `the workflow fails\n${r.stderr.slice(-2000)}`);
    t.match(
      r.stderr,
      /^toil: job '[^']+' \([0-9a-f-]+\) failed after 1 attempt\(s\): TIMEOUT \(TimeLimit\): Slurm ended the job at its time limit of 1m00s \(set by the job's walltime, else --slurmTime, a --time in TOIL_SLURM_ARGS or the partition's limit\)$/m,
      'the summary says Slurm ended the job at its 1-minute limit, and what sets it',
    );
    const comp = toilJobCompletions(cluster.controller.dir).filter((l) => / JobState=TIMEOUT /.test(l));
    t.equal(comp.length, 1, "Slurm's own record: the attempt ended TIMEOUT");
    t.ok(
      comp.every((l) => / TimeLimit=1 /.test(l)),
      'with the 1-minute limit',
    );
    const live = (await cluster.cli.jobs()).filter(
      (j) =>
        parseAttemptComment(j.comment) && !['COMPLETED', 'CANCELLED', 'TIMEOUT', 'FAILED'].includes(j.state),
    );
    t.same(live, [], 'no Slurm job of the run is left queued or running');
  },
);
