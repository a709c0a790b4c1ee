/**
 * The workflow engine's figures (`npm run bench -- engine [--jobs N] [--s3Jobs N]`):
 *
 * 1. `fanout_file_jobs_per_s`: a fan-out of trivial jobs (examples/fanout.ts, default 10,000) run by
 *    the real leader with the real single_machine batch system (warm worker processes) on a
 *    file: job store in a temp directory. Goal: >= 200 jobs/s on a 2-core machine.
 * 2. `s3_requests_per_job`: the S3 requests one more job costs on moto_server, as the marginal
 *    difference between two fan-outs (so the per-workflow costs cancel). Every request of the
 *    leader and of the workers is counted through the S3 client's `onRequest` hook; to count the
 *    workers' requests they run in this process (the same `runWorkerJob` a worker process runs).
 *    A warm worker gets its ticket with the attempt and sends its commit back once stored, and
 *    this in-process stand-in does the same, so the figure is what a `single_machine` run pays.
 *    Goal: <= 2 (the ticket PUT and the commit PUT).
 * 3. `fanout_s3_jobs_per_s`: the fan-out of 1. (`--s3Jobs` × 2 jobs) on an `aws:` store on the same
 *    moto_server, real leader, real warm workers: what the per-job requests cost in time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RealClock } from '../src/common/clock.js';
import { silentLogger } from '../src/common/log.js';
import type { BatchSystem, IssuedJob, JobRequirements, JobUpdateListener } from '../src/ports/batchSystem.js';
import { runWorkflow } from '../src/leader/runWorkflow.js';
import { createBatchSystem, openJobStore, toilCommand } from '../src/main.js';
import type { JobTicket } from '../src/jobstore/jobRecords.js';
import type { JobStore } from '../src/jobstore/jobStore.js';
import { runWorkerJob } from '../src/workflow/worker.js';
import { motoAvailable, startMoto, MOTO_MISSING_REASON } from '../test/fixtures/motoServer.js';

const FANOUT = fileURLToPath(new URL('../../examples/fanout.ts', import.meta.url));
const DEFAULTS = { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: false };

export default async function engine(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { jobs: { type: 'string', default: '10000' }, s3Jobs: { type: 'string', default: '100' } },
  });
  await fanoutOnFileStore(Number(values.jobs));
  await s3RequestsPerJob(Number(values.s3Jobs));
}

async function fanoutOnFileStore(jobs: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'toil-bench-'));
  try {
    const store = openJobStore(`file:${join(dir, 'js')}`);
    // The directory goes as a whole afterwards: no need to clean the store object by object.
    await fanoutJobsPerS(store, jobs, dir, 'never', 'fanout_file_jobs_per_s', { goal: '>= 200' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the fan-out with the real leader and warm workers, and prints its jobs/s as `metric`. */
async function fanoutJobsPerS(
  store: JobStore,
  jobs: number,
  workDir: string,
  clean: 'never' | 'always',
  metric: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const clock = new RealClock();
  const log = silentLogger();
  const toil = toilCommand();
  const outcome = await runWorkflow({
    store,
    workflowFile: FANOUT,
    args: ['--jobs', String(jobs)],
    restart: false,
    clean,
    retryCount: 0,
    defaults: DEFAULTS,
    batchSystem: createBatchSystem('single_machine', { clock, log }),
    clock,
    log,
    workerCommand: (l, id, a) => [...toil, 'worker', l, id, '--attempt', String(a)],
    workDir,
  });
  if (outcome.status !== 'succeeded')
    throw new Error(`fan-out failed: ${JSON.stringify(outcome.failures[0])}`);
  print({
    bench: 'engine',
    metric,
    value: round(outcome.jobsRun / (outcome.elapsedMs / 1000)),
    jobs: outcome.jobsRun,
    elapsed_ms: outcome.elapsedMs,
    ...extra,
  });
}

