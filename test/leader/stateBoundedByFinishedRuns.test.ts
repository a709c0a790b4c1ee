import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { failedJobSummary, LeaderDaemon, type WorkflowRun } from '../../src/leader/daemon.js';
import { MAX_RUN_MESSAGE_CHARS } from '../../src/leader/finishedRuns.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { leaderStateStores } from '../../src/main/leaderState.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { bytesUnder } from '../fixtures/dirBytes.js';
import { fakeDaemonDeps } from '../fixtures/leaderFakes.js';
import { REPO_ROOT } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * The leader's state (its job store: the run list, the runs' modules, the tick state, the plot
 * history) stays under a bound however many runs it finishes: it keeps the newest
 * `workflows.keepFinished` finished runs, each record bounded (its message capped, at most
 * MAX_FAILED_JOBS_SHOWN failed jobs with a capped log tail), and a run's module goes when it ends.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');
const KEEP = 5;
const RUNS = 40;
/** A module as large as a workflow with a few dependencies bundled in. */
const MODULE = new Uint8Array(200_000).fill(0x20);
/** The largest a run's record gets: 10 failed jobs of 20 lines of 200 characters, its message, the rest. */
const RECORD_BOUND = 10 * 20 * 201 + MAX_RUN_MESSAGE_CHARS + 4_000;
/** The documents besides the run list (tick state, plot history, lease) at this test's size. */
const OTHER_STATE = 16_000;
const BOUND = KEEP * RECORD_BOUND + OTHER_STATE;

t.test(
  `the state stays under ${BOUND} bytes over ${RUNS} failed runs with keepFinished ${KEEP}`,
  async (t) => {
    const dir = testDir(t);
    const stateDir = join(dir, 'state');
    const objects = new FileObjectStore(stateDir);
    await objects.create();
    const { runStore, historyStore, tickStore } = leaderStateStores(objects);
    const clock = new ManualClock();
    const config = parseLeaderConfigObject(
      {
        http: { port: 0 },
        workflows: { keepFinished: KEEP },
        scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'] },
      },
      await readCatalogue(),
    );
    // Every job of a run failed, each with a long log: the largest record a run leaves.
    const logLines = Array.from({ length: 50 }, (_, i) => `line ${i} ${'x'.repeat(300)}`).join('\n');
    const failures = Array.from({ length: 200 }, (_, i) => ({
      jobId: `job-${i}`,
      name: `step-${i}`,
      attempts: 3,
      reason: `step-${i} failed: exit 1\n${logLines}`,
    }));
    const daemon = new LeaderDaemon({
      ...fakeDaemonDeps(clock, config),
      runStore,
      historyStore,
      tickStore,
      workflowFiles: { bundle: async () => MODULE },
      newBatchSystem: () => ({ issuedJobIds: () => new Set<string>() }) as never,
      runWorkflow: async () => {
        await clock.advance(60_000);
        return {
          status: 'failed',
          jobsRun: failures.length,
          message: failures.map((f) => `${f.name}: ${f.reason.split('\n')[0]}`).join('; '),
          failedJobs: failures.slice(0, 10).map(failedJobSummary),
        };
      },
    });
    const url = await daemon.start();
    t.teardown(() => daemon.stop());

    const persisted = async (): Promise<WorkflowRun[]> => [...(await runStore.load())];
    let largest = 0;
    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await fetch(`${url}/workflows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          workflowFile: WORKFLOW,
          jobStore: `file:${join(dir, `js-${i}`)}`,
          args: ['well'],
        }),
      });
      t.equal(r.status, 202, `run ${i} taken`);
      const { id } = (await r.json()) as { id: string };
      ids.push(id);
      await waitFor(`run ${i} saved finished`, async () =>
        (await persisted()).some((w) => w.id === id && w.finishedAt !== undefined),
      );
      // Its module's delete is not awaited by the run's end: let it land before measuring.
      await waitFor(`run ${i}'s module deleted`, async () => (await runStore.loadModule(id)) === undefined);
      largest = Math.max(largest, bytesUnder(stateDir));
    }
    t.ok(largest <= BOUND, `the state's largest over ${RUNS} runs, ${largest} bytes, is within ${BOUND}`);
    const kept = await persisted();
    t.same(
      kept.map((w) => w.id).sort(),
      ids.slice(-KEEP).sort(),
      `the state lists the newest ${KEEP} finished runs`,
    );
    t.ok(
      kept.every((w) => (w.message?.length ?? 0) <= MAX_RUN_MESSAGE_CHARS),
      `each kept run's message is at most ${MAX_RUN_MESSAGE_CHARS} characters`,
    );
    t.match(kept.at(-1)?.message, /^step-0: step-0 failed: exit 1; step-1: .*… \(\d+ characters more\)$/);
    t.equal((await fetch(`${url}/workflows/${ids.at(-1)}`)).status, 200, 'the newest run is still shown');
    t.equal((await fetch(`${url}/workflows/${ids[0]}`)).status, 404, 'the oldest is forgotten');
  },
);
