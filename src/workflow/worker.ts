import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../common/clock.js';
import {
  PROCESS_MARKS_ENV,
  endLeftProcesses,
  lastPid,
  newProcessMark,
  withProcessMark,
} from '../common/processMarks.js';
import {
  ENCAPSULATION_JOB,
  PROMISE_MARKER,
  generationOfUnnamedAttempt,
  type FailureLog,
  type JobCommit,
  type JobTicket,
  type LogLine,
} from '../jobstore/jobRecords.js';
import { CorruptJobStoreError, type JobStore } from '../jobstore/jobStore.js';
import {
  SERVICE_CONTROL,
  type Job,
  type JobDefinition,
  type JobLogger,
  type Requirements,
  type ServiceControl,
  type ServiceDefinition,
} from './api.js';
import { JobFileStore } from './fileStore.js';
import { JobLogLines } from './jobLogLines.js';
import { ADDING_JOB, JobCollector, JobDeclarationError, encodeValue } from './jobBuilder.js';
import { trackingCalls } from './callsInFlight.js';
import { strayExitWarning, strayThrowWarning, trapProcessExit } from './exitTrap.js';
import { userStack } from './jobError.js';
import { loadWorkflowModule, type LoadedWorkflow } from './moduleLoader.js';
import { JOB_SCRATCH_DIR, MODULE_CACHE_DIR } from './workDirLayout.js';
import { OutputCapture } from './outputCapture.js';
import { measurePeakMemory, type PeakMemory } from './peakMemory.js';
import type { RunningAttempt } from './workerSignals.js';

/**
 * Worker exit codes (what the batch system reports to the leader):
 * - 0 the job ran and its commit is in the job store (or an earlier attempt's commit already was);
 * - 1 the job failed (its function threw, or its module or definition could not be loaded); the
 *   reason is in the job store under logs/<jobId>/<attempt>; spends a retry;
 * - 2 the worker was invoked wrongly (usage);
 * - 3 the job store could not be read or written (the ticket is missing, the store is gone);
 *   counts as a failure.
 */
export const WORKER_EXIT = { committed: 0, jobFailed: 1, usage: 2, storeFailed: 3 } as const;

export interface WorkerRunResult {
  readonly exitCode: number;
  /** `debugged`: a debug run's job returned (nothing was committed). */
  readonly outcome: 'committed' | 'already' | 'debugged' | 'failed' | 'abandoned' | 'store-failed';
  /** For failures: the error and the tail of the job's output. */
  readonly message?: string;
  /** For a job that threw: the error with the stack frames of the workflow's own code. */
  readonly error?: string;
  /**
   * For `committed`: the commit this attempt wrote, which the store has acknowledged (a leader
   * that gets it back need not read it again). Absent for `already`: the stored one is another's.
   */
  readonly commit?: JobCommit;
  /**
   * A job's calls of `process.exit` made after it settled, while its result was being saved and
   * too late for its committed log (a timer it left running): ignored, named here.
   */
  readonly warning?: string;
  /**
   * A callback of the job threw, uncaught: after it settled (caught, named in `warning`), or while
   * it ran (the job failed of it). Either way the process is in no known state: retire the worker.
   */
  readonly threwUncaught?: true;
  /**
   * With WorkerOptions.keepExitTrap: ends the trap on `process.exit` (and on a leftover's throw),
   * returning what calls and throws made since this result say, as `warning` and
   * `threwUncaught` do. The caller calls it when about to exit on its own or take another job.
   */
  readonly releaseExitTrap?: () => { readonly warning?: string; readonly threwUncaught?: true };
}

