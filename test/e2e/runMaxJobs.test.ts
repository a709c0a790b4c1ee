import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { execLog, POLL, SERVICES } from '../fixtures/servicesRun.js';
import {
  REPO_ROOT,
  parseExecutions,
  peakRunning as peakIn,
  runToil,
  scratchDir,
} from '../fixtures/workflowCli.js';

/** How many of the tree's jobs ran at once in `dir` (see peakRunning). */
const peakRunning = (dir: string): number => peakIn(readFileSync(join(dir, 'exec.log'), 'utf8'));

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);
// Each case runs in a directory of its own: they run side by side.
t.jobs = 3;

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

/**
 * The tree workflow (n = 8: 8 leaves ready at once) whose jobs each sleep 400 ms between the
 * "start" and "end" lines they append to exec.log, on a machine given room for all 8 leaves: each
 * job's half core counts as 0.2 at --scale 0.25, so 10 fit in 2 cores (a --maxCores above the
 * machine's is lowered to them, as in Toil).
 */
const runTree = (dir: string, ...flags: string[]) =>
  runToil(
    [
      ...['run', TREE, 'file:./js', '--scale', '0.25'],
      ...['--n', '8', '--sleepMs', '400', '--out', join(dir, 'o'), '--log', join(dir, 'exec.log')],
      ...flags,
    ],
    { cwd: dir },
  );

t.test('without --maxJobs the 8 leaves run together (room for them: --scale 0.25)', async (t) => {
  const dir = scratchDir(t);
  const r = await runTree(dir);
  t.equal(r.code, 0, r.stderr);
  t.ok(peakRunning(dir) > 2, `${peakRunning(dir)} jobs ran at once`);
});

t.test(
  '--maxJobs 2: at most 2 jobs run at once though the machine has room for 8, and the workflow finishes',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runTree(dir, '--maxJobs', '2');
    t.equal(r.code, 0, r.stderr);
    t.equal(readFileSync(join(dir, 'o'), 'utf8'), '28\n', 'every job ran: the sum of 0..7');
    t.equal(peakRunning(dir), 2, 'the cap is reached and never passed');
    t.equal(parseExecutions(readFileSync(join(dir, 'exec.log'), 'utf8')).length, 44, '22 jobs, each once');
  },
);

t.test("--maxJobs 0 is Toil's no limit", async (t) => {
  const dir = scratchDir(t);
  const r = await runTree(dir, '--maxJobs', '0');
  t.equal(r.code, 0, r.stderr);
  t.ok(peakRunning(dir) > 2, `${peakRunning(dir)} jobs ran at once`);
});

for (const value of ['-1', '1.5', 'many', ''])
  t.test(`--maxJobs '${value}' is refused naming the flag (exit 2), before anything runs`, async (t) => {
    const dir = scratchDir(t);
    const r = await runTree(dir, '--maxJobs', value);
    t.equal(r.code, 2, r.stderr);
    t.match(r.stderr, `toil: --maxJobs ${value}: expected a whole number >= 0`);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

t.test(
  "--maxJobs 2 held by a host's two started services while their successor waits for a slot: the deadlock is named with the flag, the run fails at once",
  async (t) => {
    const dir = scratchDir(t);
    const started = Date.now();
    const r = await runToil(['run', SERVICES, 'file:./js', '--mode', 'basic', '--maxJobs', '2', ...POLL], {
      cwd: dir,
    });
    t.equal(r.code, 1, r.stderr);
    t.ok(Date.now() - started < 50_000, 'ended before --deadlockWait (60 s) would have');
    t.match(
      r.stderr,
      /toil: job 'use' \([0-9a-f-]+\) never ran: the workflow is service deadlocked by --maxJobs: job 'use' waits for one of the 2 job slot\(s\) \(--maxJobs 2\), all held by started service\(s\)/,
    );
    t.same(execLog(dir).slice(0, 2).sort(), ['start a', 'start b'], 'both services started');
    t.same(
      execLog(dir)
        .slice(2)
        .filter((l) => !l.startsWith('stop')),
      [],
      'their successor never ran',
    );
  },
);

t.test('--maxJobs 3 leaves a slot beside the two services: the same workflow succeeds', async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(['run', SERVICES, 'file:./js', '--mode', 'basic', '--maxJobs', '3', ...POLL], {
    cwd: dir,
  });
  t.equal(r.code, 0, r.stderr);
  t.ok(execLog(dir).includes('after'), 'the follow-on ran');
});
