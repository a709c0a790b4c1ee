import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Env, startMoto } from '../fixtures/motoServer.js';
import { startS3rver } from '../fixtures/s3rver.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const SORT = join(REPO_ROOT, 'examples/sort.ts');

async function sortOn(t: Test, env: Record<string, string>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'toil-s3-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const locator = 'aws:us-west-2:sort-test';
  // ~26 KB in four leaves: children, follow-ons and their files on S3, with few worker processes.
  const args = ['run', SORT, locator, '--numLines', '1000', '--N', '8000', '--outputFile', 'sorted.txt'];
  const r = await runToil([...args, '--clean', 'never'], { cwd: dir, env });
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr);
  const expected = execFileSync('sort', [join(dir, 'fileToSort.txt')], {
    env: { ...process.env, LC_ALL: 'C' },
  });
  t.same(readFileSync(join(dir, 'sorted.txt')), expected, 'output equals LC_ALL=C sort of the input');
  const status = await runToil(['status', locator, '--json'], { cwd: dir, env });
  t.equal(status.code, 0, status.code === 0 ? 'exit 0' : status.stderr);
  t.match(
    JSON.parse(status.stdout),
    { finished: true, failedAttempts: 0 },
    'the bucket holds the finished workflow',
  );
  const exists = await runToil(args, { cwd: dir, env });
  t.equal(exists.code, 2, 'a second run without --restart is refused');
  t.match(
    exists.stderr,
    /job store aws:us-west-2:sort-test already exists \(expected a new job store; it holds a workflow that finished\): remove it with 'toil clean/,
    'what the bucket holds, read from its records, and the way to run it again',
  );
  const clean = await runToil(['clean', locator], { cwd: dir, env });
  t.equal(clean.code, 0, clean.code === 0 ? 'exit 0' : clean.stderr);
  const gone = await runToil(['status', locator], { cwd: dir, env });
  t.equal(gone.code, 2, 'the bucket is gone after toil clean');
}

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

t.test(
  'sort on aws:us-west-2:sort-test against moto_server (AWS_ENDPOINT_URL_S3)',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    await sortOn(t, motoS3Env(moto));
  },
);

t.test('sort on aws:us-west-2:sort-test against s3rver (AWS_ENDPOINT_URL_S3)', async (t) => {
  const s3rver = await startS3rver();
  t.teardown(() => s3rver.stop());
  await sortOn(t, { ...s3rver.env });
});
