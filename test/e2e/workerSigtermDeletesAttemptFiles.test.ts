import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import type { WarmRunRequest } from '../../src/workflow/warmWorker.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { waitFor } from '../fixtures/waitFor.js';
import { scratchDir, startToil, startWarmWorker } from '../fixtures/workflowCli.js';

/**
 * A worker its batch system stops mid-job with SIGTERM (a Mesos task kill, `scancel`, a Slurm time
 * limit) commits nothing, yet it left the files its attempt had written in the job store, for a
 * leader to delete only once another attempt of the job committed: for a run given up, never. It
 * now deletes them before it dies of the signal, as a failed attempt does: its own attempt's, no
 * other's, and the store's folders for them with them.
 */
const WORKFLOW = repoPath('test/fixtures/workflowWritesThenWaits.ts');

// A run stopped and two workers started, on a busy two-core machine.
t.setTimeout(240_000);

async function keysUnder(store: JobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.objects.list(prefix)) keys.push(o.key);
  return keys;
}

t.test(
  "a worker stopped by SIGTERM mid-job deletes the files its attempt wrote, one-shot or warm, and no other attempt's",
  async (t) => {
    const dir = scratchDir(t);
    const store = new JobStore(new FileObjectStore(join(dir, 'js')));

    // A kept store whose job has its ticket: a run stopped while the job waited.
    const run = startToil(['run', WORKFLOW, 'file:./js'], { cwd: dir });
    t.teardown(() => {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    });
    let jobId = '';
    await waitFor(
      "the run's job to write its files",
      async () => {
        jobId ||= (await store.readWorkflow().catch(() => undefined))?.rootJobId ?? '';
        return jobId !== '' && (await keysUnder(store, `files/${jobId}/1/`)).length === 2;
      },
      60_000,
    );
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    t.not(stopped.code, 0, `the stopped run does not succeed (${stopped.stderr.slice(-600)})`);

    // Another attempt's file, which no worker of attempt 7 or 8 may touch.
    const other = store.newFileId(undefined, { jobId, attempt: 5 });
    await store.writeFile(other, 'attempt 5');
    const attemptFolder = (attempt: number): string =>
      join(dir, 'js', 'objects', 'files%', `${jobId}%`, `${attempt}%`);

    // As on a cluster's node: `toil worker`, which its batch system stops with SIGTERM.
    const worker = startToil(['worker', 'file:./js', jobId, '--attempt', '7'], { cwd: dir });
    t.teardown(() => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    });
    await waitFor(
      'the one-shot worker to write its files',
      async () => (await keysUnder(store, `files/${jobId}/7/`)).length === 2,
      60_000,
    );
    worker.child.kill('SIGTERM');
    const w = await worker.done;
    t.equal(w.signal, 'SIGTERM', `the one-shot worker dies of the SIGTERM, as before (${w.stderr})`);
    t.same(await keysUnder(store, `files/${jobId}/7/`), [], 'one-shot: the files its attempt wrote are gone');
    t.equal(existsSync(attemptFolder(7)), false, "one-shot: and its attempt's folder with them");

    // A warm worker (`toil worker --serve`), stopped the same way with its leader's batch system.
    const { child: warm, ended: warmEnded, stderr: warmStderr } = startWarmWorker(t, dir);
    warm.send({ type: 'run', locator: 'file:./js', jobId, attempt: 8 } satisfies WarmRunRequest);
    await waitFor(
      'the warm worker to write its files',
      async () => (await keysUnder(store, `files/${jobId}/8/`)).length === 2,
      60_000,
    );
    warm.kill('SIGTERM');
    t.equal(await warmEnded, 'SIGTERM', `the warm worker dies of the SIGTERM, as before (${warmStderr()})`);
    t.same(await keysUnder(store, `files/${jobId}/8/`), [], 'warm: the files its attempt wrote are gone');
    t.equal(existsSync(attemptFolder(8)), false, "warm: and its attempt's folder with them");

    t.equal(
      (await store.readFileBytes(other)).toString(),
      'attempt 5',
      "another attempt's file is left as it was",
    );
    t.equal(await store.readCommit(jobId), undefined, 'and neither worker committed');
  },
);
