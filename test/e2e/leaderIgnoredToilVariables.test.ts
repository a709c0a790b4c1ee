import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  embeddedLeaderConfig,
  startEmbeddedLeader,
  startToilProcess,
  stopGracefully,
} from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';
import { messageLines } from '../fixtures/workflowCli.js';

/**
 * Toil's variables that stand for a `toil run` option are read by Toil's leader too (its
 * coordination directory, its Slurm batch system's settings): `toil run` said of them that they
 * have no effect, or refused them, and `toil leader`, which runs the workflows submitted to it on
 * its own batch system, passed over them in silence.
 */
t.setTimeout(120_000);

t.test('toil leader says once, at its start, that a Toil variable set has no effect', async (t) => {
  const dir = testDir(t, {});
  const { leader } = await startEmbeddedLeader(t, dir, embeddedLeaderConfig(dir), {
    TOIL_SLURM_GPU_QOS: 'high',
    TOIL_COORDINATION_DIR_OVERRIDE: dir,
  });
  const notices = leader
    .output()
    .split('\n')
    .filter((l) => / has no effect here: /.test(l));
  t.same(
    notices,
    [
      'toil: TOIL_SLURM_GPU_QOS has no effect here: toil-ts jobs ask for no GPUs',
      'toil: TOIL_COORDINATION_DIR_OVERRIDE has no effect here: toil-ts workers coordinate through the job store',
    ],
    'each said once, before the leader served',
  );
});

t.test('toil leader refuses TOIL_SLURM_DEFAULT_ALL_MEM=True in one line, starting nothing', async (t) => {
  const dir = testDir(t, {});
  const config = join(dir, 'leader.yaml');
  writeFileSync(config, embeddedLeaderConfig(dir));
  const leader = startToilProcess(['leader', '--config', config], {
    cwd: dir,
    env: { TOIL_SLURM_DEFAULT_ALL_MEM: 'True' },
  });
  t.teardown(() => stopGracefully(leader));
  const served = await leader.waitFor(/status at /, 60_000).then(
    () => true,
    () => false,
  );
  t.notOk(served, 'it never served');
  if (served) return;
  const r = await leader.done;
  t.equal(r.code, 2, r.stderr);
  t.same(messageLines(r.stderr), [
    "toil: TOIL_SLURM_DEFAULT_ALL_MEM=True: toil-ts does not ask Slurm for a node's whole memory; give --defaultMemory the nodes' memory instead (the jobs that declare none then ask for that)",
  ]);
});
