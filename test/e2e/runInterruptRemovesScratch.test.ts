import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { waitFor } from '../fixtures/waitFor.js';
import { scratchDir, startToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
t.jobs = 2;

// Four jobs that each write a file in their scratch directory (job.tempDir), say so, and run a
// minute: on --maxCores 2, two run while the run is interrupted, two wait in the queue. Each
// leaves a process of its own (setsid, so the kill of its worker's group misses it) that ignores
// SIGTERM: the first Ctrl-C's stop waits out its grace before the SIGKILL, so a second Ctrl-C
// lands while the first is under way, however fast the machine.
const SLOW = `
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob, defineWorkflow } from 'toil-ts';
const linger = (i) =>
  \`process.on('SIGTERM', () => {}); require('node:fs').writeFileSync('lingering-\${i}.log', 'up'); setTimeout(() => {}, 20000);\`;
const leaf = defineJob<number, number>('leaf', { cores: 1, memory: '32Mi', disk: '1Mi' }, async (job, i) => {
  spawn(process.execPath, ['-e', linger(i)], { detached: true, stdio: 'ignore' }).unref();
  while (!existsSync(\`lingering-\${i}.log\`)) await new Promise((r) => setTimeout(r, 20));
  writeFileSync(join(job.tempDir, 'part'), 'x'.repeat(4096));
  appendFileSync('started.log', \`\${i}\\n\`);
  await new Promise((r) => setTimeout(r, 60_000));
  return i;
});
const wide = defineJob<number, void>('wide', { cores: 1, memory: '32Mi', disk: '1Mi' }, (job, n) => {
  for (let i = 0; i < n; i++) job.addChild(leaf, i);
});
export default defineWorkflow<void>({ start: (ctx) => ctx.root(wide, 4) });
`;

/** Every path under `dir`, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/**
 * A killed worker cannot remove its job's scratch directory: the first Ctrl-C kills the run's
 * workers and left their jobs' directories under --workDir (toil-ts-jobs/toil-job-*, the file
 * each job wrote in them included), and a second one, exiting at once, left the leader's scratch
 * and cached module too. Each stop now leaves the work directory as the run found it, empty.
 */
for (const signals of [1, 2]) {
  t.test(
    `${signals === 1 ? 'Ctrl-C' : 'A second Ctrl-C, exiting at once,'} leaves none of the run's scratch under --workDir`,
    async (t) => {
      const dir = scratchDir(t);
      const work = join(dir, 'wd');
      mkdirSync(work);
      writeFileSync(join(dir, 'slow.ts'), SLOW);
      const started = join(dir, 'started.log');
      const run = startToil(['run', 'slow.ts', 'file:./js', '--workDir', 'wd', '--maxCores', '2'], {
        cwd: dir,
      });
      t.teardown(() => run.child.kill('SIGKILL'));
      const stderr: string[] = [];
      run.child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
      await waitFor(
        'two jobs to write in their scratch',
        () => existsSync(started) && readFileSync(started, 'utf8').split('\n').length > 2,
        60_000,
      );
      const jobDirs = tree(work).filter((p) => /^toil-ts-jobs\/toil-job-[^/]+$/.test(p));
      t.equal(jobDirs.length, 2, `the two running jobs' scratch directories: ${tree(work).join(', ')}`);
      t.ok(
        tree(work).some((p) => p.startsWith('toil-ts-bundle-')),
        "the leader's own scratch is there while it runs",
      );
      const pid = run.child.pid!;
      const workers = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .split(/\s+/)
        .filter((p) => p !== '')
        .map(Number);
      run.child.kill('SIGINT');
      if (signals === 2) {
        // After the first is handled: two signals sent at once may reach it as one.
        await waitFor(
          'the first SIGINT to be said',
          () => stderr.join('').includes('again to exit at once'),
          30_000,
        );
        run.child.kill('SIGINT');
      }
      const stopped = await run.done;
      t.equal(stopped.code, 130, stopped.stderr);
      if (signals === 2)
        t.match(
          stopped.stderr,
          /^toil: SIGINT again: exiting at once(?:, its \d+ workers? and|,) 2 processes its jobs left killed, its scratch removed, the job store's lease released$/m,
          'the exit line says the scratch was removed',
        );
      else t.notMatch(stopped.stderr, /SIGINT again: exiting/, 'one SIGINT: no forced exit');
      // A warm worker with no job exits as its link to the leader closes, a moment after it exits.
      await waitFor("the run's workers to exit", () => workers.every((w) => !processAlive(w)), 15_000);
      t.ok(
        workers.every((w) => !processAlive(w)),
        `no worker of the run is left (${workers.join(', ')})`,
      );
      t.same(tree(work), [], 'the work directory is left as the run found it: empty');
    },
  );
}
