import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

// The bad-argument cases themselves (one line, exit 2, no store) are in runBadInput.test.ts.
const SORT = join(REPO_ROOT, 'examples/sort.ts');

t.test('the corrected command runs as typed after the workflow refused its arguments', async (t) => {
  const dir = scratchDir(t);
  const bad = await runToil(['run', SORT, 'file:./js', '--numLines', '10', '--maxNode', '3'], { cwd: dir });
  t.equal(bad.code, 2, bad.stderr);
  t.notOk(existsSync(join(dir, 'js')), 'no job store left behind');
  const good = await runToil(['run', SORT, 'file:./js', '--numLines', '10', '--outputFile', 'out.txt'], {
    cwd: dir,
  });
  t.equal(good.code, 0, good.stderr);
  t.equal(readFileSync(join(dir, 'out.txt'), 'utf8').split('\n').filter(Boolean).length, 10);
});

t.test('--restart of a job store whose start was interrupted starts the workflow', async (t) => {
  const dir = scratchDir(t);
  // What a start killed between creating the store and writing the workflow leaves.
  await new JobStore(new FileObjectStore(join(dir, 'js'), 'file:./js')).create();
  const r = await runToil(
    ['run', SORT, 'file:./js', '--restart', '--numLines', '10', '--outputFile', 'out.txt'],
    { cwd: dir },
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /the job store holds no workflow yet; starting it/);
  t.equal(readFileSync(join(dir, 'out.txt'), 'utf8').split('\n').filter(Boolean).length, 10);
});
