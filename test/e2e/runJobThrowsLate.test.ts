import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { testOnMoto } from '../fixtures/motoServer.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowLateThrow.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * Runs the fixture with `first` as its first job, on a `file:` store or on the `aws:` store of
 * the S3 endpoint `env` names; returns toil's stderr and what each job logged.
 */
async function run(
  t: Test,
  first: 'late' | 'clean',
  on: { locator: string; env?: Record<string, string> } = { locator: 'file:./js' },
): Promise<{ code: number | null; stderr: string; runs: { name: string; attempt: number; pid: number }[] }> {
  const dir = scratchDir(t);
  const log = join(dir, 'runs.txt');
  const r = await runToil(['run', WORKFLOW, on.locator, first, log, '--retryCount', '0'], {
    cwd: dir,
    ...(on.env && { env: on.env }),
  });
  const runs = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [name = '', attempt = '', pid = ''] = l.split(' ');
      return { name, attempt: Number(attempt), pid: Number(pid) };
    });
  return { code: r.code, stderr: r.stderr, runs };
}

/**
 * A job that returns with a timer still armed, whose callback throws ~300 ms later, must not take
 * down the warm worker while it runs the next job, nor while it saves the job's own result: a job
 * would fail for it and spend a retry (with --retryCount 0, fail the workflow). The job that left
 * the timer is named instead.
 */
t.test("a late throw from one job's timer does not fail the next job on its warm worker", async (t) => {
  const { code, stderr, runs } = await run(t, 'late');
  t.equal(code, 0, `the workflow succeeds with --retryCount 0: ${stderr}`);
  t.same(
    runs.map((r) => `${r.name} ${r.attempt}`),
    ['late 1', 'after 1'],
    "each job ran once: 'after' was not charged for the timer",
  );
  t.not(runs[1]?.pid, runs[0]?.pid, "'after' ran in another worker than the one 'late' left its timer in");
  // Named as what it left open, when its worker saves the result within the timer's 300 ms (as
  // it mostly does), or as a throw after it returned, when a busy machine is slower than that
  // (runJobExits holds that case on its own, always then).
  t.match(
    stderr,
    /job 'late' (left 1 Timeout open; its worker is retired after it so the next job starts clean|left a callback that threw after it had returned \(Error: the timer job 'late' left behind went off, at .*\): the throw was caught and the job's result stands; its worker is retired after it)/,
    'the job that left the timer is named',
  );
});

/** Two jobs that leave nothing behind ran one after the other in one warm worker, nothing said. */
function sharedOneWorker(t: Test, { code, stderr, runs }: Awaited<ReturnType<typeof run>>): void {
  t.equal(code, 0, stderr);
  t.same(
    runs.map((r) => `${r.name} ${r.attempt}`),
    ['clean 1', 'after 1'],
  );
  t.equal(runs[1]?.pid, runs[0]?.pid, "'after' ran in the worker 'clean' ran in");
  t.notMatch(stderr, /left .* open/, 'no job is said to have left anything');
}

t.test('jobs that leave nothing behind share one warm worker', async (t) => {
  sharedOneWorker(t, await run(t, 'clean'));
});

/**
 * The job store's S3 client keeps its connection for the next request, and Node hands that socket
 * back to the client's pool (where it no longer keeps the process alive) a moment after the
 * request resolves: it is not the job's, and must not retire the worker after every job.
 */
testOnMoto(
  t,
  "on an aws: job store (moto_server), the store's own S3 connection is not taken for something the job left",
  async (t, env) => {
    const on = { locator: 'aws:us-west-2:warm-worker', env };
    sharedOneWorker(t, await run(t, 'clean', on));
  },
);
