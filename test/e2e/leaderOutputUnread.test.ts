import { appendFileSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { embeddedLeaderConfig, sleep, startToilProcess } from '../fixtures/leaderE2e.js';
import { fillPipe, toilOnFifo, type ToilOnFifo } from '../fixtures/outputFifo.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil leader` with its stdout and stderr on a pipe whose reader stopped reading, or is gone (a
 * test process killed while the daemon it started ran on): SIGTERM still stops it within its
 * usual shutdown time, with its state committed (a leader started next on that state takes it at
 * once), and a broken pipe does not stop it before that. The pipe is a FIFO this test holds both
 * ends of, so it can fill it at once, as hours of unread log lines would.
 */
t.setTimeout(120_000);

interface LeaderOnFifo extends ToilOnFifo {
  readonly base: string;
}

async function leaderOnFifo(t: Test, dir: string): Promise<LeaderOnFifo> {
  const cfgPath = join(dir, 'leader.yaml');
  writeFileSync(cfgPath, embeddedLeaderConfig(dir));
  const banner = /status at (http:\/\/[0-9.:]+)\/status/;
  const leader = await toilOnFifo(t, dir, ['leader', '--config', cfgPath], banner);
  return { ...leader, base: banner.exec(leader.output)![1]! };
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
    const dir = testDir(t, {});
    const leader = await leaderOnFifo(t, dir);
    fillPipe(leader.fillFd);
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
  const dir = testDir(t, {});
  const leader = await leaderOnFifo(t, dir);
  fillPipe(leader.fillFd);
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