export interface WorkerOptions {
  /** Where the job's scratch space and the module cache go (default: the OS temp dir). */
  readonly workDir?: string;
  /** Consulted just before committing; false means the leader is gone, so do not commit. */
  readonly shouldCommit?: () => boolean;
  readonly now?: () => number;
  /**
   * The job's ticket, when the leader handed it over with the attempt (a warm worker): it wrote
   * this ticket to the store before issuing, so reading `jobs/<jobId>` back would return it.
   */
  readonly ticket?: JobTicket;
  /**
   * A debug run (`toil debug-job`): the job runs as it would on a worker, but leaves the workflow
   * as it was, so a user can run it again and again: no commit, no failure log, and the files it
   * wrote deleted again whether it failed or not. `onLog` sees each log line as the job logs it.
   */
  readonly debugRun?: { readonly onLog?: (line: LogLine) => void };
  /**
   * Leave `process.exit` trapped when this returns (the result's releaseExitTrap ends it): for a
   * worker that still has to report the result before it exits or takes another job.
   */
  readonly keepExitTrap?: boolean;
  /**
   * Told the attempt once its process mark is set, before the job starts anything: a worker
   * killed mid-job (SIGTERM from its batch system) ends what carries the mark and deletes the
   * files the attempt wrote (see endAttemptOnSigterm).
   */
  readonly onAttempt?: (attempt: RunningAttempt) => void;
  /**
   * Told once the workflow's module is loaded, before the job runs: what the module's top level
   * left open (an interval, a client's pool) is the module's, shared by every job the process
   * runs, not the job's (see warmWorker's leftOpenAfter).
   */
  readonly onModuleLoaded?: () => void;
  /** True once the worker got SIGTERM: killed by its batch system, it commits nothing. */
  readonly signalled?: () => boolean;
  /**
   * The worker's IPC channel to the local leader that started it (`process.channel`): unreferenced
   * while the job runs, so that it alone does not keep the process up (see settledOrStalled).
   */
  readonly leaderChannel?: { ref(): void; unref(): void };
}

/** What a one-shot worker sends its leader before it exits: a warning its result carries. */
export interface WorkerWarning {
  readonly type: 'warning';
  readonly message: string;
}

/**
 * The trap on `process.exit` of an attempt: armed before the job runs, and kept armed after it
 * settles, through the saving of its result, until the worker is about to exit on its own or take
 * another job. A timer the job left running that calls `process.exit` meanwhile must not cut the
 * commit short: the job's result stands, and the call is named (in the job's log if it came before
 * the commit was written, else in the result's warning).
 */
interface HeldExitTrap {
  trap?: ReturnType<typeof trapProcessExit>;
  name?: string;
  /** How many calls were made while the job ran (those fail it), and how many the commit's log names. */
  settled?: number;
  named?: number;
  /** How many of the leftovers' throws the commit's log names. */
  threwNamed?: number;
}

/** The calls and throws of the job's leftovers since the commit's log was written, as one warning. */
function straysSince(held: HeldExitTrap): { warning?: string; threwUncaught?: true } {
  const calls = held.trap?.calls.slice(held.named ?? held.settled ?? 0) ?? [];
  const threw = held.trap?.threw.slice(held.threwNamed ?? 0) ?? [];
  const lines = [
    ...calls.map((c) => strayExitWarning(held.name!, c)),
    ...threw.map((e) => strayThrowWarning(held.name!, e)),
  ];
  return {
    ...(lines.length > 0 ? { warning: lines.join('\n') } : {}),
    ...(held.trap && (held.trap.threw.length > 0 || held.trap.threwWhileRunning())
      ? { threwUncaught: true as const }
      : {}),
  };
}

/** Runs one attempt of one job and commits its result. Never throws. */
export async function runWorkerJob(
  store: JobStore,
  jobId: string,
  attempt: number,
  options: WorkerOptions = {},
): Promise<WorkerRunResult> {
  const held: HeldExitTrap = {};
  let result: WorkerRunResult | undefined;
  try {
    result = await runAttempt(store, jobId, attempt, options, held);
  } finally {
    if (!options.keepExitTrap || !result) held.trap?.release();
  }
  if (options.keepExitTrap && held.trap) {
    const trap = held.trap;
    return {
      ...result,
      releaseExitTrap: () => {
        trap.release();
        return straysSince(held);
      },
    };
  }
  return { ...result, ...straysSince(held) };
}

