import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A job store path taken by something else (a mistyped path: a directory of a user's files, or a
 * file) is refused by every command that reads a store as `toil clean` and a new store refuse it:
 * not a job store (exit 2, one line naming the path and what is there), rather than "does not
 * exist", which would send the user looking for a store that is gone. Nothing there is touched.
 */
t.setTimeout(180_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

function readingCommands(locator: string): (readonly string[])[] {
  return [
    ['status', locator],
    ['stats', locator],
    ['kill', locator],
    ['debug-file', locator, '--listFilesInJobStore'],
    ['debug-job', locator, 'add'],
    ['run', TREE, locator, '--restart'],
  ];
}

/** Runs each reading command on `locator` in `dir`: each exits 2 with one line `said` matches, no report. */
async function refusedByEach(t: Test, dir: string, locator: string, said: RegExp): Promise<void> {
  for (const args of readingCommands(locator)) {
    const r = await runToil(args, { cwd: dir });
    const name = args.filter((a) => a !== TREE).join(' ');
    t.equal(r.code, 2, `${name}: exit 2, bad input`);
    t.equal(r.stdout, '', `${name}: no report`);
    t.match(r.stderr, said, `${name}: ${said.source.slice(0, 60)}…`);
  }
}

t.test(
  'a directory of other files: every reading command and --restart say it is not a job store, exit 2',
  async (t) => {
    const dir = testDir(t);
    mkdirSync(join(dir, 'thesis'));
    writeFileSync(join(dir, 'thesis/thesis.tex'), '\\documentclass{article}\n');
    await refusedByEach(
      t,
      dir,
      'file:./thesis',
      /^toil: job store file:\.\/thesis: \S+\/thesis is a directory of other files \(e\.g\. 'thesis\.tex'\), not a job store, so it is not used, written to or deleted \(expected the job store a workflow ran with: name that one\)\n$/,
    );
    t.same(readdirSync(join(dir, 'thesis')), ['thesis.tex'], 'nothing was added or removed');
    t.equal(
      readFileSync(join(dir, 'thesis/thesis.tex'), 'utf8'),
      '\\documentclass{article}\n',
      'nor changed',
    );
  },
);

t.test('a file: every reading command says it is a file, not a job store, exit 2', async (t) => {
  const dir = testDir(t);
  writeFileSync(join(dir, 'notes.txt'), 'mine\n');
  await refusedByEach(
    t,
    dir,
    'file:./notes.txt',
    /^toil: job store file:\.\/notes\.txt: \S+\/notes\.txt is a file, not a job store, so it is not used, written to or deleted \(expected the job store a workflow ran with: name that one\)\n$/,
  );
  t.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine\n', 'the file is as it was');
});

t.test('a path with nothing there is still said not to exist', async (t) => {
  const dir = testDir(t);
  await refusedByEach(
    t,
    dir,
    'file:./gone',
    /^toil: job store file:\.\/gone does not exist \(expected an existing job store[^\n]*\n$/,
  );
});
