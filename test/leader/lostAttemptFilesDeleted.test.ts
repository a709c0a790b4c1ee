import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import type { IssuedJob } from '../../src/ports/batchSystem.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import type { JobEvent } from '../../src/leader/workflowRunner.js';
import { cutOffAttempt, InProcessBatchSystem, type LossAfterRun } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { waitFor } from '../fixtures/waitFor.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * An attempt lost with its node after it wrote its files (a spot reclaim between the job's writes
 * and its report): the leader runs the job again, and deletes what the lost attempt wrote once
 * the job commits; a lost attempt that had committed keeps its files, as its result stands, and
 * so does one that comes back and commits while the re-run runs, whose files are left to it until
 * it ended.
 */
const WORKFLOW = repoPath('test/fixtures/workflowAttemptFile.ts');
/** The same, each attempt of `write` held after its write until the test's go (see the file). */
const GATED = repoPath('test/fixtures/workflowAttemptFileGated.ts');

function newStore(t: Test): { store: JobStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'toil-lost-files-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { store: new JobStore(new FileObjectStore(join(dir, 'js'))), dir };
}

/** Loses `write`'s attempts `lost` after they ran, their commit written or not. */
function losing(lost: readonly number[], committed: boolean) {
  return (job: IssuedJob): LossAfterRun | undefined =>
    job.name === 'write' && lost.includes(job.attempt)
      ? {
          update: { jobId: job.jobId, attempt: job.attempt, outcome: 'lost', message: 'lost: spot reclaim' },
          committed,
        }
      : undefined;
}

async function run(
  store: JobStore,
  dir: string,
  o: {
    lose?: (job: IssuedJob) => LossAfterRun | undefined;
    restart?: boolean;
    preemptableRetries?: number;
    gated?: { batchSystem: InProcessBatchSystem; events: JobEvent[] };
  },
) {
  return runWorkflow({
    store,
    workflowFile: o.gated ? GATED : WORKFLOW,
    args: o.gated ? [dir] : [],
    restart: o.restart ?? false,
    clean: 'never',
    retryCount: 0,
    ...(o.preemptableRetries !== undefined ? { preemptableRetries: o.preemptableRetries } : {}),
    defaults: { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: true },
    batchSystem:
      o.gated?.batchSystem ?? new InProcessBatchSystem(store, dir, o.lose ? { loseAfterRun: o.lose } : {}),
    ...(o.gated ? { onJobEvent: (e: JobEvent) => o.gated!.events.push(e) } : {}),
    clock: new ManualClock(),
    log: silentLogger(),
    workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
    workDir: dir,
  });
}

/** What each file in the store holds (the attempt that wrote it), sorted. */
async function filesHeld(store: JobStore): Promise<string[]> {
  const held: string[] = [];
  for await (const o of store.objects.list('files/'))
    held.push((await store.readFileBytes(o.key)).toString());
  return held.sort();
}

t.test("a lost attempt's file is deleted once the job commits; the committing attempt's stays", async (t) => {
  const { store, dir } = newStore(t);
  const out = await run(store, dir, { lose: losing([1], false) });
  t.match(out, { status: 'succeeded', returnValue: 'attempt 2' }, 'the job ran again and its file was read');
  t.same(await filesHeld(store), ['attempt 2'], "only the committing attempt's file is in the store");
  t.same(await store.lostAttemptMarks(), [], "the lost attempt's mark is gone with its file");
});

t.test("a lost attempt's file left by a run that failed is deleted by its --restart", async (t) => {
  const { store, dir } = newStore(t);
  // Lost on spot with no re-runs left: the run ends failed, as a leader gone before it deleted.
  const first = await run(store, dir, { lose: losing([1, 2], false), preemptableRetries: 0 });
  t.equal(first.status, 'failed', 'the first run fails (lost too many times)');
  t.same(
    await filesHeld(store),
    ['attempt 1', 'attempt 2'],
    'the lost attempts\u2019 files stay while the job has no commit (a lost attempt may yet commit)',
  );
  t.same(
    (await store.lostAttemptMarks()).map((m) => m.attempt).sort(),
    [1, 2],
    'each lost attempt is marked in the store',
  );
  const again = await run(store, dir, { restart: true });
  t.match(again, { status: 'succeeded', returnValue: 'attempt 3' });
  t.same(await filesHeld(store), ['attempt 3'], "the restart deleted the earlier run's lost attempts' files");
  t.same(await store.lostAttemptMarks(), [], 'and their marks');
});

