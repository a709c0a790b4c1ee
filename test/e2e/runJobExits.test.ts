import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/** Runs the fixture in `mode` with --retryCount 0 on warm workers, then on one-shot workers. */
async function runBothWays(
  t: Test,
  mode: string,
  args: readonly string[] = [],
): Promise<{ name: string; r: Awaited<ReturnType<typeof runToil>> }[]> {
  const dir = scratchDir(t);
  const results = [];
  for (const [name, extra] of [
    ['warm workers', []],
    ['a one-shot worker per job, as on a cluster node', ['--freshWorkers']],
  ] as const) {
    const r = await runToil(
      ['run', WORKFLOW, `file:./js${extra.length}`, mode, ...args, '--retryCount', '0', ...extra],
      {
        cwd: dir,
      },
    );
    results.push({ name, r });
  }
  return results;
}

/**
 * A job whose code calls process.exit(3) fails as a job that threw does, in its own name: the
 * user reads that their job called process.exit(3), where, and what it printed, not "the worker
 * process died (exit code 3)", which blames the engine.
 */
t.test("a job calling process.exit(3) is reported as the job's own call, with its code", async (t) => {
  for (const { name, r } of await runBothWays(t, 'job-exits')) {
    t.equal(r.code, 1, `${name}: the workflow fails`);
    t.match(
      r.stderr,
      /^toil: job 'quitter' \([0-9a-f-]+\) failed after 1 attempt\(s\): JobCalledExitError: job 'quitter' called process\.exit\(3\)/m,
      `${name}: the summary names the job and its call`,
    );
    t.match(
      r.stderr,
      /at Object\.fn \(.*workflowMisbehaves\.ts:\d+:\d+\)/,
      `${name}: the stack points at the call`,
    );
    t.match(r.stderr, /quitter is about to exit with 41/, `${name}: and what it printed`);
    t.notMatch(r.stderr, /worker process died/, `${name}: the worker is not blamed`);
  }
});

/**
 * The call made from a timer the job armed (a callback of its own, while it waits) is the job's
 * too: the trap sees it there, so the summary names it rather than "exit code 1".
 */
t.test("a job's timer calling process.exit(1) is reported as the job's own call", async (t) => {
  for (const { name, r } of await runBothWays(t, 'job-exits-in-timer')) {
    t.equal(r.code, 1, `${name}: the workflow fails`);
    t.match(
      r.stderr,
      /^toil: job 'timerQuitter' \([0-9a-f-]+\) failed after 1 attempt\(s\): JobCalledExitError: job 'timerQuitter' called process\.exit\(1\)/m,
      `${name}: the summary names the job and its call`,
    );
    t.match(
      r.stderr,
      /at Timeout\._onTimeout \(.*workflowMisbehaves\.ts:\d+:\d+\)/,
      `${name}: the stack points at the call`,
    );
    t.notMatch(r.stderr, /worker process died/, `${name}: the worker is not blamed`);
  }
});

/**
 * A timer the job left behind that calls process.exit(1) after the job returned: at once (before
 * or while the worker saves the result, as the event loop has it), or while its worker writes the
 * commit (always then, by a hook on the write). The worker still holds the trap, so the commit is
 * written whole, the job's result stands (no retry, no "exit code 1"), and the call is named in a
 * WARN.
 */
for (const [mode, job] of [
  ['job-exits-after-return', 'strayQuitter'],
  ['job-exits-while-committing', 'lateQuitter'],
] as const) {
  t.test(
    `${mode}: a job's timer calling process.exit(1) after it returned does not cut its commit`,
    async (t) => {
      const dir = scratchDir(t);
      for (const { name, r } of await runBothWays(t, mode, [join(dir, 'out')])) {
        t.equal(r.code, 0, `${name}: the workflow succeeds`);
        t.match(r.stderr, /workflow succeeded: 1 job run /, `${name}: its one job run once`);
        t.match(
          r.stderr,
          new RegExp(
            `WARN.*job '${job}' called process\\.exit\\(1\\) after it had returned \\(from a callback it left running, at .*workflowMisbehaves\\.ts:\\d+:\\d+\\)\\): the call was ignored and the job's result stands`,
          ),
          `${name}: the stray call is named`,
        );
        t.notMatch(r.stderr, /worker process died|failed after|giving up/, `${name}: the job did not fail`);
      }
      t.equal(readFileSync(join(dir, 'out'), 'utf8'), '42', "finish got the job's result");
    },
  );
}

/**
 * A timer the job left that throws while its worker writes the commit of the job's result (as on a
 * machine slow to save it): the throw is caught and named, the result stands (no failure, no
 * retry spent), and a warm worker is retired after the job, so its child runs in a worker with
 * nothing of it left.
 */
t.test("a job's timer that throws while its result is saved does not fail the job", async (t) => {
  const dir = scratchDir(t);
  for (const { name, r } of await runBothWays(t, 'job-throws-while-committing', [join(dir, 'out')])) {
    t.equal(r.code, 0, `${name}: the workflow succeeds: ${r.stderr}`);
    t.match(r.stderr, /workflow succeeded: 2 jobs run/, `${name}: each job run once`);
    t.match(
      r.stderr,
      /WARN.*job 'lateThrower' left a callback that threw after it had returned \(Error: lateThrower's timer went off while its result was saved, at .*workflowMisbehaves\.ts:\d+:\d+\)\): the throw was caught and the job's result stands; its worker is retired after it/,
      `${name}: the throw is named, with where it came from`,
    );
    t.notMatch(r.stderr, /worker process died|failed after|giving up/, `${name}: no job failed`);
  }
  t.equal(readFileSync(join(dir, 'out'), 'utf8'), '42', "finish got the job's result");
});

/**
 * `toil run` runs start() and finish() in its own process: their process.exit(7) ended the leader
 * with no word said and exit code 7, the job store left as the call left it. It fails the call in
 * one line, as a throw in it does: the run's exit code, the store removed (start) or kept for
 * --restart (finish).
 */
for (const [mode, code, line] of [
  [
    'start-exits',
    2,
    /^toil: workflow .*workflowMisbehaves\.ts did not start: WorkflowCalledExitError: start\(\) called process\.exit\(7\): .* \(at .*workflowMisbehaves\.ts:\d+:\d+\)$/m,
  ],
  [
    'finish-exits',
    1,
    /^toil: the finish\(\) of workflow .*workflowMisbehaves\.ts failed: WorkflowCalledExitError: finish\(\) called process\.exit\(7\): /m,
  ],
] as const) {
  t.test(`${mode}: process.exit in the workflow's own call fails that call in one line`, async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', WORKFLOW, 'file:./js', mode], { cwd: dir });
    t.equal(r.code, code, 'exits as a throw in that call does, not with the code given to process.exit');
    t.match(r.stderr, line, 'one line names the call');
    t.equal(existsSync(join(dir, 'js')), mode === 'finish-exits', 'the job store is kept only after finish');
  });
}
