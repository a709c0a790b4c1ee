import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/** Frames of toil-ts's own code (its built files), which a mistake of the user's must not show. */
const OWN_FRAME = /\bat .*(dist\/src|src\/(workflow|leader|cli))\/\w+\.(js|ts)/;

/**
 * A promise a job rejects and never handles used to end its worker as Node ends any process: the
 * summary read "exit code 1" and the log the worker's death with toil-ts's frames. It fails the job
 * as a throw does, naming the rejection and the user's line.
 */
t.test("a job's unhandled promise rejection fails the job, naming it, not the worker", async (t) => {
  const dir = scratchDir(t);
  for (const extra of [[], ['--freshWorkers']]) {
    const r = await runToil(
      ['run', WORKFLOW, `file:./js${extra.length}`, 'job-rejects-unhandled', '--retryCount', '0', ...extra],
      { cwd: dir },
    );
    const how = extra.length ? 'one-shot worker' : 'warm worker';
    t.equal(r.code, 1, `${how}: the workflow fails`);
    t.match(
      r.stderr,
      /^toil: job 'forgetful' \([0-9a-f-]+\) failed after 1 attempt\(s\): UnhandledRejectionError: job 'forgetful' left a promise rejected with no handler \(not awaited, no \.catch\(\)\): Error: forgetful forgot to await this rejection$/m,
      `${how}: the summary names the job and the rejection`,
    );
    t.match(
      r.stderr,
      /at rejectUnhandled \(.*workflowMisbehaves\.ts:\d+:\d+\)/,
      `${how}: and the user's line`,
    );
    t.notMatch(r.stderr, /worker process died|exit code 1/, `${how}: the worker is not blamed`);
    t.notMatch(r.stderr, OWN_FRAME, `${how}: no frame of toil-ts's`);
  }
});

/**
 * In start() or finish(), which `toil run` runs in its own process, such a rejection (or a throw
 * from a timer of theirs) ended the leader with a stack of toil-ts's frames and exit code 1. It
 * fails the call in one line, as a throw in it does.
 */
for (const [mode, code, line] of [
  [
    'start-rejects-unhandled',
    2,
    /^toil: workflow .*workflowMisbehaves\.ts did not start: UnhandledRejectionError: start\(\) left a promise rejected with no handler \(not awaited, no \.catch\(\)\): Error: start forgot to await this rejection \(at .*workflowMisbehaves\.ts:\d+:\d+\)$/m,
  ],
  [
    'start-throws-in-timer',
    2,
    /^toil: workflow .*workflowMisbehaves\.ts did not start: start's timer threw \(at .*workflowMisbehaves\.ts:\d+:\d+\)$/m,
  ],
  [
    'finish-rejects-unhandled',
    1,
    /^toil: the finish\(\) of workflow .*workflowMisbehaves\.ts failed: UnhandledRejectionError: finish\(\) left a promise rejected with no handler \(not awaited, no \.catch\(\)\): Error: finish forgot to await this rejection$/m,
  ],
] as const) {
  t.test(`${mode}: the call fails in one line, the leader does not crash`, async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', WORKFLOW, 'file:./js', mode, '--retryCount', '0'], { cwd: dir });
    t.equal(r.code, code, 'exits as a throw in that call does');
    t.match(r.stderr, line, 'one line names the call and the rejection');
    t.notMatch(r.stderr, OWN_FRAME, "no frame of toil-ts's");
    t.notMatch(r.stderr, /Node\.js v\d+/, 'not a crash of the leader');
    if (mode === 'finish-rejects-unhandled')
      t.ok(existsSync(join(dir, 'js')), 'the job store is kept for --restart');
  });
}

/**
 * A stray of start() or finish() that comes after the call returned (a rejection Node reports once
 * the microtasks drain, a timer) ended the leader with toil-ts's stack: exit 1 after a workflow that
 * succeeded, its job store half deleted. It is a warning naming the call; the run goes on.
 */
t.test(
  'strays of start() and finish() after they returned are warnings; the run succeeds and cleans up',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(
      ['run', join(REPO_ROOT, 'test/fixtures/workflowLateStrays.ts'), 'file:./js', '--disableProgress'],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /^toil: workflow succeeded: 1 job run/m);
    for (const [call, what, message] of [
      ['start()', 'a promise rejected with no handler', 'rejected after start'],
      ['start()', 'an uncaught error', 'timer after start'],
      ['finish()', 'an uncaught error', 'timer after finish'],
    ] as const)
      t.match(
        r.stderr,
        new RegExp(
          `WARNING.*the workflow's ${call.replace(/[()]/g, '\\$&')} left ${what} after it returned \\(a timer or a promise it did not await\\); ignored, the run goes on: Error: ${message}$`,
          'm',
        ),
        `${call}: ${message}`,
      );
    t.notMatch(r.stderr, OWN_FRAME, "no frame of toil-ts's");
    t.notOk(existsSync(join(dir, 'js')), 'the job store is deleted whole, as after any success');
  },
);
