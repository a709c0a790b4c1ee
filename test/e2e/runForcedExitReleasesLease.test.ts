import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { waitFor } from '../fixtures/waitFor.js';
import { scratchDir, startToil, TOIL_BIN } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

// One job that says it started, then runs a minute. It leaves a process of its own (setsid, so the
// kill of the worker's group misses it) that ignores SIGTERM: the first Ctrl-C's stop then waits
// out its grace before the SIGKILL, seconds in which the run still holds the lease, so the second
// Ctrl-C lands while the first is under way whatever the machine's speed. It writes its pid, and
// ends itself after 20 s should nothing kill it.
const SLOW = `
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const LINGER =
  "process.on('SIGTERM', () => {}); require('node:fs').writeFileSync('lingering.log', String(process.pid)); setTimeout(() => {}, 20000);";
const hold = defineJob<void, void>('hold', { cores: 1, memory: '32Mi', disk: '1Mi' }, async () => {
  spawn(process.execPath, ['-e', LINGER], { detached: true, stdio: 'ignore' }).unref();
  while (!existsSync('lingering.log')) await new Promise((r) => setTimeout(r, 20));
  appendFileSync('started.log', 'hold\\n');
  await new Promise((r) => setTimeout(r, 60_000));
});
export default defineWorkflow<void>({ start: (ctx) => ctx.root(hold) });
`;

/** The lease record as the store holds it: its 99-byte header, then the JSON. */
function leaseRecord(dir: string): { generation: number; holder?: unknown; expiresAt?: number } {
  return JSON.parse(
    readFileSync(join(dir, 'js', 'objects', 'leader.json'))
      .subarray(99)
      .toString(),
  ) as {
    generation: number;
  };
}

/**
 * A pid namespace of its own is what another machine is to the lease: the pid of the leader that
 * held it proves nothing there, so only a released lease lets its commands in before it expires.
 */
const otherPidNamespace =
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;

/**
 * A second Ctrl-C exited at once keeping the job store's lease: on this machine the next leader
 * takes it over (the holder's pid is gone), but a leader or a `toil clean` on another machine
 * was refused until the lease expired, a minute later. The forced exit now gives it up too, after
 * its workers are killed, and says so. What a job started outside its worker's process group was
 * left running too, its sweep never reached: it is killed with them.
 */
t.test("a second Ctrl-C, exiting at once, releases the job store's lease and says so", async (t) => {
  const dir = scratchDir(t);
  writeFileSync(join(dir, 'slow.ts'), SLOW);
  const run = startToil(['run', 'slow.ts', 'file:./js', '--workDir', '.', '--clean', 'never'], { cwd: dir });
  t.teardown(() => run.child.kill('SIGKILL'));
  const stderr: string[] = [];
  run.child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  await waitFor('the job to start', () => existsSync(join(dir, 'started.log')), 60_000);
  t.ok(leaseRecord(dir).holder, 'the running leader holds the lease');
  run.child.kill('SIGINT');
  // After the first is handled: two signals sent at once may reach it as one.
  await waitFor(
    'the first SIGINT to be said',
    () => stderr.join('').includes('again to exit at once'),
    30_000,
  );
  const signalled = Date.now();
  run.child.kill('SIGINT');
  const stopped = await run.done;
  const ms = Date.now() - signalled;
  t.equal(stopped.code, 130, stopped.stderr);
  t.ok(ms < 5_000, `it exited ${ms} ms after the second SIGINT`);
  t.match(
    stopped.stderr,
    /^toil: SIGINT again: exiting at once(?:, its 1 worker and|,) 1 process its jobs left killed, its scratch removed, the job store's lease released$/m,
    'the exit line says the lease was released, and that the process the job left was killed',
  );
  const stray = Number(readFileSync(join(dir, 'lingering.log'), 'utf8'));
  t.notOk(processAlive(stray), `the process the job left (pid ${stray}), which ignores SIGTERM, is gone`);
  const record = leaseRecord(dir);
  t.equal(record.holder, undefined, 'the store names no leader');
  t.equal(record.expiresAt, undefined, 'and no expiry to wait for');
  t.equal(record.generation, 0, 'the generation the next leader follows is kept');
  if (!otherPidNamespace) {
    t.comment('no pid namespace of its own to be made here (unshare needs root): checked the record alone');
    return;
  }
  // From "another machine", well before the lease would have expired: deleted at once.
  const clean = await promisify(execFile)(
    'unshare',
    ['--pid', '--fork', '--mount-proc', process.execPath, TOIL_BIN, 'clean', 'file:./js'],
    { cwd: dir },
  ).catch((e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }));
  t.equal('code' in clean ? clean.code : 0, 0, `toil clean from another pid namespace: ${clean.stderr}`);
  t.notOk(existsSync(join(dir, 'js')), 'the store is deleted');
});
