import t from 'tap';
import { join } from 'node:path';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

// A --restart on Slurm first cancels what a dead leader left in the cluster its store records,
// then records its own. A record that parsed but named its slurm.conf as another type failed the
// restart (its batch system would not start); the restart now warns that nothing was cancelled,
// naming the record, runs, and records its cluster again.
t.test(
  "toil run --restart on Slurm over a damaged record of the cluster warns that the dead leader's jobs were not cancelled, and runs",
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], cpus: 2, memoryMb: 2000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-record-');
    const env = { SLURM_CONF: cluster.controller.conf };
    const tree = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
    const run = [
      'run',
      tree,
      'file:./js',
      '--batchSystem',
      'slurm',
      '--out',
      'out.txt',
      '--log',
      'exec.log',
      '--n',
      '2',
    ];
    const first = await runToil([...run, '--disableProgress', '--clean', 'never'], { cwd: dir, env });
    t.equal(first.code, 0, first.stderr);
    const objects = new FileObjectStore(join(dir, 'js'));
    await objects.put('slurm.json', JSON.stringify({ format: 1, conf: 3 }));

    const restart = await runToil([...run, '--restart', '--disableProgress', '--clean', 'never'], {
      cwd: dir,
      env,
    });
    t.equal(restart.code, 0, restart.stderr);
    t.match(
      restart.stderr,
      /WARNING slurm-batch: the Slurm jobs a previous leader of this workflow left queued or running, if any, were not cancelled: object slurm\.json does not hold a Slurm cluster's use: conf is 3, not a string/,
    );
    t.notMatch(restart.stderr, /internal error|is damaged/);
    t.same(
      await new JobStore(objects).readSlurmUse(),
      { conf: cluster.controller.conf },
      'the cluster recorded again',
    );
  },
);
