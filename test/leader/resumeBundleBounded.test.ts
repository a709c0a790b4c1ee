import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { LeaderDaemon, type RunStore, type WorkflowRun } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { leaderStateStores } from '../../src/main/leaderState.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { esbuildDescendants, someoneReads, threadsWaitingOnFifo } from '../fixtures/bundleLeftovers.js';
import { fakeDaemonDeps } from '../fixtures/leaderFakes.js';
import { REPO_ROOT } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';

/**
 * A restarted daemon resumes a run whose saved module is missing by bundling its workflow file
 * again, as a submission's is: in a process of its own, given up at the bound. A file on a hung
 * mount (a FIFO nobody writes to) or one that no longer compiles fails that run, saying it could
 * not be resumed and why; nothing is left reading the hung file, and the run resumed beside them
 * completes. The bundle ran in the daemon's own process, unbounded: the run on the hung mount
 * stayed running for the daemon's life, its build waiting on the file.
 */
/** Room for the two files that answer to be bundled, three processes starting at once on a loaded machine. */
const BOUND_MS = 8_000;
/** Room past the bound for the give-up to be seen on a loaded machine. */
const FAILED_WITHIN_MS = BOUND_MS + 5_000;
/** The runs whose files answer: their bundles, and the well-behaved one's job, on a loaded machine. */
const OTHERS_END_WITHIN_MS = 60_000;
const MI = 2 ** 20;
/** How long a stop may take with nothing to wait for but a killed build. */
const STOPPED_WITHIN_MS = 5_000;
/** How long after a stop the build has to be gone (a kill and its reaping take milliseconds). */
const GONE_WITHIN_MS = 2_000;

interface Resuming {
  readonly daemon: LeaderDaemon;
  readonly runStore: RunStore;
}

/** A run the last daemon left running, with no module saved, on a file job store in `dir`. */
const leftRunning = (dir: string, id: string, workflowFile: string, args: string[] = []): WorkflowRun => ({
  id,
  submission: { workflowFile, jobStore: `file:${join(dir, id)}`, args },
  status: 'running',
  submittedAt: 0,
});

/**
 * A daemon, not yet started, over a state in `dir` that holds `runs`, bounding a bundle at
 * `bundleTimeoutMs`; its runs are the leader's runWorkflow over file job stores, their jobs run in
 * this process. `fifo` (a file on a hung mount) is let go before it stops, so a stop waiting on a
 * build reading it ends.
 */
async function resumingDaemon(
  t: Test,
  dir: string,
  runs: readonly WorkflowRun[],
  bundleTimeoutMs: number,
  fifo: string,
): Promise<Resuming> {
  const objects = new FileObjectStore(join(dir, 'state'));
  await objects.create();
  const { runStore } = leaderStateStores(objects);
  await runStore.save(runs);
  const clock = new ManualClock();
  const config = parseLeaderConfigObject(
    {
      http: { port: 0 },
      scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'] },
    },
    await readCatalogue(),
  );
  const deps = fakeDaemonDeps(clock, config);
  const daemon = new LeaderDaemon({
    ...deps,
    runStore,
    workflowFiles: { bundleTimeoutMs },
    newBatchSystem: () => ({ issuedJobIds: () => new Set<string>() }) as never,
    runWorkflow: async (submission, _bs, onProgress, signal, _id, _room, _code, bundleFile) => {
      const store = new JobStore(new FileObjectStore(submission.jobStore.slice('file:'.length)));
      const outcome = await runWorkflow({
        store,
        workflowFile: submission.workflowFile,
        args: submission.args,
        restart: await store.exists(),
        clean: 'never',
        retryCount: 0,
        defaults: { cores: 1, memory: 64 * MI, disk: MI, preemptable: false },
        batchSystem: new InProcessBatchSystem(store, dir),
        clock,
        log: deps.log,
        workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
        workDir: dir,
        onProgress,
        signal,
        ...(submission.options?.bundle ? { bundle: submission.options.bundle } : { bundleFile }),
      });
      return { status: outcome.status, jobsRun: outcome.jobsRun };
    },
  });
  t.teardown(async () => {
    someoneReads(fifo);
    await daemon.stop();
  });
  return { daemon, runStore };
}

/** A workflow file in `dir` importing a FIFO nobody writes to: its read blocks as one on a hung mount does. */
function workflowOnHungMount(dir: string): { file: string; fifo: string } {
  const fifo = join(dir, 'hung.ts');
  execFileSync('mkfifo', [fifo]);
  const file = join(dir, 'onHungMount.ts');
  writeFileSync(file, "import { value } from './hung.ts';\nexport default value;\n");
  return { file, fifo };
}

