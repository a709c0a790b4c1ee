import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import type { BatchSystem, IssuedJob, JobUpdateListener } from '../../src/ports/batchSystem.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * Toil's --maxJobs: never more than N jobs issued to the batch system and not yet ended. The tree
 * workflow (n = 8) has 8 leaves ready at once, each sleeping, on a batch system with room for all.
 */
const TREE = repoPath('test/fixtures/workflowTree.ts');

/** Counts the attempts issued and not yet ended, as the batch system sees them, and their peak. */
class IssuedCount implements BatchSystem {
  readonly name: string;
  peak = 0;
  issuedTotal = 0;
  private outstanding = 0;
  private readonly inner: InProcessBatchSystem;
  constructor(inner: InProcessBatchSystem) {
    this.inner = inner;
    this.name = inner.name;
  }
  start(listener: JobUpdateListener): Promise<void> {
    return this.inner.start((u) => {
      this.outstanding--;
      listener(u);
    });
  }
  async issue(job: IssuedJob): Promise<void> {
    this.outstanding++;
    this.issuedTotal++;
    this.peak = Math.max(this.peak, this.outstanding);
    await this.inner.issue(job);
  }
  kill = (jobId: string): Promise<void> => this.inner.kill(jobId);
  issuedJobIds = (): ReadonlySet<string> => this.inner.issuedJobIds();
  maxJobRequirements = (): undefined => undefined;
  shutdown = (): Promise<void> => this.inner.shutdown();
}

async function runTree(t: Test, maxJobs: number | undefined, extraArgs: string[] = [], sleepMs = 30) {
  const dir = testDir(t);
  const store = new JobStore(new FileObjectStore(join(dir, 'js')));
  const bs = new IssuedCount(new InProcessBatchSystem(store, dir));
  const out = await runWorkflow({
    store,
    workflowFile: TREE,
    args: [
      '--n',
      '8',
      '--sleepMs',
      String(sleepMs),
      '--out',
      join(dir, 'out'),
      '--log',
      join(dir, 'log'),
      ...extraArgs,
    ],
    restart: false,
    clean: 'never',
    retryCount: 1,
    defaults: { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: false },
    ...(maxJobs !== undefined ? { maxJobs } : {}),
    batchSystem: bs,
    clock: new ManualClock(),
    log: silentLogger(),
    workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
    workDir: dir,
  });
  return {
    out,
    bs,
    sum: readFileSync(join(dir, 'out'), 'utf8').trim(),
    log: readFileSync(join(dir, 'log'), 'utf8'),
  };
}

t.test(
  'without --maxJobs the 8 leaves are issued together (the cap below has something to cap)',
  async (t) => {
    // Each job sleeps 500 ms here: on a loaded machine, 30 ms leaves could end before the last is issued.
    const { out, bs } = await runTree(t, undefined, [], 500);
    t.equal(out.status, 'succeeded');
    t.ok(bs.peak >= 8, `peak ${bs.peak} jobs issued at once`);
  },
);

for (const n of [1, 2, 3])
  t.test(`--maxJobs ${n}: never more than ${n} issued at once, every job still runs once`, async (t) => {
    const { out, bs, sum } = await runTree(t, n);
    t.equal(out.status, 'succeeded');
    t.equal(sum, '28', 'the sum of 0..7: every leaf and add ran');
    t.equal(bs.peak, n, `the cap is reached and never passed`);
    // 8 leaves, 4 + 2 + 1 inner tree jobs and 7 adds: none lost or issued twice while held.
    t.equal(bs.issuedTotal, 22);
    if (out.status === 'succeeded') t.equal(out.jobsRun, 22);
  });

t.test(
  '--maxJobs 2 with a failing job: its retry waits for a slot like any other and the run succeeds',
  async (t) => {
    const { out, bs, log } = await runTree(t, 2, ['--fail', 'add', '--failTimes', '1']);
    t.equal(out.status, 'succeeded');
    t.equal(bs.peak, 2);
    t.equal(bs.issuedTotal, 23, 'one retry more');
    t.equal(log.split('\n').filter((l) => l.startsWith('failing add')).length, 1);
  },
);
