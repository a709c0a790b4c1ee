import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { autoscaledRunArgs, everyWorker, startClusterCloud } from '../fixtures/leaderE2e.js';
import { startCluster } from '../fixtures/mesosCluster.js';
import { needsSlurm, startSlurmCluster, toilJobCompletions } from '../fixtures/slurmCluster.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

/**
 * Toil's --maxCores, --maxMemory and --maxDisk cap what one job may ask for on every batch system
 * (Toil's check_resource_request, InsufficientSystemResources): on single_machine, Mesos, Slurm and
 * an autoscaled run, a job over a cap is refused naming it, what it asked, the cap and the flag,
 * exit 2, before anything runs it; the job store is kept, said with both ways on (--restart with
 * the caps raised, toil clean to start anew), as the same command run again says too, and
 * --restart with caps it fits (at the cap exactly) runs it. On Mesos and Slurm they were said to "have no effect" and the job ran (or,
 * bigger than every node, waited for ever).
 */
// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(300_000);

// One job asking for 0.5 cores, memory '3G' (3 × 10^9 bytes, 2.8 GiB) and 1 MiB of disk; a cap
// written in G (10^9 bytes, as Toil reads it) is said in GB, the job's size with it.
const SIZED = join(REPO_ROOT, 'test/fixtures/workflowSized.ts');
const OVER_CAPS = ['--maxCores', '0.25', '--maxMemory', '1G'];
const AT_CAPS = ['--maxCores', '0.5', '--maxMemory', '3G', '--maxDisk', '1Mi'];
const REFUSED =
  /^toil: job 'sized' asks for 0\.5 cores, more than --maxCores allows \(0\.25\), and 3\.0 GB memory, more than --maxMemory allows \(1\.0 GB\); raise --maxCores and --maxMemory, or lower the job's requirements \(--defaultCores and --defaultMemory if it declares none\); the job store file:\.\/js is kept: use --restart to resume the workflow \(with --maxCores and --maxMemory raised\), or remove the job store with 'toil clean file:\.\/js' to start the workflow from scratch$/m;
/** The same command again, refused: the store the refusal kept exists, and both ways on are said. */
const EXISTS =
  "toil: job store file:./js already exists (expected a new job store; it holds a workflow that did not finish): use --restart to resume the workflow, or remove the job store with 'toil clean file:./js' to start the workflow from scratch\n";

/**
 * The sized job refused under OVER_CAPS with nothing run, then run by --restart at AT_CAPS:
 * exactly one job. `jobsRun`: how many jobs the cluster itself says ran (Mesos tasks, Slurm jobs).
 */
async function refusedThenRunAtTheCaps(
  t: Test,
  dir: string,
  engine: readonly string[],
  env: Record<string, string>,
  jobsRun?: () => Promise<number>,
): Promise<void> {
  const over = await runToil(['run', SIZED, 'file:./js', ...engine, ...OVER_CAPS], { cwd: dir, env });
  t.equal(over.code, 2, `refused as bad input\n${over.stderr.slice(-2000)}`);
  t.match(over.stderr, REFUSED, 'the job, each resource over its cap, the cap and the flags');
  t.notMatch(over.stderr, /no effect|internal error|\bat \S+\.[jt]s:\d+/, 'no "no effect" line, no stack');
  if (jobsRun) t.equal(await jobsRun(), 0, 'no job reached the batch system');

  const again = await runToil(['run', SIZED, 'file:./js', ...engine, ...OVER_CAPS], { cwd: dir, env });
  t.equal(again.code, 2, 'the same command again is refused');
  t.equal(again.stderr.slice(-EXISTS.length), EXISTS, '--restart to resume, toil clean to start anew');

  const at = await runToil(['run', SIZED, 'file:./js', ...engine, '--restart', ...AT_CAPS], {
    cwd: dir,
    env,
  });
  t.equal(at.code, 0, `--restart at the caps exactly runs it\n${at.stderr.slice(-2000)}`);
  t.match(at.stderr, /sized: ran/);
  t.match(at.stderr, /^toil: workflow succeeded: 1 job run /m);
  t.notMatch(at.stderr, /no effect/);
  if (jobsRun) t.equal(await jobsRun(), 1, 'the one job ran once');
}

