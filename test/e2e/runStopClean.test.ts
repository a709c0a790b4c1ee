import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, startToil } from '../fixtures/workflowCli.js';

const TREE = repoPath('test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
// Each case runs in a directory of its own and signals only the run it started: they run side by side.
t.jobs = 3;

/** workflowTree of 6 leaves, each job sleeping 2 s, started with `--clean CLEAN` and running its first job. */
async function startedTree(dir: string, clean: string) {
  const log = join(dir, 'exec.log');
  const args = ['run', TREE, 'file:./js', '--n', '6', '--sleepMs', '2000', '--log', log];
  const running = startToil([...args, '--out', join(dir, 'sum.txt'), '--clean', clean], { cwd: dir });
  await waitFor(
    'the first job to start',
    () => existsSync(log) && readFileSync(log, 'utf8').includes('start tree'),
    60_000,
  );
  return running;
}

/**
 * Toil's --clean deletes the job store "upon completion of the program" when it ends in error
 * with `always` or `onError`, and a run stopped by `toil kill` or Ctrl-C ends in error there (its
 * KeyboardInterrupt reaches the context manager): kept, the store (an aws: bucket) outlived the
 * run its user asked to leave nothing behind.
 */
for (const clean of ['always', 'onError']) {
  t.test(`a run stopped by toil kill with --clean ${clean} deletes its job store`, async (t) => {
    const dir = testDir(t);
    const running = await startedTree(dir, clean);
    const kill = await runToil(['kill', 'file:./js', '--wait', '60'], { cwd: dir });
    t.equal(kill.code, 0, kill.stderr);
    const stopped = await running.done;
    t.equal(stopped.code, 1, stopped.stderr);
    t.match(
      stopped.stderr,
      new RegExp(
        `^toil: the workflow was stopped by toil kill \\(from .+\\); its running jobs were killed and the job store file:./js was deleted \\(--clean ${clean}\\)$`,
        'm',
      ),
    );
    t.notMatch(stopped.stderr, /is kept|internal error|\n\s+at /);
    t.notOk(existsSync(join(dir, 'js')), 'the job store is gone');
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(status.code, 2, status.stderr);
    t.match(status.stderr, /^toil: job store file:\.\/js does not exist/m);
  });
}

t.test('a run interrupted by SIGINT with --clean always deletes its job store', async (t) => {
  const dir = testDir(t);
  const running = await startedTree(dir, 'always');
  running.child.kill('SIGINT');
  const stopped = await running.done;
  t.equal(stopped.code, 130, stopped.stderr);
  t.match(
    stopped.stderr,
    /^toil: workflow interrupted by SIGINT; the job store file:\.\/js was deleted \(--clean always\)$/m,
  );
  t.notMatch(stopped.stderr, /is kept|internal error/);
  t.notOk(existsSync(join(dir, 'js')), 'the job store is gone');
});

t.test('a run stopped by toil kill with --clean onSuccess keeps its job store for --restart', async (t) => {
  const dir = testDir(t);
  const running = await startedTree(dir, 'onSuccess');
  const kill = await runToil(['kill', 'file:./js', '--wait', '60'], { cwd: dir });
  t.equal(kill.code, 0, kill.stderr);
  const stopped = await running.done;
  t.equal(stopped.code, 1, stopped.stderr);
  t.match(stopped.stderr, /and the job store file:\.\/js is kept: resume with --restart$/m);
  t.ok(existsSync(join(dir, 'js')), 'the job store is kept');
});
