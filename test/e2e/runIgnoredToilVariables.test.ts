import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { foreignToilOptions } from '../../src/cli/toilRunOptions.js';
import { REPO_ROOT, messageLines, runToil, scratchDir } from '../fixtures/workflowCli.js';

const SORT = join(REPO_ROOT, 'examples/sort.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * Toil's environment variables that stand for a `toil run` option (its options' `env_var`):
 * set in a shell profile, they ask what the option asks, so toil-ts says of them what it says of
 * the option (has no effect, or refused) instead of passing over them in silence.
 */
t.test(
  'a variable standing for an ignored option is named once, as the variable, and the run goes on',
  async (t) => {
    const dir = scratchDir(t);
    const res = await runToil(['run', SORT, 'file:./js', '--numLines', '10'], {
      cwd: dir,
      env: {
        TOIL_COORDINATION_DIR: dir,
        TOIL_COORDINATION_DIR_OVERRIDE: dir,
        TOIL_SLURM_GPU_PARTITION: 'gpu',
        TOIL_SLURM_GPU_QOS: 'high',
      },
    });
    t.equal(res.code, 0, res.stderr);
    const notices = messageLines(res.stderr).filter((l) => / has no effect here: /.test(l));
    t.same(notices.sort(), [
      'toil: TOIL_COORDINATION_DIR has no effect here: toil-ts workers coordinate through the job store',
      'toil: TOIL_COORDINATION_DIR_OVERRIDE has no effect here: toil-ts workers coordinate through the job store',
      'toil: TOIL_SLURM_GPU_PARTITION has no effect here: toil-ts jobs ask for no GPUs',
      'toil: TOIL_SLURM_GPU_QOS has no effect here: toil-ts jobs ask for no GPUs',
    ]);
  },
);

t.test(
  'TOIL_SLURM_DEFAULT_ALL_MEM=True is refused as --slurmDefaultAllMem is: one line, exit 2',
  async (t) => {
    const dir = scratchDir(t);
    const res = await runToil(['run', SORT, 'file:./js', '--numLines', '10'], {
      cwd: dir,
      env: { TOIL_SLURM_DEFAULT_ALL_MEM: 'True' },
    });
    t.equal(res.code, 2, res.stderr);
    t.same(messageLines(res.stderr), [
      "toil: TOIL_SLURM_DEFAULT_ALL_MEM=True: toil-ts does not ask Slurm for a node's whole memory; give --defaultMemory the nodes' memory instead (the jobs that declare none then ask for that)",
    ]);
    t.notOk(existsSync(join(dir, 'js')), 'no job store made');
  },
);

t.test(
  'the option given wins over its variable, as in Toil; a value Toil refuses is named as the variable',
  async (t) => {
    t.same(
      foreignToilOptions({}, { TOIL_SLURM_DEFAULT_ALL_MEM: 'False', TOIL_COORDINATION_DIR: '' }),
      [],
      'off, or empty: nothing said',
    );
    t.same(
      foreignToilOptions({ slurmGPUPartition: 'gpu' }, { TOIL_SLURM_GPU_PARTITION: 'other' }),
      ['toil: --slurmGPUPartition has no effect here: toil-ts jobs ask for no GPUs'],
      'said once, as the flag',
    );
    t.same(
      foreignToilOptions({ slurmDefaultAllMem: 'false' }, { TOIL_SLURM_DEFAULT_ALL_MEM: 'True' }),
      [],
      'the flag turned it off',
    );
    t.throws(() => foreignToilOptions({}, { TOIL_COORDINATION_DIR: '/no/such/toil/coordination/dir' }), {
      code: 'BAD_FLAG',
      message: 'TOIL_COORDINATION_DIR=/no/such/toil/coordination/dir: expected a path that exists',
    });
    t.throws(() => foreignToilOptions({}, { TOIL_SLURM_DEFAULT_ALL_MEM: 'maybe' }), {
      code: 'BAD_FLAG',
      message: 'TOIL_SLURM_DEFAULT_ALL_MEM=maybe: expected true or false',
    });
  },
);
