import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, scratchDir, startToil, type ToilResult } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowLeavesHandles.ts');

/** A run that has said how it ended exits at once; one still up after this is hanging. */
const HANG_MS = 60_000;

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/** `toil run` of the fixture in `mode`, SIGKILLed if it is still up after HANG_MS. */
async function runLeaving(
  dir: string,
  store: string,
  mode: string,
  env: Record<string, string> = {},
): Promise<{ r: ToilResult; hung: boolean }> {
  const { child, done } = startToil(['run', WORKFLOW, `file:./${store}`, mode, join(dir, `${store}.out`)], {
    cwd: dir,
    env,
  });
  let hung = false;
  const limit = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, HANG_MS);
  const r = await done;
  clearTimeout(limit);
  return { r, hung };
}

t.test(
  "toil run exits once it has said how the run ended, whatever the workflow's own code left running",
  async (t) => {
    const dir = scratchDir(t);
    const cases: { name: string; store: string; mode: string; env?: Record<string, string> }[] = [
      { name: 'an interval timer armed by start()', store: 'timer', mode: 'start-timer' },
      { name: 'a TCP server finish() left listening', store: 'server', mode: 'finish-server' },
      {
        name: "an interval timer armed by the module's top level",
        store: 'module',
        mode: 'well',
        env: { LEAVES_MODULE_TIMER: '1' },
      },
    ];
    for (const c of cases) {
      const { r, hung } = await runLeaving(dir, c.store, c.mode, c.env);
      t.notOk(hung, `${c.name}: the run exited by itself (not still up after ${HANG_MS / 1000} s)`);
      t.equal(r.code, 0, `${c.name}: exit 0 (${r.stderr.slice(-400)})`);
      t.match(r.stderr, /^toil: workflow succeeded: 1 job run in /m, `${c.name}: said it succeeded`);
      t.equal(readFileSync(join(dir, `${c.store}.out`), 'utf8'), '42', `${c.name}: finish() ran to its end`);
      // The module's timer is armed again in each warm worker as it loads the module for its first
      // job: it is the module's, not that job's, so no job is blamed and no worker retired for it.
      t.notMatch(r.stderr, /left .* open/, `${c.name}: no job is said to have left anything open`);
    }
  },
);

t.test(
  'a start() that armed a timer and then threw: the one-line refusal, exit 2, and the process ends',
  async (t) => {
    const dir = scratchDir(t);
    const { r, hung } = await runLeaving(dir, 'threw', 'start-timer-throws');
    t.notOk(hung, `the run exited by itself (not still up after ${HANG_MS / 1000} s)`);
    t.equal(r.code, 2, r.stderr);
    t.match(
      r.stderr,
      /^toil: workflow \S+workflowLeavesHandles\.ts did not start: start gave up after arming a timer \(at \S+workflowLeavesHandles\.ts:\d+:\d+\)$/m,
    );
  },
);
