import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import type { JobEvent } from '../../src/leader/workflowRunner.js';
import { capturedLog } from '../fixtures/leaderFakes.js';
import { cutOffAttempt, InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { waitFor } from '../fixtures/waitFor.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * An attempt reported lost whose worker ran on, and whose own end its batch system reports after
 * the job was issued again (a Mesos task seen again at reconciliation, a Slurm state that comes
 * late): that end is the lost attempt's, not the re-run's, so the leader ignores it. Its failure
 * spends no retry; its commit stands, read from the store once the re-run ended finding the job
 * committed.
 */
const GATED = repoPath('test/fixtures/workflowAttemptFileGated.ts');

/** Runs the gated workflow, `write`'s attempt 1 cut off, then its end reported once its go came. */
async function staleEnd(t: Test, attempt1: 'fails' | 'commits', attempt2: 'fails' | 'runs' = 'runs') {
  const dir = mkdtempSync(join(tmpdir(), 'toil-stale-end-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new JobStore(new FileObjectStore(join(dir, 'js')));
  let reportLoss!: () => void;
  const lossReported = new Promise<void>((r) => (reportLoss = r));
  const batchSystem = new InProcessBatchSystem(store, dir, {
    cutOff: cutOffAttempt('write', 1, lossReported),
    cutOffEndReported: true,
  });
  const events: JobEvent[] = [];
  const { destination, lines } = capturedLog();
  const running = runWorkflow({
    store,
    workflowFile: GATED,
    args: [dir],
    restart: false,
    clean: 'never',
    // A failure taken for the job's would end the run.
    retryCount: 0,
    defaults: { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: true },
    batchSystem,
    onJobEvent: (e) => events.push(e),
    clock: new ManualClock(),
    log: createLogger({ level: 'debug', destination }),
    workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
    workDir: dir,
  });
  const go = (attempt: number): void => writeFileSync(join(dir, `go-${attempt}`), '');
  t.teardown(async () => {
    // Whatever failed, neither attempt is left polling for its go after the test.
    go(1);
    go(2);
    await Promise.allSettled([running, ...batchSystem.cutOffRuns]);
  });
  const holds = async (text: string): Promise<boolean> => {
    for await (const o of store.objects.list('files/'))
      if ((await store.readFileBytes(o.key)).toString() === text) return true;
    return false;
  };
  // The store is made as the run starts: until then, nothing is held.
  await waitFor("attempt 1's file", () => holds('attempt 1').catch(() => false));
  reportLoss();
  await waitFor("the re-run's file", () => holds('attempt 2').catch(() => false));
  if (attempt1 === 'fails') writeFileSync(join(dir, 'fail-1'), '');
  go(1);
  // Its end has been reported once its worker is done.
  await Promise.all(batchSystem.cutOffRuns);
  if (attempt2 === 'fails') writeFileSync(join(dir, 'fail-2'), '');
  go(2);
  const out = await running;
  const of = (name: string, attempt: number): string[] =>
    events.filter((e) => e.name === name && e.attempt === attempt).map((e) => e.event);
  const ignored = (lines as unknown as Record<string, unknown>[]).filter(
    (l) => l.level === 20 && l.attempt === 1 && l.issuedAttempt === 2,
  );
  return { out, events, of, ignored, lines: lines as unknown as Record<string, unknown>[] };
}

t.test(
  "a lost attempt's failure reported while its job's re-run runs spends no retry and ends nothing",
  async (t) => {
    const { out, of, ignored } = await staleEnd(t, 'fails');
    t.match(
      out,
      { status: 'succeeded', returnValue: 'attempt 2' },
      'the re-run ran to its end and its result stands',
    );
    t.same(of('write', 1), ['issued', 'lost'], 'the lost attempt ended once, lost');
    t.same(of('write', 2), ['issued', 'completed'], 'the re-run ended with its own end');
    t.match(
      ignored,
      [{ job: 'write', outcome: 'failed', msg: /attempt 1 of job 'write'.*attempt 2 is the one issued/ }],
      'a debug line names the job, the attempt reported and the one issued',
    );
  },
);

t.test(
  "a lost attempt's success reported while its job's re-run runs does not end the re-run; its commit stands after it",
  async (t) => {
    const { out, events, of, ignored } = await staleEnd(t, 'commits');
    t.match(out, { status: 'succeeded', returnValue: 'attempt 1' }, "the lost attempt's commit stands");
    t.same(of('write', 1), ['issued', 'lost'], 'the lost attempt ended once, lost');
    t.same(
      of('write', 2),
      ['issued', 'completed'],
      'the re-run ended with its own end, finding the job committed',
    );
    const reRunEnded = events.findIndex(
      (e) => e.name === 'write' && e.attempt === 2 && e.event === 'completed',
    );
    const readIssued = events.findIndex((e) => e.name === 'read' && e.event === 'issued');
    t.ok(reRunEnded >= 0 && readIssued > reRunEnded, 'the follow-on was issued only once the re-run ended');
    t.match(ignored, [{ job: 'write', outcome: 'succeeded' }], 'a debug line says the success was ignored');
  },
);

t.test(
  'a re-run that fails after its lost attempt committed ends the job with that commit: no retry spent, the run does not fail',
  async (t) => {
    const { out, of, lines } = await staleEnd(t, 'commits', 'fails');
    t.match(
      out,
      { status: 'succeeded', returnValue: 'attempt 1' },
      "with no retry left, the lost attempt's commit still stands and its follow-on read its file",
    );
    t.same(of('write', 2), ['issued', 'failed'], 'the re-run ended failed, as it did');
    t.same(of('read', 1), ['issued', 'completed'], 'the follow-on ran once');
    t.match(
      lines.filter((l) => l.job === 'write' && l.committedAttempt === 1),
      [
        {
          level: 30,
          attempt: 2,
          msg: /attempt 2 of job 'write' failed, but attempt 1 had committed: its result stands/,
        },
      ],
      'an info line says whose commit stands',
    );
  },
);
