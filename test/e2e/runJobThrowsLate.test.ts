import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowLateThrow.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/** Runs the fixture with `first` as its first job; returns toil's stderr and what each job logged. */
async function run(
  t: Test,
  first: 'late' | 'clean',
): Promise<{ code: number | null; stderr: string; runs: { name: string; attempt: number; pid: number }[] }> {
  const dir = scratchDir(t);
  const log = join(dir, 'runs.txt');
  const r = await runToil(['run', WORKFLOW, 'file:./js', first, log, '--retryCount', '0'], { cwd: dir });
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
 * down the warm worker while it runs the next job: that job would fail for it and spend a retry
 * (with --retryCount 0, fail the workflow). The job that left the timer is named instead.
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
  t.match(
    stderr,
    /job 'late' left 1 Timeout open; its worker is retired after it so the next job starts clean/,
    'the job that left the timer is named',
  );
});

t.test('jobs that leave nothing behind share one warm worker', async (t) => {
  const { code, stderr, runs } = await run(t, 'clean');
  t.equal(code, 0, stderr);
  t.same(
    runs.map((r) => `${r.name} ${r.attempt}`),
    ['clean 1', 'after 1'],
  );
  t.equal(runs[1]?.pid, runs[0]?.pid, "'after' ran in the worker 'clean' ran in");
  t.notMatch(stderr, /left .* open/, 'no job is said to have left anything');
});
