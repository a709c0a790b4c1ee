import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { distinctiveSleep, killProcessesWithArgv, processesWithArgv } from '../fixtures/strayProcesses.js';
import { waitFor } from '../fixtures/waitFor.js';
import { KILL_POLL_MS } from '../../src/leader/killRequest.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

/**
 * Ctrl-C (or SIGTERM) of a local run while the workflow's start() ran waited for start() to
 * return, and a start() that never returns needed a second one; so did one while its finish()
 * ran, which left what finish() started running. Now the first stops the run at once: the call
 * is abandoned, what it started as processes (its child, and one it detached) is ended, the
 * process exits 130 (143), and the job store is kept as for any stopped run: toil status says it
 * was interrupted while starting (or that every job ran and finish did not complete), and
 * --restart starts the workflow in it (or runs finish again, and no job).
 */
const MISBEHAVES = repoPath('test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);
t.jobs = 3;

/** Well past the instant a call's synchronous part ends, on a loaded machine. */
const WATCHDOG_STOPPED_MS = 500;

/** Long enough a wait to tell a prompt stop from one that waited (or needed a second signal). */
const PROMPT_MS = 8_000;

/** What the kept store's toil status says and what its --restart does, after a stop in `call`. */
const KEPT = {
  start: {
    status: /no workflow \(it was interrupted while starting\)/,
    restarted: /the job store holds no workflow yet; starting it/,
  },
  finish: {
    status:
      /^state: +not finished: every job ran, but the workflow's finish did not complete and no leader holds the store/m,
    restarted: /toil: workflow succeeded: 0 jobs run \(1 already done before --restart\)/,
  },
};

/** What toil status says of a store whose run `toil kill` stopped in `call`. */
const KILLED_STATUS = {
  start: KEPT.start.status,
  finish:
    /^state: +not finished: every job ran, but toil kill \(from \S+, pid \d+, at \S+\) stopped the leader before the workflow's finish completed; no leader holds the store/m,
};

/** The store a stop in `call` kept: toil status says so, and --restart runs the workflow to its result. */
async function keptForRestart(
  t: Test,
  dir: string,
  call: 'start' | 'finish',
  status: RegExp = KEPT[call].status,
): Promise<void> {
  const said = await runToil(['status', 'file:./js'], { cwd: dir });
  t.match(said.stdout + said.stderr, status);
  const out = join(dir, 'out.txt');
  const restarted = await runToil(['run', MISBEHAVES, 'file:./js', 'well', out, '--restart'], { cwd: dir });
  t.equal(restarted.code, 0, restarted.stderr);
  t.match(restarted.stderr, KEPT[call].restarted);
  t.equal(readFileSync(out, 'utf8'), '42', '--restart ran the workflow to its result');
}

for (const [call, signal, code, clean] of [
  ['start', 'SIGINT', 130, []],
  ['start', 'SIGTERM', 143, []],
  ['start', 'SIGINT', 130, ['--clean', 'always']],
  ['finish', 'SIGINT', 130, []],
  ['finish', 'SIGTERM', 143, ['--clean', 'always']],
] as const) {
  t.test(
    `${signal} during a ${call}() that never returns stops the run at once (${code}), ends what ${call}() started${clean.length > 0 ? ', --clean always deletes the store' : ', the store kept for --restart'}`,
    async (t) => {
      const dir = scratchDir(t);
      const sleep = ['sleep', distinctiveSleep()];
      t.teardown(() => killProcessesWithArgv(sleep));
      const run = startToil(['run', MISBEHAVES, 'file:./js', `${call}-spawns-hangs`, sleep[1]!, ...clean], {
        cwd: dir,
      });
      t.teardown(() => run.child.kill('SIGKILL'));
      await waitFor(`${call}()'s two sleeps to run`, () => processesWithArgv(sleep).length === 2, 60_000);
      // The sleeps start at the end of the call's synchronous part, where V8's SIGINT watchdog
      // (breakableByCtrlC) stops; a SIGINT in that instant is lost (docs/workflow.md). This test is
      // of a call that waits, so it signals once that instant is surely past.
      if (signal === 'SIGINT') await new Promise((r) => setTimeout(r, WATCHDOG_STOPPED_MS));
      const signalled = Date.now();
      run.child.kill(signal);
      const hung = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
      const stopped = await run.done;
      clearTimeout(hung);
      const ms = Date.now() - signalled;
      t.equal(stopped.code, code, `exit ${code} after one ${signal} (${ms} ms): ${stopped.stderr}`);
      t.ok(ms < PROMPT_MS, `stopped in ${ms} ms (< ${PROMPT_MS})`);
      t.same(processesWithArgv(sleep), [], `nothing ${call}() started is left running`);
      t.match(
        stopped.stderr,
        new RegExp(
          `^toil: ${signal}: stopping the workflow: abandoning its ${call}\\(\\) and ending the processes it started \\(${signal} again to exit at once\\)$`,
          'm',
        ),
        'the first line says what stops: the call, not jobs',
      );
      t.notMatch(stopped.stderr, /killing its running jobs/, 'no job is said killed');
      t.match(stopped.stderr, /left 2 processes running after it ended|left 1 process running/);
      if (clean.length === 0) {
        t.match(
          stopped.stderr,
          new RegExp(
            call === 'start'
              ? `^toil: workflow interrupted by ${signal} before its start\\(\\) returned; the job store file:./js is kept, with no job in it yet: --restart starts the workflow in it$`
              : `^toil: workflow interrupted by ${signal} before its finish\\(\\) returned; every job ran and the job store file:./js is kept: --restart runs finish\\(\\) again, and no job$`,
            'm',
          ),
        );
        await keptForRestart(t, dir, call);
      } else {
        t.match(
          stopped.stderr,
          new RegExp(
            `^toil: workflow interrupted by ${signal}; the job store file:./js was deleted \\(--clean always\\)$`,
            'm',
          ),
        );
        t.notOk(existsSync(join(dir, 'js')), 'the job store is gone');
      }
    },
  );
}

for (const call of ['start', 'finish'] as const) {
  t.test(
    `toil kill during a ${call}() that never returns: the run says ${call}() was abandoned and its 2 processes ended, no job running, and exits 1`,
    async (t) => {
      const dir = scratchDir(t);
      const sleep = ['sleep', distinctiveSleep()];
      t.teardown(() => killProcessesWithArgv(sleep));
      const run = startToil(['run', MISBEHAVES, 'file:./js', `${call}-spawns-hangs`, sleep[1]!], {
        cwd: dir,
      });
      t.teardown(() => run.child.kill('SIGKILL'));
      await waitFor(`${call}()'s two sleeps to run`, () => processesWithArgv(sleep).length === 2, 60_000);
      const kill = await runToil(['kill', 'file:./js', '--wait', '60'], { cwd: dir });
      t.equal(kill.code, 0, kill.stderr);
      const stopped = await run.done;
      t.equal(stopped.code, 1, stopped.stderr);
      t.same(processesWithArgv(sleep), [], `nothing ${call}() started is left running`);
      const by = 'toil: the workflow was stopped by toil kill \\(from \\S+, pid \\d+\\)';
      t.match(
        stopped.stderr,
        new RegExp(
          call === 'start'
            ? `^${by} before its start\\(\\) returned, so no job had run: start\\(\\) was abandoned \\(the 2 processes it started were ended\\) and the job store file:./js is kept, with no job in it yet: resume with --restart \\(start\\(\\) runs again\\)$`
            : `^${by} before its finish\\(\\) returned, every job having run: finish\\(\\) was abandoned \\(the 2 processes it started were ended\\) and the job store file:./js is kept: resume with --restart \\(finish\\(\\) runs again, and no job\\)$`,
          'm',
        ),
      );
      t.notMatch(stopped.stderr, /running jobs were killed/, 'no job was running');
      t.match(
        kill.stderr,
        call === 'start'
          ? /^toil: the leader has stopped before its workflow's start\(\) returned: no job had run; the job store file:.\/js is kept, with no job in it yet \(toil run … --restart starts the workflow in it\)$/m
          : /^toil: the leader has stopped in its workflow's finish\(\): every job had run; the job store file:.\/js is kept \(toil run … --restart runs finish\(\) again, and no job\)$/m,
      );
      if (call === 'finish') {
        const status = await runToil(['status', 'file:./js'], { cwd: dir });
        t.match(
          status.stdout,
          /^state: +not finished: every job ran, but toil kill \(from \S+, pid \d+, at \S+\) stopped the leader before the workflow's finish completed; no leader holds the store/m,
          'toil status says the kill stopped the finish',
        );
      }
    },
  );
}

/** A run whose `call` loops for ever without yielding, once it loops. */
async function spinning(t: Test, call: 'start' | 'finish') {
  const dir = scratchDir(t);
  const marker = join(dir, 'spinning');
  const run = startToil(['run', MISBEHAVES, 'file:./js', `${call}-spins`, marker], { cwd: dir });
  t.teardown(() => run.child.kill('SIGKILL'));
  await waitFor(`${call}() to spin`, () => existsSync(marker), 60_000);
  return { dir, run };
}

for (const call of ['start', 'finish'] as const) {
  t.test(
    `SIGINT during a ${call}() that loops without yielding stops the run at once (130), one Ctrl-C enough, the store kept for --restart`,
    async (t) => {
      const { dir, run } = await spinning(t, call);
      const signalled = Date.now();
      run.child.kill('SIGINT');
      const hung = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
      const stopped = await run.done;
      clearTimeout(hung);
      const ms = Date.now() - signalled;
      t.equal(stopped.code, 130, `exit 130 after one SIGINT (${ms} ms), not SIGKILL: ${stopped.stderr}`);
      t.ok(ms < PROMPT_MS, `stopped in ${ms} ms (< ${PROMPT_MS})`);
      t.match(
        stopped.stderr,
        new RegExp(
          `^toil: SIGINT: stopping the workflow: abandoning its ${call}\\(\\) and ending the processes it started \\(SIGINT again to exit at once\\)$`,
          'm',
        ),
      );
      t.notMatch(
        stopped.stderr,
        /interrupted by `SIGINT`|ERR_SCRIPT_EXECUTION_INTERRUPTED| {4}at /,
        'no V8 text, no stack',
      );
      await keptForRestart(t, dir, call);
    },
  );
}

for (const call of ['start', 'finish'] as const) {
  t.test(
    `toil kill during a ${call}() that loops without yielding stops the run within the leader's poll (exit 1), the store kept for --restart`,
    async (t) => {
      const { dir, run } = await spinning(t, call);
      const kill = await runToil(['kill', 'file:./js'], { cwd: dir });
      t.equal(kill.code, 0, kill.stderr);
      const asked = Date.now();
      // Unfixed, the loop never ends and neither does the run: ended here, it fails the checks below.
      const hung = setTimeout(() => run.child.kill('SIGKILL'), KILL_POLL_MS + 2 * PROMPT_MS);
      const stopped = await run.done;
      clearTimeout(hung);
      const ms = Date.now() - asked;
      t.equal(stopped.code, 1, `exit 1 after the kill (${ms} ms), not SIGKILL: ${stopped.stderr}`);
      t.ok(ms < KILL_POLL_MS + PROMPT_MS, `stopped in ${ms} ms (< ${KILL_POLL_MS + PROMPT_MS})`);
      const by = 'toil: the workflow was stopped by toil kill \\(from \\S+, pid \\d+\\)';
      t.match(
        stopped.stderr,
        new RegExp(
          call === 'start'
            ? `^${by} before its start\\(\\) returned, so no job had run: start\\(\\) was abandoned and the job store file:./js is kept, with no job in it yet: resume with --restart \\(start\\(\\) runs again\\)$`
            : `^${by} before its finish\\(\\) returned, every job having run: finish\\(\\) was abandoned and the job store file:./js is kept: resume with --restart \\(finish\\(\\) runs again, and no job\\)$`,
          'm',
        ),
      );
      t.notMatch(stopped.stderr, /SIGINT/, 'the kill is not taken for a Ctrl-C');
      t.notMatch(stopped.stderr, /ERR_SCRIPT_EXECUTION_INTERRUPTED| {4}at /, 'no V8 text, no stack');
      await keptForRestart(t, dir, call, KILLED_STATUS[call]);
    },
  );
}