t.test('a lost attempt that had committed keeps its file: its result stands', async (t) => {
  const { store, dir } = newStore(t);
  const out = await run(store, dir, { lose: losing([1], true) });
  t.match(out, { status: 'succeeded', returnValue: 'attempt 1' }, 'not run again');
  t.same(await filesHeld(store), ['attempt 1'], 'its file is kept');
});

t.test(
  'a restarted leader deletes the files of a lost attempt its dead predecessor marked, the job committed since',
  async (t) => {
    const { store, dir } = newStore(t);
    t.match(await run(store, dir, {}), { status: 'succeeded', returnValue: 'attempt 1' });
    // As a leader leaves it that died after the job's commit, before it deleted the lost files.
    const jobId = (await store.readWorkflow())!.rootJobId;
    await store.writeFile(store.newFileId(undefined, { jobId, attempt: 7 }), 'attempt 7');
    await store.markLostAttempt({ jobId, attempt: 7 });
    t.same(await filesHeld(store), ['attempt 1', 'attempt 7']);
    const again = await run(store, dir, { restart: true });
    t.match(again, { status: 'succeeded', returnValue: 'attempt 1' }, 'nothing ran again');
    t.same(await filesHeld(store), ['attempt 1'], "the lost attempt's file is gone, the commit's kept");
    t.same(await store.lostAttemptMarks(), [], 'and its mark');
  },
);

t.test(
  'a re-run whose lost attempt came back and committed first keeps its file while it runs; it goes once the re-run ended',
  async (t) => {
    const { store, dir } = newStore(t);
    let reportLoss!: () => void;
    const lossReported = new Promise<void>((r) => (reportLoss = r));
    // Attempt 1's node is cut off from its batch system, not from the job store: reported lost, it
    // runs on and may commit; its batch system, having forgotten it, never reports its end.
    const batchSystem = new InProcessBatchSystem(store, dir, {
      cutOff: cutOffAttempt('write', 1, lossReported),
    });
    const events: JobEvent[] = [];
    const running = run(store, dir, { gated: { batchSystem, events } });
    const go = (attempt: number): void => writeFileSync(join(dir, `go-${attempt}`), '');
    // The store is made as the run starts: until then, nothing is held.
    const holds = async (text: string): Promise<boolean> =>
      (await filesHeld(store).catch((): string[] => [])).includes(text);
    t.teardown(async () => {
      // Whatever failed, neither attempt is left polling for its go after the test.
      go(1);
      go(2);
      await Promise.allSettled([running, ...batchSystem.cutOffRuns]);
    });
    await waitFor("attempt 1's file", () => holds('attempt 1'));
    reportLoss();
    await waitFor("the re-run's file", () => holds('attempt 2'));
    go(1);
    await Promise.all(batchSystem.cutOffRuns);
    const jobId = (await store.readWorkflow())!.rootJobId;
    t.match(await store.readCommit(jobId), { attempt: 1 }, 'the lost attempt came back and committed first');
    t.same(
      await filesHeld(store),
      ['attempt 1', 'attempt 2'],
      "the running re-run's file is kept beside the commit's",
    );
    go(2);
    const out = await running;
    t.match(out, { status: 'succeeded', returnValue: 'attempt 1' }, "the lost attempt's result stands");
    t.same(
      events.filter((e) => e.name === 'write' && e.attempt === 2).map((e) => e.event),
      ['issued', 'completed'],
      'the re-run read its own file back after the commit, then ended finding the job committed',
    );
    t.same(
      await filesHeld(store),
      ['attempt 1'],
      "once the re-run ended, its file is gone, the commit's kept",
    );
    t.same(await store.lostAttemptMarks(), [], "and the lost attempt's mark");
  },
);
