import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { REPO_ROOT, scratchDir, runToil } from '../fixtures/workflowCli.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/** workflowTree with n = 2 (jobs tree, tree, tree, add) whose `add` fails every attempt. */
const failingTree = (dir: string, ...flags: string[]): Promise<{ code: number | null; stderr: string }> =>
  runToil(
    [
      'run',
      TREE,
      'file:./js',
      ...['--n', '2', '--out', join(dir, 'o'), '--log', join(dir, 'exec.log')],
      ...['--fail', 'add', '--failTimes', '9', '--retryCount', '1'],
      ...flags,
    ],
    { cwd: dir },
  );

t.test("--writeLogs DIR: each failed attempt's log in a file of its own, named after the job", async (t) => {
  const dir = scratchDir(t);
  const r = await failingTree(dir, '--writeLogs', 'logs/run1');
  t.equal(r.code, 1, 'the workflow failed');
  const files = readdirSync(join(dir, 'logs/run1')).sort();
  t.match(
    files,
    [/^add_[0-9a-f-]+_1\.log$/, /^add_[0-9a-f-]+_2\.log$/],
    'one file per failed attempt, no other',
  );
  for (const [i, file] of files.entries()) {
    const text = readFileSync(join(dir, 'logs/run1', file), 'utf8');
    t.match(
      text,
      new RegExp(`^job 'add' \\([0-9a-f-]+\\) attempt ${i + 1} failed\\n`),
      `${file}: what happened`,
    );
    t.match(text, /Error: add was told to fail/, `${file}: the error`);
    t.match(
      text,
      new RegExp(`stderr-marker-of-add: about to fail \\(attempt ${i + 1}\\)`),
      `${file}: the output`,
    );
  }
});

t.test(
  "--writeLogsGzip with --writeLogsFromAllJobs: successful jobs' files too, gzipped; --maxLogFileSize keeps the end",
  async (t) => {
    const dir = scratchDir(t);
    const r = await failingTree(
      dir,
      '--writeLogsGzip',
      'gz',
      '--writeLogsFromAllJobs',
      '--maxLogFileSize',
      '100',
    );
    t.equal(r.code, 1, 'the workflow failed');
    const files = readdirSync(join(dir, 'gz')).sort();
    t.equal(files.filter((f) => /^add_.*\.log\.gz$/.test(f)).length, 2, "the failed job's two attempts");
    t.equal(files.filter((f) => /^tree_.*_1\.log\.gz$/.test(f)).length, 3, 'the three successful jobs');
    t.equal(files.length, 5, 'nothing else');
    const add = gunzipSync(readFileSync(join(dir, 'gz', files[0]!))).toString('utf8');
    const [marker, ...kept] = add.split('\n');
    t.match(marker, /^\[truncated: the first \d+ bytes are left out \(--maxLogFileSize 100\)\]$/);
    t.equal(Buffer.byteLength(kept.join('\n')), 100, 'the last 100 bytes are kept');
    t.match(add, /stderr-marker-of-add: about to fail \(attempt 1\)\n$/, 'the end of the output');
    const tree = gunzipSync(readFileSync(join(dir, 'gz', files[2]!))).toString('utf8');
    t.match(tree, /^job 'tree' \([0-9a-f-]+\) attempt 1 succeeded\n$/);
  },
);
