import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { distinctiveSleep, killProcessesWithArgv, processesWithArgv } from '../fixtures/strayProcesses.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

/**
 * Ctrl-C (or SIGTERM) of a local run while the workflow's start() ran waited for start() to
 * return, and a start() that never returns needed a second one. Now the first stops the run at
 * once: the start() is abandoned, what it started as processes (its child, and one it detached)
 * is ended, the process exits 130 (143), and the job store is kept as for any stopped run: toil
 * status says it was interrupted while starting, and --restart starts the workflow in it.
 */
const MISBEHAVES = repoPath('test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);
t.jobs = 3;

/** Long enough a wait to tell a prompt stop from one that waited (or needed a second signal). */
const PROMPT_MS = 8_000;

for (const [signal, code, clean] of [
  ['SIGINT', 130, []],
  ['SIGTERM', 143, []],
  ['SIGINT', 130, ['--clean', 'always']],
] as const) {
  t.test(
    `${signal} during a start() that never returns stops the run at once (${code}), ends what start() started${clean.length > 0 ? ', --clean always deletes the store' : ', the store kept for --restart'}`,
    async (t) => {
      const dir = scratchDir(t);
      const sleep = ['sleep', distinctiveSleep()];
      t.teardown(() => killProcessesWithArgv(sleep));
      const run = startToil(['run', MISBEHAVES, 'file:./js', 'start-spawns-hangs', sleep[1]!, ...clean], {
        cwd: dir,
      });
      t.teardown(() => run.child.kill('SIGKILL'));
      await waitFor("start()'s two sleeps to run", () => processesWithArgv(sleep).length === 2, 60_000);
      const signalled = Date.now();
      run.child.kill(signal);
      const hung = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
      const stopped = await run.done;
      clearTimeout(hung);
      const ms = Date.now() - signalled;
      t.equal(stopped.code, code, `exit ${code} after one ${signal} (${ms} ms): ${stopped.stderr}`);
      t.ok(ms < PROMPT_MS, `stopped in ${ms} ms (< ${PROMPT_MS})`);
      t.same(processesWithArgv(sleep), [], 'nothing start() started is left running');
      t.match(stopped.stderr, /left 2 processes running after it ended|left 1 process running/);
      if (clean.length === 0) {
        t.match(
          stopped.stderr,
          new RegExp(
            `^toil: workflow interrupted by ${signal} before its start\\(\\) returned; the job store file:./js is kept, with no job in it yet: --restart starts the workflow in it$`,
            'm',
          ),
        );
        const status = await runToil(['status', 'file:./js'], { cwd: dir });
        t.match(status.stdout + status.stderr, /no workflow \(it was interrupted while starting\)/);
        const out = join(dir, 'out.txt');
        const restarted = await runToil(['run', MISBEHAVES, 'file:./js', 'well', out, '--restart'], {
          cwd: dir,
        });
        t.equal(restarted.code, 0, restarted.stderr);
        t.match(restarted.stderr, /the job store holds no workflow yet; starting it/);
        t.equal(readFileSync(out, 'utf8'), '42', '--restart started the workflow and ran it');
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
