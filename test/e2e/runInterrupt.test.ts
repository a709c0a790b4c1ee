import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

const TREE = repoPath('test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
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
        new RegExp(`^toil: ${signal}: stopping the workflow and killing its running jobs`, 'm'),
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