async function runAttempt(
  store: JobStore,
  jobId: string,
  attempt: number,
  options: WorkerOptions,
  held: HeldExitTrap,
): Promise<WorkerRunResult> {
  const now = options.now ?? Date.now;
  const workDir = options.workDir ?? tmpdir();
  let ticket;
  try {
    ticket = options.ticket?.jobId === jobId ? options.ticket : await store.readTicket(jobId);
  } catch (e) {
    return { exitCode: WORKER_EXIT.storeFailed, outcome: 'store-failed', message: (e as Error).message };
  }
  if (!ticket) {
    return {
      exitCode: WORKER_EXIT.storeFailed,
      outcome: 'store-failed',
      message: `job ${jobId} has no ticket in job store ${store.locator}`,
    };
  }
  const logs = new JobLogLines();
  const logAt =
    (level: LogLine['level']) =>
    (message: string): void => {
      const line: LogLine = { level, message: String(message), time: now() };
      logs.push(line);
      options.debugRun?.onLog?.(line);
    };
  const log: JobLogger = {
    debug: logAt('debug'),
    info: logAt('info'),
    warn: logAt('warn'),
    error: logAt('error'),
  };
  const fileStore = new JobFileStore(store, join(workDir, JOB_SCRATCH_DIR), { jobId, attempt });
  const fileCalls = trackingCalls(fileStore);
  let loaded: LoadedWorkflow | undefined;
  const collector = new JobCollector(() => loaded?.jobs, ticket.name);
  const job: Job = {
    jobId,
    name: ticket.name,
    attempt,
    requirements: ticket.requirements,
    fileStore: fileCalls.tracked,
    get tempDir() {
      return fileStore.jobTempDir();
    },
    log,
    addChild: ((def: JobDefinition<unknown, unknown>, input: unknown, req?: Requirements) =>
      collector.declare(def, input, req)) as Job['addChild'],
    addFollowOn: ((def: JobDefinition<unknown, unknown>, input: unknown, req?: Requirements) =>
      collector.declare(def, input, req, { parent: ADDING_JOB, kind: 'followOn' })) as Job['addFollowOn'],
    addService: ((def: ServiceDefinition<unknown, unknown>, input: unknown, req?: Requirements) =>
      collector.declareService(def, input, req)) as Job['addService'],
  };
  const service = ticket.service ? serviceControl(store, ticket, attempt, options) : undefined;
  if (service) Object.assign(job, { [SERVICE_CONTROL]: service.control });
  const capture = new OutputCapture();
  const started = now();
  const cpuAtStart = process.cpuUsage();
  // Measured from the module loaded: its top level is the worker's, shared by every job it runs.
  let peakMemory: (() => PeakMemory) | undefined;
  // Set before the module loads (its top level may read them), put back after: a warm worker's
  // next job sees its own ticket's variables, not this one's. The attempt's mark goes with them:
  // every process the job starts carries it, so what outlives the job is found and ended.
  const mark = newProcessMark();
  // Set, with no await between, once the worker has seen no SIGTERM and goes on to commit.
  let committing = false;
  options.onAttempt?.({
    name: ticket.name,
    mark,
    deleteWritten: async () => {
      if (!committing) await store.deleteFiles([...fileStore.written]);
    },
  });
  const pidBeforeMark = lastPid();
  const restoreEnv = applyEnv({
    OMP_NUM_THREADS: ompThreads(ticket.requirements.cores),
    ...ticket.env,
    [PROCESS_MARKS_ENV]: withProcessMark(process.env, mark)[PROCESS_MARKS_ENV]!,
  });
  // Only the processes born since the mark was set can carry it: looked at alone, unless the job
  // ran long enough for the pids to have come round (see lastPid).
  const bornAfter = (): number | undefined =>
    now() - started < PID_WINDOW_TRUSTED_MS ? pidBeforeMark : undefined;
  capture.start();
  const exitTrap = trapProcessExit(ticket.name);
  held.trap = exitTrap;
  held.name = ticket.name;
  // Records the attempt's failure (its error, log lines and output) and removes what it wrote.
  const failed = async (e: unknown, output: string): Promise<WorkerRunResult> => {
    // A value refused (a BigInt returned, a Map) is the user's mistake that the message names in
    // full; refused as the job returned, it has no frame of theirs and needs none of ours. Nor does
    // a damaged record or file the job read (a service its stop request): the message names it.
    const error = userStack(
      e,
      undefined,
      !(e instanceof JobDeclarationError || e instanceof CorruptJobStoreError),
    );
    const failure: FailureLog = {
      format: 1,
      jobId,
      attempt,
      name: ticket.name,
      error,
      logs: logs.lines(),
      output,
    };
    await Promise.allSettled([
      options.debugRun ? undefined : store.writeFailureLog(failure),
      store.deleteFiles(fileStore.written),
    ]);
    await fileStore.cleanup().catch(() => {});
    return {
      exitCode: WORKER_EXIT.jobFailed,
      outcome: 'failed',
      message: `${error}\n${output}`.trim(),
      error,
    };
  };
  let returnValue;
  try {
    loaded = await loadWorkflowModule(store, ticket.module, join(workDir, MODULE_CACHE_DIR));
    options.onModuleLoaded?.();
    peakMemory = measurePeakMemory();
    const def = ticket.name === ENCAPSULATION_JOB ? encapsulation : loaded.jobs.get(ticket.name);
    if (!def) throw new Error(`the workflow module defines no job named '${ticket.name}'`);
    const running = Promise.race([Promise.resolve(def.fn(job, ticket.input)), exitTrap.exited]);
    const raw = await settledOrStalled(running, ticket.name, options.leaderChannel);
    held.settled = exitTrap.calls.length;
    exitTrap.settle();
    collector.seal();
    await fileCalls.settled();
    returnValue = encodeValue(raw, `return value of job '${ticket.name}'`);
    collector.checkComplete();
  } catch (e) {
    held.settled ??= exitTrap.calls.length;
    exitTrap.settle();
    collector.seal();
    const output = capture.stop();
    restoreEnv();
    await endLeftProcesses(mark, `job '${ticket.name}'`, wallClock, (m) => log.warn(m), bornAfter());
    return failed(e, output);
  }
  const output = capture.stop();
  restoreEnv();
  const cpu = process.cpuUsage(cpuAtStart);
  await endLeftProcesses(mark, `job '${ticket.name}'`, wallClock, (m) => log.warn(m), bornAfter());
  const memory = peakMemory?.();
  // An addition that came after the job returned, before its commit: the commit would lose it.
  const late = collector.lateAddition();
  if (late) {
    // The failure names it: the throws of the calls refused are not named again as strays.
    exitTrap.ignore((e) => collector.isLateAddition(e));
    return failed(late, output);
  }
  await fileStore.cleanup().catch(() => {});
  if (options.debugRun) {
    try {
      await store.deleteFiles(fileStore.written);
      return { exitCode: WORKER_EXIT.committed, outcome: 'debugged' };
    } catch (e) {
      const message = `the job returned, but the files it wrote could not be deleted: ${(e as Error).message}`;
      return { exitCode: WORKER_EXIT.storeFailed, outcome: 'store-failed', message };
    }
  }
  if (service?.stoppedEarly()) {
    await store.deleteFiles(fileStore.written).catch(() => {});
    return {
      exitCode: WORKER_EXIT.jobFailed,
      outcome: 'abandoned',
      message: `service '${ticket.name}' was stopped before its host's successors completed; not committing`,
    };
  }
  if (options.shouldCommit && !options.shouldCommit()) {
    return {
      exitCode: WORKER_EXIT.storeFailed,
      outcome: 'abandoned',
      message: 'the leader went away; not committing',
    };
  }
  // Its batch system reports the attempt killed: a commit now would contradict it. What the job
  // wrote since the SIGTERM's deletion began is deleted too, for as long as the sweep lets it.
  if (options.signalled?.()) {
    await store.deleteFiles(fileStore.written).catch(() => {});
    return {
      exitCode: WORKER_EXIT.storeFailed,
      outcome: 'abandoned',
      message: 'the worker got SIGTERM (its batch system killed it); not committing',
    };
  }
  committing = true;
  // Calls made since the job returned are named in its own log, which the commit carries.
  for (const call of exitTrap.calls.slice(held.settled)) log.warn(strayExitWarning(ticket.name, call));
  for (const e of exitTrap.threw) log.warn(strayThrowWarning(ticket.name, e));
  held.named = exitTrap.calls.length;
  held.threwNamed = exitTrap.threw.length;
  const commit: JobCommit = {
    format: 1,
    jobId,
    attempt,
    returnValue,
    ...collector.addingJobSuccessors(),
    newJobs: collector.specs(),
    deletedFiles: [...fileStore.toDelete],
    logs: logs.lines(),
    wallTimeMs: now() - started,
    cpuTimeMs: Math.round((cpu.user + cpu.system) / 1000),
    ...memory,
  };
  try {
    const result = await store.commit(commit);
    if (result === 'already') {
      await store.deleteFiles(fileStore.written).catch(() => {});
      return { exitCode: WORKER_EXIT.committed, outcome: result };
    }
    return { exitCode: WORKER_EXIT.committed, outcome: result, commit };
  } catch (e) {
    return { exitCode: WORKER_EXIT.storeFailed, outcome: 'store-failed', message: (e as Error).message };
  }
}

