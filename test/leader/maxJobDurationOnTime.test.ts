import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import type {
  BatchSystem,
  IssuedJob,
  JobUpdateListener,
  RunningJobView,
} from '../../src/ports/batchSystem.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { awaitAdvancing } from '../fixtures/workflowInProcess.js';

/** Its one job, `spinner`, loops for ever: here it only ever "runs" in the batch system below. */
const WORKFLOW = repoPath('test/fixtures/workflowMisbehaves.ts');
const LIMIT_MS = 1_000;
/** How long an attempt waits in the queue before it starts: off the leader's tick by that much. */
const QUEUED_MS = 300;
const STEP_MS = 10;

/**
 * A batch system whose attempts start QUEUED_MS (leader's clock) after they are issued and run
 * until killed; it records when each started and when the leader killed it.
 */
class NeverEnding implements BatchSystem {
  readonly name = 'never_ending';
  readonly attempts: { job: IssuedJob; startedAt: number; killedAt?: number }[] = [];
  private listener: JobUpdateListener = () => {};
  private readonly issued = new Set<string>();
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  start = async (l: JobUpdateListener): Promise<void> => void (this.listener = l);
  async issue(job: IssuedJob): Promise<void> {
    this.issued.add(job.jobId);
    this.attempts.push({ job, startedAt: this.clock.now() + QUEUED_MS });
  }
  async kill(jobId: string): Promise<void> {
    const a = this.attempts.find((x) => x.job.jobId === jobId && x.killedAt === undefined);
    if (!a) return;
    a.killedAt = this.clock.now();
    this.issued.delete(jobId);
    this.listener({ jobId, attempt: a.job.attempt, outcome: 'killed' });
  }
  runningJobs(): readonly RunningJobView[] {
    return this.attempts
      .filter((a) => a.killedAt === undefined && a.startedAt <= this.clock.now())
      .map((a) => ({
        jobId: a.job.jobId,
        attempt: a.job.attempt,
        batchJobId: `${a.job.jobId}.${a.job.attempt}`,
        startedAt: a.startedAt,
      }));
  }
  issuedJobIds = (): ReadonlySet<string> => this.issued;
  maxJobRequirements = (): undefined => undefined;
  shutdown = async (): Promise<void> => {};
}

t.test(
  '--maxJobDuration kills an attempt when it reaches the limit, not at the next tick of the check after it',
  async (t) => {
    const dir = testDir(t);
    const store = new JobStore(new FileObjectStore(join(dir, 'js')));
    const clock = new ManualClock();
    const bs = new NeverEnding(clock);
    const outcome = runWorkflow({
      store,
      workflowFile: WORKFLOW,
      args: ['job-spins'],
      restart: false,
      clean: 'never',
      retryCount: 1,
      defaults: { cores: 1, memory: 2 ** 26, disk: 2 ** 20, preemptable: false },
      maxJobDurationMs: LIMIT_MS,
      batchSystem: bs,
      clock,
      log: silentLogger(),
      workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
      workDir: dir,
    });
    const out = await awaitAdvancing(clock, outcome, STEP_MS);
    t.equal(out.status, 'failed');
    t.equal(bs.attempts.length, 2, 'the first attempt was retried once');
    for (const [i, a] of bs.attempts.entries()) {
      const ranMs = (a.killedAt ?? Infinity) - a.startedAt;
      t.ok(
        ranMs > LIMIT_MS && ranMs <= LIMIT_MS + STEP_MS,
        `attempt ${i + 1} was killed once it passed the limit, within a clock step (it ran ${ranMs} ms)`,
      );
    }
    if (out.status === 'failed')
      t.match(
        out.failures.map((f) => f.reason),
        [/^job 'spinner' ran longer than --maxJobDuration 1 s \(for 1\.0 s\) and was killed$/],
        'the reason gives the time it ran, at the limit',
      );
  },
);
