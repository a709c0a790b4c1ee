import t from 'tap';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { needsSlurm, startSlurmCluster, type TestSlurmCluster } from '../fixtures/slurmCluster.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { scratchDir, startToil, type ToilResult } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/** Slurm's own view: the run's jobs still queued or running (a toil comment, not ended). */
async function liveToilJobs(cluster: TestSlurmCluster): Promise<number[]> {
  return (await cluster.cli.jobs())
    .filter((j) => parseAttemptComment(j.comment) && ['PENDING', 'RUNNING', 'CONFIGURING'].includes(j.state))
    .map((j) => j.jobId);
}

/** The run's result, or undefined when it has not ended within `ms` (it is killed then). */
async function endsWithin(run: ReturnType<typeof startToil>, ms: number): Promise<ToilResult | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  const r = await Promise.race([run.done, late]);
  clearTimeout(timer);
  if (r === undefined) run.child.kill('SIGKILL');
  return r;
}

/**
 * A workflow whose first job asks for more memory than any Slurm node has is refused at once, as
 * a child of that size is (JOB_TOO_BIG, exit 2, naming the job and the largest node), whether it
 * declares the memory or --defaultMemory sets it; nothing reaches Slurm's queue. The root was
 * checked before the batch system had listed the nodes, so Slurm took it, and it waited for ever
 * (a WARN after 30 s said so).
 */
t.test(
  '--batchSystem slurm: a root job bigger than every node is refused before it is queued',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], cpus: 2, memoryMb: 2000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-toobig-');
    const env = { SLURM_CONF: cluster.controller.conf };
    const largest = '(2 cores, 2.0 GiB memory, 3.9 GiB disk on slurm)';

    const refusal = async (workflow: string, store: string, ...flags: string[]): Promise<string> => {
      const run = startToil(
        ['run', repoPath(`test/fixtures/${workflow}`), `file:./${store}`, '--batchSystem', 'slurm', ...flags],
        { cwd: dir, env },
      );
      const r = await endsWithin(run, 60_000);
      t.equal(
        r?.code,
        2,
        `${store}: refused within 60 s, exit 2\n${r?.stderr.slice(-2000) ?? 'still running'}`,
      );
      return r?.stderr ?? '';
    };

    // workflowSized's one job declares memory '3G' (2.8 GiB).
    t.match(
      await refusal('workflowSized.ts', 'declared'),
      `toil: job 'sized' asks for 2.8 GiB memory, more than the largest node allows ${largest}; the job store file:./declared is kept`,
      'the job, what it asks and the largest node',
    );
    t.match(
      await refusal('workflowDeclaresNothing.ts', 'defaulted', '--defaultMemory', '8G'),
      `toil: job 'plain' asks for 7.5 GiB memory, more than the largest node allows ${largest}; the job store file:./defaulted is kept: use --restart to resume the workflow with --defaultMemory lowered`,
      'the default that set it is named',
    );
    t.same(await liveToilJobs(cluster), [], 'no Slurm job of either run is queued or running');
    t.same(
      (await cluster.cli.jobs()).filter((j) => parseAttemptComment(j.comment)).map((j) => j.jobId),
      [],
      'Slurm never had a job of either run',
    );
  },
);

/**
 * A run that stops on an error while jobs run (here a child bigger than every node, added beside
 * a running job) cancels its Slurm jobs before the leader exits: nothing would collect them, and
 * a --restart runs them again. They ran on, holding their node, after the leader had exited.
 */
t.test(
  '--batchSystem slurm: a run stopped by a refused child leaves no job of its own in the queue',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], cpus: 2, memoryMb: 2000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-toobig-');
    const r = await endsWithin(
      startToil(
        ['run', repoPath('test/fixtures/workflowBigBesideRunning.ts'), 'file:./js', '--batchSystem', 'slurm'],
        { cwd: dir, env: { SLURM_CONF: cluster.controller.conf } },
      ),
      150_000,
    );
    t.equal(r?.code, 2, `refused, exit 2\n${r?.stderr.slice(-2000) ?? 'still running'}`);
    t.match(r?.stderr ?? '', "toil: job 'big' asks for 64.0 GiB memory, more than the largest node allows");
    t.same(
      await liveToilJobs(cluster),
      [],
      'as the leader exits, no Slurm job of the run is queued or running',
    );
    const slow = (await cluster.cli.jobs()).filter((j) => j.name === 'toil.slow');
    t.same(
      slow.map((j) => j.state),
      ['CANCELLED'],
      "the running job's one attempt was cancelled, not left to run its ten minutes",
    );
  },
);
