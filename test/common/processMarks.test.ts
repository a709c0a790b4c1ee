import { spawn, type ChildProcess } from 'node:child_process';
import fs, { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import {
  PROCESS_MARKS_ENV,
  endMarkedProcesses,
  killMarkedProcesses,
  lastPid,
  markedProcesses,
  newProcessMark,
  withProcessMark,
} from '../../src/common/processMarks.js';
import { processAlive } from '../../src/common/processIdentity.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * The marks that find what a job left running out of its process group: a process carrying a
 * mark (alone, or among an enclosing scope's) is found and ended, one deaf to SIGTERM by SIGKILL
 * after the grace; processes of another mark, or whose environment was scrubbed, are left alone.
 */

/** A detached `sleep 300` (deaf to SIGTERM when `deaf`), with `env`, ended by the test's teardown. */
async function detached(
  t: { teardown(fn: () => void): void },
  env: NodeJS.ProcessEnv,
  deaf = false,
): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', deaf ? 'trap "" TERM; sleep 300' : 'exec sleep 300'], {
    detached: true,
    stdio: 'ignore',
    env,
  });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Gone.
    }
  });
  await new Promise((r) => child.once('spawn', r));
  return child;
}

/** Resolves when `c` has exited; fails after 10 s instead of hanging the file until tap's timeout. */
const exited = (c: ChildProcess): Promise<unknown> =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`process ${c.pid} did not exit within 10 s`)),
          10_000,
        );
        c.once('exit', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });

t.test('withProcessMark adds a mark to those the environment carries', async (t) => {
  t.same(withProcessMark({ A: '1' }, 'm1'), { A: '1', [PROCESS_MARKS_ENV]: 'm1' });
  t.same(withProcessMark({ [PROCESS_MARKS_ENV]: 'outer' }, 'm2'), { [PROCESS_MARKS_ENV]: 'outer:m2' });
  t.not(newProcessMark(), newProcessMark(), 'every mark is new');
});

t.test('a sweep ends the processes of its mark only, SIGKILL for one deaf to SIGTERM', async (t) => {
  const mark = newProcessMark();
  const other = newProcessMark();
  const polite = await detached(t, withProcessMark(process.env, mark));
  const deaf = await detached(t, withProcessMark(process.env, mark), true);
  const nested = await detached(t, withProcessMark(withProcessMark(process.env, mark), other));
  const stranger = await detached(t, withProcessMark(process.env, other));
  const scrubbed = await detached(t, { PATH: process.env.PATH });
  // The deaf one's sh runs sleep as its child: both carry the mark.
  await new Promise((r) => setTimeout(r, 200));
  const found = markedProcesses(mark)!;
  t.ok(found.includes(polite.pid!) && found.includes(deaf.pid!) && found.includes(nested.pid!));
  t.equal(found.length, 4, `the three started with the mark and the deaf one's sleep (${found.join(' ')})`);

  const started = Date.now();
  const swept = await endMarkedProcesses(mark, { clock: new RealClock(), graceMs: 500 });
  const took = Date.now() - started;
  t.same(
    swept,
    { found: 4, killed: 2, supported: true },
    'all four found; only the deaf sh and its sleep (which inherits the ignored SIGTERM) needed SIGKILL',
  );
  t.ok(took >= 500 && took < 3000, `the deaf one got the grace, no more (${took} ms)`);
  await Promise.all([exited(polite), exited(deaf), exited(nested)]);
  t.equal(polite.signalCode, 'SIGTERM');
  t.equal(deaf.signalCode, 'SIGKILL');
  t.equal(nested.signalCode, 'SIGTERM', 'a process of an inner scope goes with the outer one');
  t.ok(processAlive(stranger.pid!), "another mark's process is left alone");
  t.ok(processAlive(scrubbed.pid!), 'a process whose environment was scrubbed is not found');
  // The deaf sh's sleep, SIGKILLed with it, may read as marked for a moment while it dies.
  await waitFor('nothing carries the mark any more', () => markedProcesses(mark)?.length === 0, 2000, 20);
  t.same(markedProcesses(mark), [], 'nothing carries the mark any more');
});

t.test('a sweep of a mark nothing carries finds nothing and waits for nothing', async (t) => {
  const started = Date.now();
  const swept = await endMarkedProcesses(newProcessMark(), { clock: new RealClock(), graceMs: 60_000 });
  t.same(swept, { found: 0, killed: 0, supported: true });
  t.ok(Date.now() - started < 1000);
});

t.test('killMarkedProcesses is SIGKILL at once (a machine that dies)', async (t) => {
  const mark = newProcessMark();
  const p = await detached(t, withProcessMark(process.env, mark));
  const swept = killMarkedProcesses(mark);
  t.same(swept, { found: 1, killed: 1, supported: true, pids: [p.pid] }, 'it names the pid it killed');
  await exited(p);
  t.equal(p.signalCode, 'SIGKILL');
});

