import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startCluster } from '../fixtures/mesosCluster.js';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { REPO_ROOT, peakRunning as peakIn, runToil, scratchDir } from '../fixtures/workflowCli.js';

/** How many of the tree's jobs ran at once in `dir` (see peakRunning). */
const peakRunning = (dir: string): number => peakIn(readFileSync(join(dir, 'exec.log'), 'utf8'));

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
// The Mesos and the Slurm case each start a cluster of their own: they run side by side.
t.jobs = 2;

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

/**
 * --maxJobs holds on the cluster engines as on one machine: the leader issues at most N jobs to
 * Mesos or Slurm, whose nodes have room for all 8 of the tree's leaves (0.5 cores each). Each
 * leaf sleeps 2 s: on a loaded machine a Slurm job takes about a second to start, and leaves of
 * 400 ms then ran one at a time, so the cap was never reached to be shown.
 */
const treeArgs = (dir: string): string[] => [
  ...['--n', '8', '--sleepMs', '2000', '--out', join(dir, 'o'), '--log', join(dir, 'exec.log')],
  ...['--maxJobs', '2', '--logLevel', 'warning'],
];

t.test(
  '--batchSystem mesos --maxJobs 2: at most 2 Mesos tasks run at once, and the workflow finishes',
  async (t) => {
    const cluster = await startCluster([
      { resources: 'cpus:4;mem:4096;disk:10000', attributes: 'preemptable:false' },
    ]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-mesos-maxjobs-');
    const r = await runToil(
      [
        'run',
        TREE,
        'file:./js',
        '--batchSystem',
        'mesos',
        '--mesosMaster',
        cluster.master.address,
        ...treeArgs(dir),
      ],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.stderr.slice(-2000));
    t.equal(readFileSync(join(dir, 'o'), 'utf8'), '28\n', 'every job ran');
    t.equal(peakRunning(dir), 2, 'the cap is reached and never passed');
  },
);

t.test(
  '--batchSystem slurm --maxJobs 2: at most 2 Slurm jobs run at once, and the workflow finishes',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], memoryMb: 4000, cpus: 4 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-maxjobs-');
    const r = await runToil(['run', TREE, 'file:./js', '--batchSystem', 'slurm', ...treeArgs(dir)], {
      cwd: dir,
      env: { SLURM_CONF: cluster.controller.conf },
    });
    t.equal(r.code, 0, r.stderr.slice(-2000));
    t.equal(readFileSync(join(dir, 'o'), 'utf8'), '28\n', 'every job ran');
    t.equal(peakRunning(dir), 2, 'the cap is reached and never passed');
  },
);