/** How long an attempt's window of pids is trusted to hold every process it started. */
const PID_WINDOW_TRUSTED_MS = 60_000;

/** How often a service job on a worker of its own reads the lease, to notice a newer leader. */
export const ORPHAN_CHECK_MS = 5_000;

const wallClock = new RealClock();

/**
 * A service job's link to the leader, through the job store: the start value it publishes (the
 * leader then runs the host's successors) and the stop request it polls for, both of this attempt
 * (a service started again after a leader restart does not read its earlier run's). A debug run
 * publishes nothing and stops after its first check.
 */
function serviceControl(
  store: JobStore,
  ticket: JobTicket,
  attempt: number,
  options: WorkerOptions,
): { control: ServiceControl; stoppedEarly: () => boolean } {
  const pollMs = ticket.service?.pollMs ?? 1000;
  const now = options.now ?? Date.now;
  let early = false;
  let generationReadAt = -Infinity;
  const control: ServiceControl = {
    started: async (value) => {
      const json = encodeValue(value, `value service '${ticket.name}' started with`);
      if (!options.debugRun) await store.writeServiceStarted(ticket.jobId, attempt, json);
    },
    stopRequested: async () => {
      if (options.debugRun !== undefined) return true;
      if (options.shouldCommit !== undefined && !options.shouldCommit()) return true;
      const request = await store.serviceStopRequested(ticket.jobId, attempt);
      if (request && !request.keep) early = true;
      if (request) return true;
      // A worker tied to its leader (shouldCommit: the IPC channel of a local one) ends with it,
      // so the lease need not be read: a GET on every poll of every service, billed on S3.
      if (options.shouldCommit !== undefined) return false;
      // A worker of its own (Mesos, Slurm, a cluster's nodes) outlives a leader killed with -9:
      // once a newer leader holds the store, nobody will ask this attempt to stop, and that
      // leader starts its own. Noticing it some seconds late costs only those seconds of the
      // node, so the lease is read once in ORPHAN_CHECK_MS rather than on every poll.
      if (now() - generationReadAt < ORPHAN_CHECK_MS) return false;
      generationReadAt = now();
      // A ticket written for a later attempt: a leader issued the job again, and waits on that one.
      if (ticket.attempt !== undefined && ticket.attempt !== attempt) early = true;
      const issuedBy = ticket.generation ?? generationOfUnnamedAttempt(attempt);
      if ((await store.readGeneration()) > issuedBy) early = true;
      return early;
    },
    // The wall clock's sleep: a --servicePollingInterval past Node's timer limit would poll at once.
    pause: () => wallClock.sleep(pollMs),
  };
  return { control, stoppedEarly: () => early };
}

