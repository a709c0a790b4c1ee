import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, constants, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { embeddedLeaderConfig, sleep, startToilProcess } from '../fixtures/leaderE2e.js';
import { TOIL_BIN } from '../fixtures/workflowCli.js';

/**
 * `toil leader` with its stdout and stderr on a pipe whose reader stopped reading, or is gone (a
 * test process killed while the daemon it started ran on): SIGTERM still stops it within its
 * usual shutdown time, with its state committed (a leader started next on that state takes it at
 * once), and a broken pipe does not stop it before that. The pipe is a FIFO this test holds both
 * ends of, so it can fill it at once, as hours of unread log lines would.
 */
t.setTimeout(120_000);

interface LeaderOnFifo {
  readonly child: ChildProcess;
  readonly base: string;
  readonly readFd: number;
  readonly fillFd: number;
  exited(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined>;
}

async function leaderOnFifo(t: Test, dir: string): Promise<LeaderOnFifo> {
  const cfgPath = join(dir, 'leader.yaml');
  writeFileSync(cfgPath, embeddedLeaderConfig(dir));
  const fifo = join(dir, 'output.fifo');
  execFileSync('mkfifo', [fifo]);
  // The reader first (non-blocking: no writer yet), then a writer of the test's own to fill it.
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const fillFd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', TOIL_BIN, 'leader', '--config', cfgPath],
    {
      cwd: dir,
      stdio: ['ignore', fillFd, fillFd],
    },
  );
  t.teardown(() => void child.kill('SIGKILL'));
  let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.on('exit', (code, signal) => (ended = { code, signal }));
  let out = '';
  const buf = Buffer.alloc(65536);
  for (let i = 0; i < 600 && !/status at (http:\/\/[0-9.:]+)\/status/.test(out); i++) {
    try {
      const n = readSync(readFd, buf);
      out += buf.subarray(0, n).toString();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      if (ended) break;
      await sleep(100);
    }
  }
  const base = /status at (http:\/\/[0-9.:]+)\/status/.exec(out)?.[1];
  if (!base) throw new Error(`no banner from toil leader:\n${out.slice(-2000)}`);
  return {
    child,
    base,
    readFd,
    fillFd,
    async exited(ms) {
      for (let waited = 0; !ended && waited < ms; waited += 100) await sleep(100);
      return ended;
    },
  };
}

/** Fills the pipe to the brim, as a reader that stopped reading leaves it. */
function fill(fd: number): void {
  const chunk = Buffer.alloc(4096, 'x');
  for (;;) {
    try {
      writeSync(fd, chunk);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return;
      throw e;
    }
  }
}

/** A leader started next on the same state starts (the lease was let go), and is stopped. */
async function stateTakenOver(t: Test, dir: string): Promise<void> {
  const next = startToilProcess(['leader', '--config', join(dir, 'leader.yaml')], { cwd: dir });
  t.teardown(() => void next.child.kill('SIGKILL'));
  await next.waitFor(/status at http/, 60_000);
  next.child.kill('SIGTERM');
  t.equal((await next.done).code, 0, 'the next leader on that state started and stopped');
  t.notMatch(next.output(), /in use by/, 'the state was let go, not left leased');
}

t.test(
  'a toil leader whose output nobody reads any more stops on SIGTERM, its state committed',
  async (t) => {
    const dir = t.testdir({});
    const leader = await leaderOnFifo(t, dir);
    fill(leader.fillFd);
    t.equal((await fetch(`${leader.base}/healthz`)).status, 200, 'serving, its output pipe full');
    leader.child.kill('SIGTERM');
    const ended = await leader.exited(20_000);
    t.same(
      ended,
      { code: 0, signal: null },
      'exited 0 on SIGTERM within 20 s, though its last lines were not read',
    );
    closeSync(leader.readFd);
    closeSync(leader.fillFd);
    await stateTakenOver(t, dir);
  },
);

t.test('a toil leader whose output reader is gone goes on, and stops on SIGTERM', async (t) => {
  const dir = t.testdir({});
  const leader = await leaderOnFifo(t, dir);
  fill(leader.fillFd);
  closeSync(leader.readFd);
  closeSync(leader.fillFd);
  // Its next lines meet a broken pipe (EPIPE): a reload of a changed config is logged.
  appendFileSync(join(dir, 'leader.yaml'), '# changed\n');
  leader.child.kill('SIGHUP');
  await sleep(1500);
  t.equal(leader.child.exitCode, null, 'still running after writing to a broken pipe');
  t.equal((await fetch(`${leader.base}/healthz`)).status, 200, 'and serving');
  leader.child.kill('SIGTERM');
  const ended = await leader.exited(20_000);
  t.same(ended, { code: 0, signal: null }, 'exited 0 on SIGTERM within 20 s');
  await stateTakenOver(t, dir);
});