t.test(
  'a resumed run whose module is missing is bundled bounded: a hung or broken file fails that run alone, saying so',
  async (t) => {
    const dir = testDir(t);
    const hung = workflowOnHungMount(dir);
    const hungFile = hung.file;
    const brokenFile = join(dir, 'broken.ts');
    writeFileSync(brokenFile, 'export default {\n');
    const result = join(dir, 'result');
    const { daemon, runStore } = await resumingDaemon(
      t,
      dir,
      [
        leftRunning(dir, 'hung', hungFile),
        leftRunning(dir, 'broken', brokenFile),
        leftRunning(dir, 'well', join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts'), ['well', result]),
      ],
      BOUND_MS,
      hung.fifo,
    );
    const startedAt = Date.now();
    const url = await daemon.start();

    await waitFor(
      'the run on the hung mount to end',
      () => daemon.workflow('hung')?.status !== 'running',
      FAILED_WITHIN_MS,
    ).catch(() => undefined);
    const endedAfter = Date.now() - startedAt;
    await waitFor(
      'the other runs to end',
      () => ['broken', 'well'].every((id) => daemon.workflow(id)?.status !== 'running'),
      OTHERS_END_WITHIN_MS,
    ).catch(() => undefined);
    t.match(daemon.workflow('hung'), {
      status: 'failed',
      message: new RegExp(
        `^workflow hung could not be resumed: its saved module is missing, and its workflow file could not be bundled again: workflowFile ${hungFile}: bundling it, its file system or that of a file it imports did not answer within ${BOUND_MS / 1000} s`,
      ),
    });
    t.ok(
      endedAfter >= BOUND_MS && endedAfter < FAILED_WITHIN_MS,
      `the run on the hung mount failed at the bound (${endedAfter} ms)`,
    );
    t.match(daemon.workflow('broken'), {
      status: 'failed',
      userError: true,
      message: new RegExp(
        `^workflow broken could not be resumed: its saved module is missing, and its workflow file could not be bundled again: cannot bundle workflow ${brokenFile}: `,
      ),
    });
    t.match(
      daemon.workflow('well'),
      { status: 'succeeded', jobsRun: 1 },
      `the run beside them completes ${daemon.workflow('well')?.message ?? ''}`,
    );
    t.equal(readFileSync(result, 'utf8'), '42', 'its workflow finished');
    await waitFor('the build to end', () => threadsWaitingOnFifo().length === 0, GONE_WITHIN_MS).catch(
      () => undefined,
    );
    t.same(threadsWaitingOnFifo(), [], 'nothing of the daemon waits on the hung file');
    t.same(esbuildDescendants(), [], 'no esbuild process of the daemon is left');
    t.equal((await fetch(`${url}/healthz`)).status, 200, 'the daemon still answers');
    // Each end is saved as it happens, not awaited by the run.
    await waitFor('the ends to be saved', async () =>
      (await runStore.load()).every((r) => r.status !== 'running'),
    ).catch(() => undefined);
    t.match(
      (await runStore.load()).map((r) => [r.id, r.status]),
      [
        ['hung', 'failed'],
        ['broken', 'failed'],
        ['well', 'succeeded'],
      ],
      'recorded',
    );
  },
);

t.test(
  'a leader stopping while a resumed run bundles its file stops the build at once and keeps the run to resume',
  async (t) => {
    const dir = testDir(t);
    const hung = workflowOnHungMount(dir);
    const { daemon, runStore } = await resumingDaemon(
      t,
      dir,
      [leftRunning(dir, 'hung', hung.file)],
      // Far past the test: only the stop can end the build.
      600_000,
      hung.fifo,
    );
    await daemon.start();
    await waitFor('the build to wait on the hung file', () => threadsWaitingOnFifo().length > 0);
    const stoppingAt = Date.now();
    await Promise.race([daemon.stop(), new Promise((r) => setTimeout(r, STOPPED_WITHIN_MS))]);
    const stoppedAfter = Date.now() - stoppingAt;
    t.ok(stoppedAfter < STOPPED_WITHIN_MS, `the leader stopped at once (${stoppedAfter} ms)`);
    t.match(
      (await runStore.load()).map((r) => [r.id, r.status]),
      [['hung', 'running']],
      'the run is kept running, for the next leader to resume',
    );
    await waitFor('the build to end', () => threadsWaitingOnFifo().length === 0, GONE_WITHIN_MS).catch(
      () => undefined,
    );
    t.same(threadsWaitingOnFifo(), [], 'nothing of the leader waits on the hung file');
    t.same(esbuildDescendants(), [], 'no esbuild process of the leader is left');
  },
);
