import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/**
 * A job returning a value too big for the job's records (65 MiB of JSON) fails in its worker,
 * saying how big and pointing at files, instead of taking the leader's memory to a multiple of it.
 */
t.test('a job returning a 65 MiB string fails, saying its size and to use a file', async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(['run', WORKFLOW, 'file:./js', 'job-returns-big', '--retryCount', '0'], {
    cwd: dir,
  });
  t.equal(r.code, 1, 'the workflow fails');
  t.match(
    r.stderr,
    /^toil: job 'hoarder' \([0-9a-f-]+\) failed after 1 attempt\(s\): Error: return value of job 'hoarder' is 65\.0 MiB as JSON, more than the 64 MiB a job's value may be .*job\.fileStore\.writeGlobalFile/m,
  );
  const status = await runToil(['status', 'file:./js', '--json'], { cwd: dir });
  t.match(JSON.parse(status.stdout), { finished: false }, 'nothing of the value was committed');
});

/**
 * A BigInt has no JSON form, and a job's value is JSON in the job store: refused as the job
 * returns, with a message naming the job and the way out, and no stack frame of toil-ts's.
 */
t.test('a job returning a BigInt fails, naming the job and saying to store it as a string', async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(['run', WORKFLOW, 'file:./js', 'job-returns-bigint', '--retryCount', '0'], {
    cwd: dir,
  });
  t.equal(r.code, 1, 'the workflow fails');
  const message =
    "return value of job 'counter' holds the BigInt 18446744073709551657n (at .reads), which cannot be stored: JSON has no BigInt (store it as a string, String(n), and read it back with BigInt(s))";
  t.match(r.stderr, `toil: job 'counter' (`);
  t.ok(r.stderr.includes(`failed after 1 attempt(s): Error: ${message}\n`), r.stderr);
  t.notMatch(r.stderr, /^\s+at /m, 'no stack frame');
  t.notMatch(r.stderr, /jobBuilder|dist\/src|Do not know how to serialize/, "nothing of toil-ts's code");
});
