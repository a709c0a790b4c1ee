import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { waitFor } from '../fixtures/waitFor.js';
import { scratchDir, startToil } from '../fixtures/workflowCli.js';

/**
 * A single_machine run stopped (Ctrl-C, `toil kill`) SIGKILLed its workers' process groups at once,
 * so a worker never deleted the files its attempt had written: the kept store held them, billed on
 * S3, until a --restart committed the job or the store was cleaned. Its workers now get SIGTERM
 * and a grace to delete them, as on Mesos and Slurm.
 */
const WORKFLOW = repoPath('test/fixtures/workflowWritesThenWaits.ts');

t.setTimeout(180_000);
t.jobs = 2;

async function keysUnder(store: JobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.objects.list(prefix)) keys.push(o.key);
  return keys;
}

for (const [how, flags] of [
  ['a warm worker', []],
  ['a fresh worker (--freshWorkers)', ['--freshWorkers']],
] as const)
  t.test(
    `Ctrl-C of a single_machine run whose job wrote files (on ${how}): the store kept holds none of them, and the run ends within seconds`,
    async (t) => {
      const dir = scratchDir(t);
      const store = new JobStore(new FileObjectStore(join(dir, 'js')));
      const run = startToil(['run', WORKFLOW, 'file:./js', '--clean', 'never', ...flags], { cwd: dir });
      t.teardown(() => void run.child.kill('SIGKILL'));
      await waitFor(
        "the run's job to write its files",
        // The store is made by the run: none yet at first.
        async () => (await keysUnder(store, 'files/').catch(() => [])).length === 2,
        60_000,
      );
      const signalled = Date.now();
      run.child.kill('SIGINT');
      const stopped = await run.done;
      const took = Date.now() - signalled;
      t.equal(stopped.code, 130, stopped.stderr);
      t.match(
        stopped.stderr,
        /^toil: workflow interrupted by SIGINT; the job store file:\.\/js is kept: resume it with --restart$/m,
      );
      t.same(await keysUnder(store, 'files/'), [], 'no file of the killed attempt is left in the store');
      // The worker's grace to end its job's processes and delete the files, and no more.
      t.ok(took < 8_000, `the run ended ${took} ms after Ctrl-C`);
    },
  );
