import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/**
 * A failed run with --clean always or onError deletes its job store, as Toil's does. The run then
 * said "the job store file:./js is kept; fix the cause and run again with --restart", of a store
 * that was gone: a --restart after it was refused, the store "does not exist".
 */
for (const [clean, kept] of [
  ['always', false],
  ['onError', false],
  ['onSuccess', true],
] as const) {
  t.test(`a failed run with --clean ${clean} says what became of its job store`, async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(
      ['run', WORKFLOW, 'file:./js', 'job-fails', '--retryCount', '0', '--clean', clean],
      {
        cwd: dir,
      },
    );
    t.equal(r.code, 1, 'the workflow fails');
    t.equal(existsSync(join(dir, 'js')), kept, kept ? 'the store is kept' : 'the store is deleted');
    const last = r.stderr.trim().split('\n').at(-1);
    t.equal(
      last,
      kept
        ? 'toil: the job store file:./js is kept; fix the cause and run again with --restart'
        : `toil: the job store file:./js was deleted (--clean ${clean}); fix the cause and run the workflow again`,
      'the last line says so',
    );
  });
}
