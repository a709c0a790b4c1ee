import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { scratchDir, startToil, type ToilResult } from '../fixtures/workflowCli.js';

/**
 * A job whose promise never settles (an await on a promise that nothing resolves) hung a local
 * run for ever without --maxJobDuration: its worker's channel to the leader kept the worker's
 * event loop busy, so Node never saw that nothing was left to wake the job. Now the attempt fails
 * once nothing of the job's is left, with the line `toil debug-job` says, and retries follow the
 * usual rules. And a job that does wait on something real (a timer, a child process, a socket, a
 * worker thread, a message port, a file read, a chain of setImmediate) is never failed for it.
 */
const MISBEHAVES = repoPath('test/fixtures/workflowMisbehaves.ts');
const WAITS = repoPath('test/fixtures/workflowWaits.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
t.jobs = 2;

/** How long a run may take before it is taken for hung (stopped with SIGKILL). */
const HUNG_MS = 60_000;

async function runBounded(args: readonly string[], cwd: string): Promise<ToilResult & { ms: number }> {
  const started = Date.now();
  const run = startToil(args, { cwd });
  const timer = setTimeout(() => run.child.kill('SIGKILL'), HUNG_MS);
  try {
    return { ...(await run.done), ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

const NEVER_FINISHED =
  "job 'stall' never finished: its function's promise was still pending when nothing was left that could settle it (an await on a promise that nothing resolves)";

for (const [workers, extra] of [
  ['warm workers', []],
  ['a one-shot worker per job', ['--freshWorkers']],
] as const) {
  for (const retryCount of [0, 1]) {
    t.test(
      `${workers}: a job whose promise never settles fails each attempt saying so (--retryCount ${retryCount}), and the run exits 1`,
      async (t) => {
        const dir = scratchDir(t);
        const r = await runBounded(
          ['run', MISBEHAVES, 'file:./js', 'job-never-settles', '--retryCount', String(retryCount), ...extra],
          dir,
        );
        t.equal(r.code, 1, `exit 1 in ${r.ms} ms, not hung: ${r.stderr.slice(-800)}`);
        const attempts = retryCount + 1;
        t.match(
          r.stderr,
          new RegExp(
            `^toil: job 'stall' \\([0-9a-f-]+\\) failed after ${attempts} attempt\\(s\\): Error: ${escape(NEVER_FINISHED)}$`,
            'm',
          ),
          'the summary names the job and says, in the words of toil debug-job, why',
        );
        t.equal(
          r.stderr
            .split('\n')
            .filter(
              (l) => l.includes(NEVER_FINISHED) && /WARNING leader: job 'stall' failed; trying again/.test(l),
            ).length,
          retryCount,
          'each attempt but the last is retried',
        );
        t.notMatch(r.stderr, /^\s+at /m, 'no stack of Node internals');
      },
    );
  }

  t.test(
    `${workers}: jobs that await a timer, a child process, a socket, a worker thread, a message port, a file read or setImmediate calls all succeed`,
    async (t) => {
      const dir = scratchDir(t);
      const out = join(dir, 'out.txt');
      const r = await runBounded(['run', WAITS, 'file:./js', out, '--retryCount', '0', ...extra], dir);
      t.equal(r.code, 0, r.stderr.slice(-2000));
      t.equal(readFileSync(out, 'utf8'), 'timer,child,socket,thread,port,fileRead,immediates');
      t.notMatch(r.stderr, /never finished/);
    },
  );
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
