import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { execLog, POLL, SERVICES } from '../fixtures/servicesRun.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

const TREE = repoPath('test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
// Each case runs in a directory of its own and signals only the processes it started: they run
// side by side.
t.jobs = 3;

// SIGHUP is a closed terminal or a dropped ssh session: Node's default ended the run at once,
// its jobs left running and the store's lease held.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  t.test(
    `${signal} (Ctrl-C) stops a run: its jobs killed, the store let go and kept, --restart finishes it`,
    async (t) => {
      const dir = scratchDir(t);
      const log = join(dir, 'exec.log');
      const out = join(dir, 'sum.txt');
      const args = ['run', TREE, 'file:./js', '--n', '6', '--sleepMs', '2000', '--log', log, '--out', out];
      const running = startToil(args, { cwd: dir });
      await waitFor(
        'the first job to start',
        () => existsSync(log) && readFileSync(log, 'utf8').includes('start tree'),
        60_000,
      );
      const workers = readFileSync(`/proc/${running.child.pid}/task/${running.child.pid}/children`, 'utf8')
        .split(/\s+/)
        .filter((p) => p !== '')
        .map(Number);
      running.child.kill(signal);
      const stopped = await running.done;
      t.equal(stopped.code, code, stopped.stderr);
      t.match(
        stopped.stderr,
        new RegExp(
          `^toil: ${signal}: stopping the workflow and killing its [1-6] running jobs? \\(${signal} again to exit at once\\)$`,
          'm',
        ),
      );
      t.match(
        stopped.stderr,
        new RegExp(
          `^toil: workflow interrupted by ${signal}; the job store file:./js is kept: resume it with --restart$`,
          'm',
        ),
      );
      t.notMatch(stopped.stderr, /internal error/);
      // Warm workers exit as their link to the leader closes, a moment after it exits.
      await waitFor("the run's workers to exit", () => workers.every((pid) => !processAlive(pid)), 15_000);
      t.ok(
        workers.every((pid) => !processAlive(pid)),
        `no worker of the run is left (${workers.join(', ')})`,
      );
      const status = await runToil(['status', 'file:./js'], { cwd: dir });
      t.match(
        status.stdout,
        /state: +not finished and stopped: no leader holds the store/,
        'the lease was let go',
      );
      const resumed = await runToil([...args, '--restart'], { cwd: dir });
      t.equal(resumed.code, 0, resumed.stderr);
      t.equal(readFileSync(out, 'utf8').trim(), '15');
    },
  );
}

// 147 children of one core each, each running a minute and logging its start: on --maxCores 2,
// two run and the rest wait in the single machine's queue.
const WIDE = `
import { appendFileSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const leaf = defineJob<number, number>('leaf', { cores: 1, memory: '32Mi', disk: '1Mi' }, async (_job, i) => {
  appendFileSync('started.log', \`\${i}\\n\`);
  await new Promise((r) => setTimeout(r, 60_000));
  return i;
});
const wide = defineJob<number, void>('wide', { cores: 1, memory: '32Mi', disk: '1Mi' }, (job, n) => {
  for (let i = 0; i < n; i++) job.addChild(leaf, i);
});
export default defineWorkflow<void>({ start: (ctx) => ctx.root(wide, 147) });
`;

t.test(
  'Ctrl-C of a run with jobs queued behind --maxCores: its kill line counts the jobs running, and the queued apart',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'wide.ts'), WIDE);
    const started = join(dir, 'started.log');
    const run = startToil(['run', 'wide.ts', 'file:./js', '--maxCores', '2'], { cwd: dir });
    t.teardown(() => run.child.kill('SIGKILL'));
    await waitFor(
      'two leaves to start',
      () => existsSync(started) && readFileSync(started, 'utf8').split('\n').length > 2,
      60_000,
    );
    run.child.kill('SIGINT');
    const stopped = await run.done;
    t.equal(stopped.code, 130, stopped.stderr);
    t.equal(readFileSync(started, 'utf8').split('\n').length - 1, 2, 'two leaves ran, no more');
    // All 147 leaves are issued within moments (on a loaded machine, some may not be yet).
    const counts =
      /^\S+ INFO leader: run cancelled: killing its running jobs \(running=(\d+) queued=(\d+)\)$/m.exec(
        stopped.stderr,
      );
    t.ok(counts, 'the kill line counts running and queued jobs apart');
    t.equal(Number(counts?.[1]), 2, 'the two running');
    t.ok(Number(counts?.[2]) > 0 && Number(counts?.[2]) <= 145, `the rest issued, queued (${counts?.[2]})`);
  },
);

/** Whether `pid` runs (a zombie, dead but not reaped by an init that does not reap, does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

for (const [how, signal, code] of [
  ['Ctrl-C', 'SIGINT', 130],
  ['kill -9 of the leader', 'SIGKILL', null],
] as const)
  t.test(
    `${how} ends the processes a running service started with its worker (the worker's process group, as Toil's single machine kills), none left running`,
    async (t) => {
      const dir = scratchDir(t);
      const started = startToil(['run', SERVICES, 'file:./js', '--mode', 'spawns', ...POLL], { cwd: dir });
      t.teardown(() => started.child.kill('SIGKILL'));
      await waitFor('the host’s child to wait', () => execLog(dir).includes('after waits'), 60_000);
      const pid = Number(
        execLog(dir)
          .find((l) => l.startsWith('pid '))
          ?.slice('pid '.length),
      );
      t.ok(running(pid), `the service's process runs (${pid})`);
      t.teardown(() => {
        if (running(pid)) process.kill(pid, 'SIGKILL');
      });
      started.child.kill(signal);
      const stopped = await started.done;
      t.equal(stopped.code, code, stopped.stderr);
      await waitFor("the service's process to end", () => !running(pid), 5_000).catch(() => undefined);
      t.notOk(running(pid), `the service's process (${pid}) is not left running after the run`);
    },
  );