/**
 * Runs `f` counting the passes over /proc (reads of the directory) and the reads of each
 * environment file, the real reads made all the same.
 */
function countingProcReads<T>(f: () => T): { result: T; passes: number; environReads: Map<string, number> } {
  const { readdirSync: realReaddir, readFileSync: realRead } = fs;
  let passes = 0;
  const environReads = new Map<string, number>();
  fs.readdirSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    if (path === '/proc') passes++;
    return (realReaddir as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readdirSync;
  fs.readFileSync = ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (typeof path === 'string' && path.endsWith('/environ')) {
      environReads.set(path, (environReads.get(path) ?? 0) + 1);
    }
    return (realRead as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  // The module under test imported them by name: its bindings follow only once synced.
  syncBuiltinESMExports();
  try {
    return { result: f(), passes, environReads };
  } finally {
    fs.readdirSync = realReaddir;
    fs.readFileSync = realRead;
    syncBuiltinESMExports();
  }
}

t.test(
  'killMarkedProcesses kills the processes of several marks in one pass over /proc, and no other',
  async (t) => {
    const first = newProcessMark();
    const second = newProcessMark();
    const a = await detached(t, withProcessMark(process.env, first));
    const b = await detached(t, withProcessMark(process.env, second));
    const unmarked = await detached(t, process.env);
    await waitFor('the three have their images', () => [a, b, unmarked].every((p) => runsSleep(p.pid!)));

    const counted = countingProcReads(() => killMarkedProcesses(new Set([first, second])));
    t.same(
      { ...counted.result, pids: [...counted.result.pids].sort() },
      { found: 2, killed: 2, supported: true, pids: [a.pid!, b.pid!].sort() },
      'one call finds and kills the process of each mark',
    );
    await Promise.all([exited(a), exited(b)]);
    t.equal(a.signalCode, 'SIGKILL');
    t.equal(b.signalCode, 'SIGKILL');
    t.ok(processAlive(unmarked.pid!), 'the unmarked process lives');
    t.equal(counted.passes, 2, 'two passes for both marks: one that kills, one that finds nothing new');
    t.equal(
      counted.environReads.get(`/proc/${unmarked.pid}/environ`),
      2,
      "the unmarked process's environment is read once a pass, not once a mark",
    );

    const none = countingProcReads(() =>
      killMarkedProcesses([newProcessMark(), newProcessMark(), newProcessMark()]),
    );
    t.same(none.result, { found: 0, killed: 0, supported: true, pids: [] });
    t.equal(none.passes, 1, 'three marks nothing carries: one pass');
    t.equal(none.environReads.get(`/proc/${unmarked.pid}/environ`), 1, 'each environment read once');
  },
);

/**
 * Whether `pid` runs sleep, its image laid out: a sweep reads its environment whole, not as one
 * caught in exec (which it would read again).
 */
function runsSleep(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('sleep');
  } catch {
    return false;
  }
}

t.test('a process caught in exec as the sweep looks is found all the same', async (t) => {
  // From the moment execve drops the old image until the kernel has laid out the new one's, the
  // environment reads empty, and a read begun before the drop stops short (the mark is appended
  // last). The spawn event comes inside that window and sh's own exec of sleep opens it again:
  // taking the first read for the answer missed about one sweep in fifty, more under a large
  // environment such as tap's.
  const tries = 150;
  const missed: string[] = [];
  for (let i = 0; i < tries; i++) {
    const mark = newProcessMark();
    const p = await detached(t, withProcessMark(process.env, mark));
    const swept = killMarkedProcesses(mark);
    if (swept.found !== 1 || swept.killed !== 1) missed.push(JSON.stringify(swept));
    else await exited(p);
  }
  t.same(missed, [], `every one of ${tries} processes swept the moment it was spawned was found and killed`);
});

t.test(
  'a process whose environment is empty (env -i) is read as not marked, not as one caught in exec',
  async (t) => {
    const p = await detached(t, {});
    await waitFor('env -i sleep has its image', () => runsSleep(p.pid!));
    t.same(markedProcesses(newProcessMark(), p.pid! - 1), []);
    t.ok(processAlive(p.pid!), 'left alone');
  },
);

t.test('with bornAfter, only the processes born since that pid are looked at', async (t) => {
  const mark = newProcessMark();
  const before = await detached(t, withProcessMark(process.env, mark));
  const after = lastPid();
  t.ok(after !== undefined && after >= 1, `the last pid given out is read (${after})`);
  const since = await detached(t, withProcessMark(process.env, mark));
  t.same(markedProcesses(mark)!.sort(), [before.pid!, since.pid!].sort(), 'every marked process, read whole');
  t.same(markedProcesses(mark, after), [since.pid!], 'only the one born since, with the window');
});