async function s3RequestsPerJob(jobs: number): Promise<void> {
  if (!motoAvailable()) {
    print({ bench: 'engine', metric: 's3_requests_per_job', skipped: MOTO_MISSING_REASON });
    return;
  }
  const moto = await startMoto();
  const dir = await mkdtemp(join(tmpdir(), 'toil-bench-'));
  try {
    const small = await countRequests(moto.endpoint, 'bench-small', jobs, dir);
    const large = await countRequests(moto.endpoint, 'bench-large', jobs * 2, dir);
    const perJob = (large.total - small.total) / (large.jobs - small.jobs);
    print({
      bench: 'engine',
      metric: 's3_requests_per_job',
      value: round(perJob),
      by_operation_per_job: Object.fromEntries(
        Object.keys(large.byOp).map((op) => [
          op,
          round(((large.byOp[op] ?? 0) - (small.byOp[op] ?? 0)) / (large.jobs - small.jobs)),
        ]),
      ),
      workflow_total: { jobs: large.jobs, requests: large.total },
      goal: '<= 2',
    });
    await fanoutOnS3(moto.endpoint, jobs * 2, dir);
  } finally {
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function fanoutOnS3(endpoint: string, jobs: number, workDir: string): Promise<void> {
  const env = {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
  // The warm workers inherit this process's environment: point them at moto too.
  Object.assign(process.env, env);
  const store = openJobStore('aws:us-west-2:bench-fanout', { env });
  await fanoutJobsPerS(store, jobs, workDir, 'always', 'fanout_s3_jobs_per_s');
}

async function countRequests(
  endpoint: string,
  name: string,
  fanout: number,
  workDir: string,
): Promise<{ total: number; jobs: number; byOp: Record<string, number> }> {
  const byOp: Record<string, number> = {};
  let total = 0;
  const env = {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
  const onRequest = (op: string): void => {
    total++;
    byOp[op] = (byOp[op] ?? 0) + 1;
  };
  const locator = `aws:us-west-2:${name}`;
  const store = openJobStore(locator, { env, onRequest });
  const clock = new RealClock();
  const log = silentLogger();
  const outcome = await runWorkflow({
    store,
    workflowFile: FANOUT,
    args: ['--jobs', String(fanout)],
    restart: false,
    clean: 'always',
    retryCount: 0,
    defaults: DEFAULTS,
    batchSystem: new InProcessBatchSystem(store, workDir),
    clock,
    log,
    workerCommand: () => [],
    workDir,
  });
  if (outcome.status !== 'succeeded')
    throw new Error(`fan-out on moto failed: ${JSON.stringify(outcome.failures[0])}`);
  return { total, jobs: outcome.jobsRun, byOp };
}

/**
 * Runs each attempt in this process with `runWorkerJob`, the code a worker process runs, over the
 * same counted S3 client, so the workers' requests are counted with the leader's.
 */
class InProcessBatchSystem implements BatchSystem {
  readonly name = 'in_process';
  private listener: JobUpdateListener | undefined;
  private readonly running = new Set<string>();
  private readonly store: JobStore;
  private readonly workDir: string;

  constructor(store: JobStore, workDir: string) {
    this.store = store;
    this.workDir = workDir;
  }

  async start(listener: JobUpdateListener): Promise<void> {
    this.listener = listener;
  }

  async issue(job: IssuedJob): Promise<void> {
    this.running.add(job.jobId);
    const options = { workDir: this.workDir, ...(job.ticket ? { ticket: job.ticket as JobTicket } : {}) };
    void runWorkerJob(this.store, job.jobId, job.attempt, options).then((r) => {
      this.running.delete(job.jobId);
      this.listener?.({
        jobId: job.jobId,
        attempt: job.attempt,
        outcome: r.exitCode === 0 ? 'succeeded' : 'failed',
        exitCode: r.exitCode,
        ...(r.message ? { message: r.message } : {}),
        ...(r.commit ? { commit: r.commit } : {}),
      });
    });
  }

  async kill(): Promise<void> {}

  issuedJobIds(): ReadonlySet<string> {
    return this.running;
  }

  maxJobRequirements(): JobRequirements | undefined {
    return undefined;
  }

  async shutdown(): Promise<void> {}
}

function print(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