t.test(
  'single_machine: refused over the caps, run at them; a child over --maxCores is refused when added',
  async (t) => {
    const dir = testDir(t, {});
    await refusedThenRunAtTheCaps(t, dir, [], {});

    // small (1 core) runs; its child wide (4 cores) is added as small commits, and refused then.
    const child = await runToil(
      ['run', join(REPO_ROOT, 'test/fixtures/workflowChildFitsNoType.ts'), 'file:./child', '--maxCores', '2'],
      { cwd: dir },
    );
    t.equal(child.code, 2, child.stderr.slice(-2000));
    t.match(
      child.stderr,
      /^toil: job 'wide' asks for 4 cores, more than --maxCores allows \(2\); raise --maxCores, or lower the job's requirement \(--defaultCores if it declares none\); the job store file:\.\/child is kept: use --restart to resume the workflow \(with --maxCores raised\), or remove the job store with 'toil clean file:\.\/child' to start the workflow from scratch$/m,
    );
    t.notMatch(child.stderr, /workflow succeeded/);
  },
);

t.test('mesos: refused over the caps with no task launched, run at them', async (t) => {
  // Room for the job whatever the caps: without them it ran.
  const cluster = await startCluster([
    { resources: 'cpus:4;mem:4096;disk:10000', attributes: 'preemptable:false' },
  ]);
  t.teardown(() => cluster.stop());
  const dir = testDir(t, {});
  const tasks = async (): Promise<number> => {
    const state = (await (await fetch(`http://${cluster.master.address}/master/state`)).json()) as {
      frameworks: { tasks: unknown[]; completed_tasks: unknown[] }[];
      completed_frameworks: { tasks: unknown[]; completed_tasks: unknown[] }[];
    };
    return [...state.frameworks, ...state.completed_frameworks].flatMap((f) => [
      ...f.tasks,
      ...f.completed_tasks,
    ]).length;
  };
  await refusedThenRunAtTheCaps(
    t,
    dir,
    ['--batchSystem', 'mesos', '--mesosMaster', cluster.master.address],
    {},
    tasks,
  );
});

t.test(
  'slurm: refused over the caps with no Slurm job queued, run at them',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], memoryMb: 4000 }]);
    t.teardown(() => cluster.stop());
    const dir = testDir(t, {});
    // The controller's job completion log: Slurm's own record of every job that ran.
    const completed = async (): Promise<number> =>
      existsSync(join(cluster.controller.dir, 'log', 'jobcomp.txt'))
        ? toilJobCompletions(cluster.controller.dir).length
        : 0;
    await refusedThenRunAtTheCaps(
      t,
      dir,
      ['--batchSystem', 'slurm'],
      { SLURM_CONF: cluster.controller.conf },
      completed,
    );
  },
);

t.test('--provisioner aws: refused over --maxMemory with no node launched', async (t) => {
  const dir = testDir(t, { tmp: {}, work: {} });
  const env = { TMPDIR: join(dir, 'tmp') };
  const cloud = await startClusterCloud(t, 'capped', { env });
  // A t2.medium (4 GiB) holds the 3G job: without the cap a node was launched and ran it.
  const r = await runToil(
    [
      ...autoscaledRunArgs(['test/fixtures/workflowSized.ts', 'file:js'], cloud, 'capped', join(dir, 'work')),
      '--maxMemory',
      '1G',
    ],
    // TOIL_WORKDIR: where the run leaves its pointer to --workDir's state, kept in the test's dir.
    { cwd: dir, env: { ...env, AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
  );
  t.equal(r.code, 2, r.stderr.slice(-3000));
  t.match(
    r.stderr,
    /^toil: job 'sized' asks for 3\.0 GB memory, more than --maxMemory allows \(1\.0 GB\); raise --maxMemory, or lower the job's requirement \(--defaultMemory if it declares none\); the job store file:\S+\/js is kept: use --restart to resume the workflow \(with --maxMemory raised\), or remove the job store with 'toil clean file:\S+\/js' to start the workflow from scratch$/m,
  );
  t.notMatch(r.stderr, /no effect/);
  t.same(await everyWorker(cloud.ec2Url), [], 'through the EC2 API: no worker was ever launched');
});
