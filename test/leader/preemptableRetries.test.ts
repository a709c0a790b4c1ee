import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { createLogger, silentLogger, type Logger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import type { IssuedJob } from '../../src/ports/batchSystem.js';
import type { JobLostEvent } from '../../src/leader/workflowRunner.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { capturedLog } from '../fixtures/leaderFakes.js';
import { repoPath } from '../fixtures/repoRoot.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * Spot-lost jobs (the fixture's `consume` job is preemptable): re-run without spending
 * --retryCount, on spot up to --preemptableRetries times, then on on-demand.
 */
const FILES = repoPath('test/fixtures/workflowFiles.ts');

async function run(
  t: Test,
  lose: (job: IssuedJob) => boolean,
  preemptableRetries?: number,
  o: { lost?: { message: string; node: string }; log?: Logger } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-lost-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new JobStore(new FileObjectStore(join(dir, 'js')));
  const bs = new InProcessBatchSystem(store, dir, {
    interfere: (job) =>
      job.name === 'consume' && lose(job)
        ? { jobId: job.jobId, attempt: job.attempt, outcome: 'lost', ...o.lost }
        : undefined,
  });
  const events: JobLostEvent[] = [];
  const out = await runWorkflow({
    store,
    workflowFile: FILES,
    args: [],
    restart: false,
    clean: 'never',
    retryCount: 0,
    defaults: { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: false },
    ...(preemptableRetries !== undefined ? { preemptableRetries } : {}),
    onJobLost: (e) => events.push(e),
    batchSystem: bs,
    clock: new ManualClock(),
    log: o.log ?? silentLogger(),
    workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
    workDir: dir,
  });
  const consume = bs.issuedLog.filter((j) => j.name === 'consume');
  return {
    out,
    events,
    onSpot: consume.map((j) => j.requirements.preemptable),
    because: consume.map((j) => j.onDemandBecause),
  };
}

t.test(
  'a job lost on spot N times (--preemptableRetries 2) runs on on-demand and finishes; retryCount 0 untouched',
  async (t) => {
    // Every spot attempt is lost, as when the market stays above the bid.
    const { out, events, onSpot, because } = await run(t, (job) => job.requirements.preemptable, 2);
    t.equal(out.status, 'succeeded', 'the workflow completes with --retryCount 0');
    t.same(onSpot, [true, true, true, false], 'two re-runs on spot, then on-demand');
    t.same(
      because,
      [undefined, undefined, undefined, 'lost with its spot node 3 times (--preemptableRetries 2)'],
      'the on-demand attempt says why (the scaler plan shows it)',
    );
    t.same(
      events.map((e) => `${e.losses}:${e.next}`),
      ['1:spot', '2:spot', '3:moved-to-on-demand'],
    );
  },
);

t.test('the default is 3 spot re-runs', async (t) => {
  const { out, onSpot } = await run(t, (job) => job.requirements.preemptable);
  t.equal(out.status, 'succeeded');
  t.same(onSpot, [true, true, true, true, false]);
});

t.test(
  'unlimited (--enableUnlimitedPreemptibleRetries): lost 6 times, still on spot, then done',
  async (t) => {
    let n = 0;
    const { out, onSpot, events } = await run(t, () => n++ < 6, Number.POSITIVE_INFINITY);
    t.equal(out.status, 'succeeded');
    t.same(onSpot, [true, true, true, true, true, true, true], 'never moved to on-demand');
    t.equal(events.length, 6);
  },
);

t.test('a job lost on on-demand too re-runs without a retry, then counts as a failure', async (t) => {
  const { out, events } = await run(t, () => true, 0);
  t.equal(out.status, 'failed', 'lost on every node: it fails in the end');
  t.same(
    events.map((e) => e.next),
    ['moved-to-on-demand', 'failure'],
    '--preemptableRetries 0: the first loss moves it; lost on on-demand with no re-runs left: a failure',
  );
});

t.test("a lost job's warning gives the batch system's reason and node", async (t) => {
  const { destination, lines } = capturedLog();
  let first = true;
  const { out } = await run(
    t,
    () => {
      const lose = first;
      first = false;
      return lose;
    },
    undefined,
    {
      lost: { message: 'NODE_FAIL (None)', node: 'n1' },
      log: createLogger({ level: 'warn', destination }),
    },
  );
  t.equal(out.status, 'succeeded');
  t.same(
    lines.filter((l) => / lost /.test(l.msg)).map((l) => l.msg),
    ["job 'consume' lost (NODE_FAIL (None) on n1); running it again (no retry spent)"],
  );
});
