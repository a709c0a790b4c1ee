import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = repoPath('test/fixtures/workflowOmpThreads.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * Toil's OMP_NUM_THREADS: a job's programs see the one the leader was started with, else the
 * job's cores (a whole number, at least 1), so an OpenMP tool a job runs keeps to the cores the
 * job asked for instead of taking every core of a node other jobs share.
 */
async function seen(
  t: Test,
  env: Record<string, string | undefined>,
  extra: string[] = [],
): Promise<string[]> {
  const dir = scratchDir(t);
  const log = join(dir, 'omp.log');
  const r = await runToil(['run', WORKFLOW, 'file:./js', '--log', log, '--maxCores', '2', ...extra], {
    cwd: dir,
    env,
  });
  t.equal(r.code, 0, r.stderr);
  return readFileSync(log, 'utf8').trim().split('\n').sort();
}

t.test("OMP_NUM_THREADS unset: each job's programs get the job's cores, at least 1", async (t) => {
  t.same(await seen(t, { OMP_NUM_THREADS: undefined }), [
    'oneAndAHalf OMP_NUM_THREADS=1',
    'root OMP_NUM_THREADS=1',
    'two OMP_NUM_THREADS=2',
  ]);
});

t.test('OMP_NUM_THREADS set where the workflow is run: every job keeps it', async (t) => {
  t.same(await seen(t, { OMP_NUM_THREADS: '3' }), [
    'oneAndAHalf OMP_NUM_THREADS=3',
    'root OMP_NUM_THREADS=3',
    'two OMP_NUM_THREADS=3',
  ]);
});

t.test('--setEnv OMP_NUM_THREADS wins over both', async (t) => {
  t.same(await seen(t, { OMP_NUM_THREADS: '3' }, ['--setEnv', 'OMP_NUM_THREADS=5']), [
    'oneAndAHalf OMP_NUM_THREADS=5',
    'root OMP_NUM_THREADS=5',
    'two OMP_NUM_THREADS=5',
  ]);
});