/**
 * Toil's OMP_NUM_THREADS for a job: the one the worker was started with, else the job's cores as
 * a whole number, at least 1, so an OpenMP program a job starts uses the cores it asked for and
 * not every core of a node other jobs share. `--setEnv OMP_NUM_THREADS=N` wins over both.
 */
function ompThreads(cores: number): string {
  return process.env.OMP_NUM_THREADS || String(Math.max(1, Math.trunc(cores)));
}

/** Sets `env` in this process's environment; returns what puts the previous values back. */
function applyEnv(env: Readonly<Record<string, string>> | undefined): () => void {
  if (!env) return () => {};
  const before = Object.keys(env).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of before) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * The job's result, or an error once nothing is left that could settle its promise: Node's event
 * loop emptied ('beforeExit') while the promise was pending (an await on a promise that nothing
 * resolves). A worker of its own process (Slurm, Mesos, `toil debug-job`) would otherwise just
 * exit, with no commit and no word of why. A worker a local leader started (warm or one-shot) has
 * its IPC channel to the leader, which alone would keep its loop busy for ever, and the job would
 * hang the run: so that channel (`channel`) is unreferenced while the job runs (messages and the
 * leader's going still arrive while anything else keeps the loop up), and the loop empties when
 * the job has nothing left that could wake it: no timer, socket, child process, file request,
 * worker thread or message port. Node's own test for that, free: no polling, no hook. What the job
 * itself unreferenced (`timer.unref()`) counts for nothing, as it would in a script of its own.
 */
async function settledOrStalled<T>(
  result: T | Promise<T>,
  name: string,
  channel: { ref(): void; unref(): void } | undefined,
): Promise<T> {
  let onIdle = (): void => {};
  const stalled = new Promise<never>((_resolve, reject) => {
    onIdle = () => {
      const e = new Error(
        `job '${name}' never finished: its function's promise was still pending when nothing was left that could settle it (an await on a promise that nothing resolves)`,
      );
      e.stack = `Error: ${e.message}`; // Node's event emitter frames say nothing of the job
      reject(e);
    };
    process.once('beforeExit', onIdle);
  });
  channel?.unref();
  try {
    return await Promise.race([Promise.resolve(result), stalled]);
  } finally {
    // Before anything else is awaited: the worker's reply and its wait for the next job need it.
    channel?.ref();
    process.off('beforeExit', onIdle);
  }
}

/**
 * The jobs encapsulate() adds: the encapsulating one returns its job's promise (its value is the
 * job's, as in Toil), the end one nothing.
 */
const encapsulation = {
  fn: (_job: Job, input: unknown): unknown => {
    const id = (input as { encapsulates?: unknown } | null)?.encapsulates;
    return typeof id === 'string' ? { [PROMISE_MARKER]: { job: id, path: [] } } : null;
  },
};
