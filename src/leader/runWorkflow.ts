import {
  KILL_POLL_MS,
  killRequestNow,
  WorkflowKilledError,
  WorkflowStopRequestedError,
  waitForKill,
} from './killRequest.js';
import { createHash, randomUUID } from 'node:crypto';
import { rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import { JobTooBigError, ToilError, UserInputError, coerceError } from '../common/errors.js';
import { onForcedExitRelease, onForcedExitRemoval } from '../common/forcedExit.js';
import type { Logger } from '../common/log.js';
import { untilAborted } from '../common/untilAborted.js';
import { countOf, formatBytes } from '../common/units.js';
import { JobStoreUnwritableError } from '../jobstore/errors.js';
import { storeExistsError } from './workflowStatus.js';
import {
  ENCAPSULATION_JOB,
  type JobCommit,
  type JobSpec,
  type Json,
  type ModuleRef,
  type ResolvedRequirements,
  type RunOutcomeRecord,
  type WorkflowRecord,
  reachableCommits,
} from '../jobstore/jobRecords.js';
import { CorruptJobStoreError, type JobStore } from '../jobstore/jobStore.js';
import { readLeaseRecord, type JobStoreLease, type LeaseOptions } from '../jobstore/lease.js';
import { bundleWorkflow } from '../workflow/bundle.js';
import { cachedModulePath, fetchWorkflowModule, removeCachedModule } from '../workflow/moduleLoader.js';
import { JOB_SCRATCH_DIR, MODULE_CACHE_DIR } from '../workflow/workDirLayout.js';
import { firstLine } from '../workflow/jobError.js';
import {
  InProcessWorkflowCode,
  WorkflowFinishError,
  type BlockedCallWatch,
  type WorkflowCode,
} from '../workflow/workflowCode.js';
import { killWatch } from './killWatch.js';
import type { JobLogEntry } from './jobLogFiles.js';
import { JobOverMaxError, type JobLimits } from './jobLimits.js';
import {
  makeRunScratch,
  removeRunScratchNow,
  sweepAbandonedJobScratch,
  sweepAbandonedScratch,
} from './runScratch.js';
import { markStoreRemoved } from './storeRemoved.js';
import { keepRunningRecord, RunningRecordNudge } from './runningRecord.js';
import type { BatchSystem } from '../ports/batchSystem.js';
import {
  WorkflowRunner,
  type FailedJob,
  type JobLostEvent,
  type WorkflowProgress,
  type WorkflowRunnerOptions,
} from './workflowRunner.js';

export type CleanPolicy = 'always' | 'onSuccess' | 'onError' | 'never';

export interface RunWorkflowOptions {
  readonly store: JobStore;
  /**
   * The module of a thread that looks for a `toil kill` while the workflow's start() or finish()
   * blocks the event loop (src/main/killWatchThread.ts; see killWatch.ts); without it such a kill
   * waits for the call's synchronous part to end.
   */
  readonly killWatchThread?: URL;
  readonly workflowFile: string;
  readonly args: readonly string[];
  readonly restart: boolean;
  readonly clean: CleanPolicy;
  readonly retryCount: number;
  readonly defaults: ResolvedRequirements;
  /** Spot losses of a job before it runs on on-demand (default 3; Infinity: unlimited). */
  /** Variables set in each job's environment while it runs (Toil's --setEnv). */
  readonly env?: Readonly<Record<string, string>>;
  readonly preemptableRetries?: number;
  /** Toil's --servicePollingInterval and --deadlockWait (see WorkflowRunnerOptions). */
  readonly servicePollMs?: number;
  readonly deadlockWaitMs?: number;
  /** Toil's --maxJobDuration, in ms (see WorkflowRunnerOptions). */
  readonly maxJobDurationMs?: number;
  /** Toil's --stopOnFirstFailure (see WorkflowRunnerOptions). */
  readonly stopOnFirstFailure?: boolean;
  /** Toil's --maxServiceJobs and --maxPreemptableServiceJobs (see WorkflowRunnerOptions). */
  readonly maxServiceJobs?: number;
  readonly maxPreemptableServiceJobs?: number;
  /** Toil's --maxJobs: jobs issued and not ended at once (see WorkflowRunnerOptions). */
  readonly maxJobs?: number;
  /** Toil's --maxCores, --maxMemory and --maxDisk: the most one job may ask for (see WorkflowRunnerOptions). */
  readonly jobLimits?: JobLimits;
  /** Whether the cluster's scaler is adding room for waiting jobs (see WorkflowRunnerOptions). */
  readonly roomOnItsWay?: () => boolean;
  /** A host's services checked together against the scaler's limits (see WorkflowRunnerOptions). */
  readonly checkServicesTogether?: WorkflowRunnerOptions['checkServicesTogether'];
  /** Each job against the node types the scaler may launch (see WorkflowRunnerOptions). */
  readonly checkLaunchable?: WorkflowRunnerOptions['checkLaunchable'];
  readonly onJobLost?: (event: JobLostEvent) => void;
  /** Each attempt lost with its node (see WorkflowRunnerOptions). */
  readonly onAttemptLost?: WorkflowRunnerOptions['onAttemptLost'];
  readonly batchSystem: BatchSystem;
  readonly clock: Clock;
  readonly log: Logger;
  readonly workerCommand: (locator: string, jobId: string, attempt: number) => readonly string[];
  /** Local scratch space for the leader (module cache). */
  readonly workDir: string;
  /**
   * As the run ends, removes what it left in the work directory: its workflow module's copy in
   * the module cache, and the cache and the jobs' scratch directory once empty (`toil run`: it
   * leaves nothing of itself in the user's --workDir, as Toil's run removes its workflow's
   * directory there). A leader daemon keeps its cache for the runs it resumes.
   */
  readonly removeOwnTraces?: boolean;
  readonly onProgress?: (progress: WorkflowProgress) => void;
  /**
   * Once the workflow's arguments are taken: its start() returned, or a --restart resumed a
   * workflow that had started. A refusal of one would have ended the run before this.
   */
  readonly onArgsTaken?: () => void;
  /** Just before the workflow's finish() runs: what it prints comes after the run's progress. */
  readonly onFinishing?: () => void;
  /** Each job attempt's log as the leader learns of its end (`--writeLogs`). */
  readonly onJobLog?: (entry: JobLogEntry) => Promise<void>;
  /** Each job event as it happens (`--writeMessages`). */
  readonly onJobEvent?: WorkflowRunnerOptions['onJobEvent'];
  /** Cancels the run (the leader stops issuing; the run rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** `workflowFile` already bundled (by a caller that loaded it first); bundled here otherwise. */
  readonly bundle?: Uint8Array;
  /**
   * How `workflowFile` is bundled here, when it must be: bundleWorkflow in this process by default.
   * A leader daemon bounds it in a process of its own, as it bounds a submission's bundle.
   */
  readonly bundleFile?: (workflowFile: string) => Promise<Uint8Array>;
  /** Where the workflow's own code runs (module load, start, finish); this process by default. */
  readonly code?: WorkflowCode;
  /**
   * `--restart` runs the workflow file as it is now (fix the bug, then --restart, as in Toil: a local
   * `toil run`, or a submission to a daemon, whose bundle is the file as submitted); without it a
   * restart runs the module the store holds.
   */
  readonly restartWithFile?: boolean;
  /** What resumes this store's workflow once stopped, as a kill says it (default: --restart). */
  readonly resumeAdvice?: string;
  /** The job store lease's term and holder (defaults: DEFAULT_LEASE_MS, this process). */
  readonly lease?: Omit<LeaseOptions, 'clock'>;
}

export type RunWorkflowOutcome =
  | {
      readonly status: 'succeeded';
      readonly returnValue: Json;
      readonly jobsRun: number;
      readonly replayed: number;
      readonly elapsedMs: number;
    }
  | {
      readonly status: 'failed';
      readonly failures: readonly FailedJob[];
      readonly jobsRun: number;
      readonly replayed: number;
      readonly elapsedMs: number;
    };

/**
 * `toil run`: starts a new workflow in an empty job store (bundling the workflow module into it and
 * calling its `start`), or resumes one (`--restart`), runs it to the end with a WorkflowRunner, calls the
 * workflow's `finish` on success, and cleans the job store as `--clean` says.
 */
export async function runWorkflow(o: RunWorkflowOptions): Promise<RunWorkflowOutcome> {
  // One leader per job store (see lease.ts): taken as soon as the store exists, renewed on the
  // clock until the run ends or its --clean deletes the store (every deletion goes through the
  // lease, which stops renewing first), released after; losing it aborts the run.
  let lease: JobStoreLease | undefined;
  let renewal: Promise<void> | undefined;
  const renewing = new AbortController();
  const lost = new AbortController();
  const killed = new AbortController();
  let offForcedExit: (() => void) | undefined;
  const takeLease = async (): Promise<JobStoreLease> => {
    const taken = await o.store.acquireLease({ clock: o.clock, ...o.lease });
    lease = taken;
    // A leader exiting at once (a second Ctrl-C) gives the lease up too, its workers killed first:
    // kept, a leader on another machine waited for it to expire.
    offForcedExit = onForcedExitRelease({
      // A store the stop's --clean deleted meanwhile holds no lease either.
      release: async () => (await taken.release()) || !(await o.store.exists().catch(() => true)),
      left: () =>
        `the lease of job store ${o.store.locator}, which a leader on another machine waits out (until ${new Date(taken.expiresAt).toISOString()})`,
    });
    renewal = lease.keepRenewing(renewing.signal, (e) => lost.abort(e)).catch((e: unknown) => lost.abort(e));
    // The store is this leader's now: what writers of a run killed mid-write left goes.
    await removeAbandonedTemporaries(o.store.fencedBy(lease), o.log);
    // `toil kill JOBSTORE` asks this leader to stop through the store (see killRequest.ts).
    void waitForKill(o.store, lease.generation, o.clock, renewing.signal).then((request) => {
      if (request) killed.abort(new WorkflowKilledError(o.store.locator, request, o.resumeAdvice));
    });
    return lease;
  };
  const signal = AbortSignal.any([...(o.signal ? [o.signal] : []), lost.signal, killed.signal]);
  // The same requests, seen while the workflow's start() or finish() blocks the event loop.
  const watch = killWatch(
    o.killWatchThread,
    () => lease && { locator: o.store.absoluteLocator, generation: lease.generation },
    KILL_POLL_MS,
    () => {
      const generation = lease?.generation;
      if (generation === undefined) return;
      void killRequestNow(o.store, generation).then((request) => {
        if (request) killed.abort(new WorkflowKilledError(o.store.locator, request, o.resumeAdvice));
      });
    },
  );
  try {
    return await runLeased({ ...o, signal }, takeLease, watch);
  } catch (e) {
    // What to do once the disk has room depends on whether the store outlived the run: a start()
    // it stopped removes the store, a job or commit it stopped keeps it.
    if (e instanceof JobStoreUnwritableError)
      throw e.afterRun(await o.store.exists().catch(() => true), o.resumeAdvice);
    // A job refused for its size ends the run as a failure does: --clean always and onError
    // delete the store (an aws: bucket billed on otherwise); else it is kept on purpose, for a
    // resume where the job fits, and the same command again would be refused: both are said.
    if (
      (e instanceof JobOverMaxError || e instanceof JobTooBigError) &&
      (await o.store.exists().catch(() => false))
    ) {
      if (o.clean !== 'always' && o.clean !== 'onError') throw e.storeKept(o.store.locator, o.resumeAdvice);
      await lease?.confirm();
      await (lease ? o.store.fencedBy(lease) : o.store).destroy();
      throw e.storeDeleted(o.store.locator, o.clean);
    }
    throw e;
  } finally {
    renewing.abort();
    await renewal?.catch(() => {});
    // A lost lease has nothing to release, and the store that let it lapse may not answer at all.
    if (lease && !lease.isLost && (await o.store.exists().catch(() => false))) await lease.release();
    offForcedExit?.();
  }
}

async function runLeased(
  o: RunWorkflowOptions,
  takeLease: () => Promise<JobStoreLease>,
  watch: BlockedCallWatch,
): Promise<RunWorkflowOutcome> {
  const log = o.log.child({ component: 'run' });
  const startedAt = o.clock.now();
  // Stopped (Ctrl-C, SIGTERM, toil kill) while start() runs, the run need not wait for it.
  const code = o.code ?? new InProcessWorkflowCode(() => o.store, o.log, undefined, o.signal, true, watch);
  await assertWorkflowFile(o.workflowFile);
  if (o.restart)
    await readBeforeLease(o.store.assertExists('drop --restart to start a new workflow'), o.signal);
  const abandoned = await sweepAbandonedScratch(o.workDir);
  if (abandoned.length > 0)
    log.info({ removed: abandoned }, 'removed the scratch of leaders that were killed before they could');
  const scratch = await makeRunScratch(o.workDir);
  let moduleInUse: ModuleRef | undefined;
  // A leader exiting at once (a second Ctrl-C) still removes what it made here, its workers ended.
  const offForcedExit = onForcedExitRemoval((deadline, killed) =>
    removeRunScratchNow(
      o.workDir,
      scratch,
      o.removeOwnTraces && moduleInUse
        ? [cachedModulePath(join(o.workDir, MODULE_CACHE_DIR), moduleInUse)]
        : [],
      deadline,
      killed,
    ),
  );
  try {
    let started: StartedWorkflow;
    let resume: Resume | undefined;
    let lease: JobStoreLease | undefined;
    if (o.restart) {
      // Every check a restart makes comes before its first write, the lease's included: refused,
      // it leaves the store as it found it, and `toil status` still tells what the last run did.
      const seen =
        (await readBeforeLease(readLeaseRecord(o.store.objects, o.lease?.ttlMs), o.signal))?.record
          .generation ?? -1;
      const plan = (): Promise<Resume | undefined> => planResume(o, code, join(scratch, 'workflow.mjs'));
      // Its reads (the workflow's record, its module, every commit) come before the lease too:
      // a store that stops answering in one of them, or in the middle of its body, does not hold
      // a stop.
      resume = await readBeforeLease(plan(), o.signal);
      lease = await takeLease();
      // Another leader ran between the checks and the lease: what they read may have changed.
      if (lease.generation !== seen + 1) resume = await plan();
    }
    if (resume) started = await useResumedModule(o, o.store.fencedBy(lease!), resume, log);
    else {
      // A start that was interrupted left a store without a workflow: --restart starts it now.
      if (o.restart)
        log.warn({ jobStore: o.store.locator }, 'the job store holds no workflow yet; starting it');
      started = await startNewWorkflow(
        o,
        code,
        o.restart,
        join(scratch, 'workflow.mjs'),
        async () => (lease = await takeLease()),
      );
    }
    // Its workers (and a resumed leader) cache this module in the work directory.
    moduleInUse = started.workflow.module;
    o.onArgsTaken?.();
    // From here on every leader write checks the lease first.
    return await runStarted(
      { ...o, store: o.store.fencedBy(lease!) },
      lease!,
      code,
      started,
      resume?.commits,
      log,
      startedAt,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    // The scratch of the jobs whose worker was killed (Ctrl-C, --maxJobDuration): the batch
    // system's shutdown has seen every worker end.
    await sweepAbandonedJobScratch(o.workDir);
    if (o.removeOwnTraces) {
      if (moduleInUse) await removeCachedModule(join(o.workDir, MODULE_CACHE_DIR), moduleInUse);
      // ENOTEMPTY: another run's job is using it.
      await rmdir(join(o.workDir, JOB_SCRATCH_DIR)).catch(() => undefined);
    }
    // Only now: a second Ctrl-C during the removals above exited with nothing registered,
    // saying the scratch was removed while all of it was still there.
    offForcedExit();
  }
}

interface StartedWorkflow {
  readonly workflow: WorkflowRecord;
  readonly modulePath: string;
  readonly jobNames: readonly string[];
}

/** What a --restart resumes, checked: the workflow with the module to run, and what already ran. */
interface Resume extends StartedWorkflow {
  readonly commits: Map<string, JobCommit>;
  /** The workflow file's bundle, when it differs from the module the last run used (to be stored). */
  readonly changed?: Uint8Array;
}

/** Runs a workflow whose record is in the store to the end, `finish` and `--clean` included. */
async function runStarted(
  o: RunWorkflowOptions,
  lease: JobStoreLease,
  code: WorkflowCode,
  { workflow, modulePath, jobNames }: StartedWorkflow,
  /** A resumed workflow's commits (checked against its module by planResume); none for a new one. */
  resumedCommits: Map<string, JobCommit> | undefined,
  log: Logger,
  started: number,
): Promise<RunWorkflowOutcome> {
  assertDefinesDeclaredJobs(o, workflow, jobNames);
  const generation = lease.generation;
  const resumed = resumedCommits !== undefined;
  const commits = resumedCommits ?? new Map<string, JobCommit>();
  log.info(
    { workflowId: workflow.workflowId, generation, jobStore: o.store.locator },
    resumed ? 'resuming workflow' : 'starting workflow',
  );
  const nudge = new RunningRecordNudge();
  const leader = new WorkflowRunner({
    store: o.store,
    batchSystem: o.batchSystem,
    clock: o.clock,
    log: o.log,
    workerCommand: o.workerCommand,
    retryCount: o.retryCount,
    defaults: o.defaults,
    ...(o.preemptableRetries !== undefined ? { preemptableRetries: o.preemptableRetries } : {}),
    ...(o.servicePollMs !== undefined ? { servicePollMs: o.servicePollMs } : {}),
    ...(o.deadlockWaitMs !== undefined ? { deadlockWaitMs: o.deadlockWaitMs } : {}),
    ...(o.maxJobDurationMs !== undefined ? { maxJobDurationMs: o.maxJobDurationMs } : {}),
    ...(o.stopOnFirstFailure ? { stopOnFirstFailure: true } : {}),
    ...(o.maxServiceJobs !== undefined ? { maxServiceJobs: o.maxServiceJobs } : {}),
    ...(o.maxPreemptableServiceJobs !== undefined
      ? { maxPreemptableServiceJobs: o.maxPreemptableServiceJobs }
      : {}),
    ...(o.maxJobs !== undefined ? { maxJobs: o.maxJobs } : {}),
    ...(o.jobLimits ? { jobLimits: o.jobLimits } : {}),
    ...(o.roomOnItsWay ? { roomOnItsWay: o.roomOnItsWay } : {}),
    ...(o.checkServicesTogether ? { checkServicesTogether: o.checkServicesTogether } : {}),
    ...(o.checkLaunchable ? { checkLaunchable: o.checkLaunchable } : {}),
    ...(o.env ? { env: o.env } : {}),
    ...(o.onJobLost ? { onJobLost: o.onJobLost } : {}),
    ...(o.onAttemptLost ? { onAttemptLost: o.onAttemptLost } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.onJobLog ? { onJobLog: o.onJobLog } : {}),
    // Issued or ended: the running record says so at once, not at its next poll.
    onJobEvent: (e) => {
      nudge.nudge();
      o.onJobEvent?.(e);
    },
    ...(o.signal ? { signal: o.signal } : {}),
  });
  // `running.json`: what runs where, for `toil status --printStatus`, while the run lasts.
  const recording = new AbortController();
  const recorder = keepRunningRecord({
    store: o.store,
    generation,
    batchSystem: o.batchSystem,
    issued: () => leader.issuedAttempts(),
    held: () => leader.heldCount(),
    lost: () => leader.lostAttempts.record(),
    clock: o.clock,
    log,
    signal: recording.signal,
    nudge,
  });
  let result;
  let stop: unknown;
  try {
    result = await leader.run(workflow, generation, commits);
  } catch (e) {
    stop = e;
  } finally {
    recording.abort();
    await recorder;
    await o.batchSystem.shutdown();
    await o.store.deleteRunning().catch(() => undefined);
  }
  if (result === undefined) throw await cleanAfterStop(o, lease, stop);
  const elapsedMs = o.clock.now() - started;
  // What follows cannot be undone: the store itself confirms this leader still holds the lease.
  await lease.confirm();
  // The leader looks for a `toil kill` only every few seconds: one asked for since its last look
  // stops the run here, before the finish, as `toil kill` said it asked (a run that went on to
  // succeed would contradict it), and --clean treats it as any stop on request.
  const lateKill = await killRequestNow(o.store, generation);
  if (lateKill)
    throw await cleanAfterStop(
      o,
      lease,
      new WorkflowKilledError(o.store.locator, lateKill, o.resumeAdvice, true),
    );
  if (result.status === 'succeeded') {
    o.onFinishing?.();
    try {
      await code.finish({
        modulePath,
        jobStore: o.store.absoluteLocator,
        workflowFile: o.workflowFile,
        args: o.args,
        restart: resumed,
        returnValue: result.returnValue,
      });
    } catch (e) {
      // Stopped while finish() ran (Ctrl-C, SIGTERM, toil kill): a stop, not finish()'s failure.
      // Every job ran, so the kept store resumes with finish() alone, as after a finish() that threw.
      if (o.signal?.aborted && e === o.signal.reason) {
        if (e instanceof WorkflowStopRequestedError) e.stoppedDuring('finish', o.store.locator);
        throw await cleanAfterStop(o, lease, e);
      }
      // An isolated host's errors already say whose code failed and how.
      if (e instanceof ToilError && /^WORKFLOW_(CODE|HOST)_/.test(e.code)) throw e;
      // As Toil's context manager on an error: only 'always' and 'onError' delete the store.
      if (o.clean === 'always' || o.clean === 'onError') await o.store.destroy();
      throw new WorkflowFinishError(o.workflowFile, e);
    }
    if (o.clean === 'always' || o.clean === 'onSuccess') await o.store.destroy();
    else {
      await removeAbandonedTemporaries(o.store, log);
      await o.store.writeOutcome(outcomeRecord(generation, o.clock.now(), []));
    }
    return { ...result, elapsedMs };
  }
  if (o.clean === 'always' || o.clean === 'onError') await o.store.destroy();
  else {
    // Workers killed mid-write this run (their jobs ran again) left theirs; the store is kept.
    await removeAbandonedTemporaries(o.store, log);
    await o.store.writeOutcome(outcomeRecord(generation, o.clock.now(), result.failures));
  }
  return { ...result, elapsedMs };
}

/**
 * Deletes the half-written bodies writers killed mid-write left in the store, saying how many; a
 * store that will not let them go is no reason to stop the run: `toil clean` deletes them with it.
 */
async function removeAbandonedTemporaries(store: JobStore, log: Logger): Promise<void> {
  try {
    const { count, bytes } = await store.removeAbandonedTemporaries();
    if (count > 0)
      log.info(
        { jobStore: store.locator, files: count, bytes },
        `removed ${countOf(count, 'half-written file')} (${formatBytes(bytes)}) that writers killed mid-write left in the job store`,
      );
  } catch (e) {
    log.warn(
      { jobStore: store.locator, err: coerceError(e) },
      'could not remove the half-written files that writers killed mid-write left in the job store',
    );
  }
}

/**
 * A run stopped on request ends in error, as Toil's does (its KeyboardInterrupt reaches the
 * context manager), so `--clean always` and `onError` delete the store once its jobs are killed:
 * kept, an `aws:` store's bucket billed on after its user asked for it gone. Any other stop (the
 * lease lost to another leader, a daemon suspending the run for its next start) keeps it.
 */
async function cleanAfterStop(o: RunWorkflowOptions, lease: JobStoreLease, stop: unknown): Promise<unknown> {
  if (!(stop instanceof WorkflowStopRequestedError) || (o.clean !== 'always' && o.clean !== 'onError'))
    return stop;
  await lease.confirm();
  await o.store.destroy();
  stop.storeDeleted(o.store.locator, o.clean);
  return stop;
}

function outcomeRecord(generation: number, at: number, failures: readonly FailedJob[]): RunOutcomeRecord {
  return {
    format: 1,
    generation,
    status: failures.length > 0 ? 'failed' : 'succeeded',
    at,
    failedJobs: failures.map((f) => ({
      jobId: f.jobId,
      name: f.name,
      error: firstLine(f.reason),
      ...(f.committed ? { committed: f.committed } : {}),
    })),
  };
}

/**
 * A read the run makes before it holds the lease, which a stop (Ctrl-C, SIGTERM, a cancel) does
 * not wait for: nothing of the run is written yet, and a store that takes the connection and never
 * answers (S3 calls carry no deadline) would hold the stop for as long. Abandoned, the read runs
 * on unwatched; the stop is thrown, saying the store had not answered.
 */
async function readBeforeLease<T>(read: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return read;
  try {
    return await untilAborted(read, signal);
  } catch (e) {
    if (e === signal.reason && e instanceof WorkflowStopRequestedError) e.stoppedWaitingForStore();
    throw e;
  }
}

/**
 * Bundles the workflow, creates the job store (unless `storeExists`: a --restart of a store whose
 * start was interrupted) and has the workflow's code run its `start`. A workflow that refuses to
 * start (its arguments, most often) leaves no job store behind, so the corrected command runs as
 * typed.
 */
async function startNewWorkflow(
  o: RunWorkflowOptions,
  code: WorkflowCode,
  storeExists: boolean,
  modulePath: string,
  onCreated: () => Promise<JobStoreLease>,
): Promise<StartedWorkflow> {
  // Checked before bundling so the mistake is reported at once; create() checks again.
  if (!storeExists && (await readBeforeLease(o.store.exists(), o.signal)))
    throw await storeExistsError(o.store, o.clock.now());
  const bundle = await bundled(o);
  await writeFile(modulePath, bundle);
  let lease: JobStoreLease | undefined;
  if (!storeExists) {
    await o.store.create();
    lease = await onCreated();
  }
  // Deleted through the lease, its renewals over before the deletion starts.
  const store = lease ? o.store.fencedBy(lease) : o.store;
  try {
    const moduleRef = await o.store.putModule(bundle);
    const declared = await code.start({
      modulePath,
      jobStore: o.store.absoluteLocator,
      workflowFile: o.workflowFile,
      args: o.args,
    });
    const workflow: WorkflowRecord = {
      format: 1,
      workflowId: randomUUID(),
      createdAt: o.clock.now(),
      workflowFile: o.workflowFile,
      rootJobId: declared.rootJobId,
      jobs: declared.jobs,
      module: moduleRef,
      args: [...o.args],
      options: { retryCount: o.retryCount, defaults: o.defaults },
    };
    await o.store.writeWorkflow(workflow);
    return { workflow, modulePath, jobNames: declared.jobNames };
  } catch (e) {
    if (e instanceof WorkflowStopRequestedError) {
      // Stopped before its start() returned, as any stopped run: the store is kept (toil status
      // says it was interrupted while starting, and --restart starts the workflow in it) unless
      // --clean deletes it.
      e.stoppedDuring('start', o.store.locator);
      if (!storeExists && (o.clean === 'always' || o.clean === 'onError')) {
        await store.destroy();
        e.storeDeleted(o.store.locator, o.clean);
      }
    } else if (!storeExists) {
      const removed = await store.destroy().then(
        () => true,
        () => false,
      );
      if (removed) markStoreRemoved(e);
    }
    throw e;
  }
}

/**
 * What a --restart resumes, with every check made and nothing written: the workflow, the module
 * its jobs run from now on, its jobs' names, and every commit. Undefined when the store holds no
 * workflow yet (its start was interrupted). A restart's workflow file (`restartWithFile`) is bundled
 * again: when it differs from the module the last run used (the user fixed a bug), that bundle is
 * what runs, so the jobs issued from now on run the code as it is now; the jobs that already ran
 * keep their results. Throws WORKFLOW_CHANGED when the module does not define a job the workflow
 * declared or still has to run.
 */
async function planResume(
  o: RunWorkflowOptions,
  code: WorkflowCode,
  scratchModulePath: string,
): Promise<Resume | undefined> {
  const existing = await o.store.readWorkflow();
  if (!existing) return undefined;
  // The module the last run used: a restart that changed the file recorded it.
  const current = await o.store.readCurrentModule();
  const last: WorkflowRecord = current ? { ...existing, module: current } : existing;
  const changed = o.restartWithFile ? await changedBundle(o, last) : undefined;
  let modulePath: string;
  if (changed) {
    modulePath = scratchModulePath;
    await writeFile(modulePath, changed);
  } else modulePath = await fetchWorkflowModule(o.store, last.module, join(o.workDir, MODULE_CACHE_DIR));
  const jobNames = await code.jobNames({ modulePath });
  if (changed)
    assertDefinesStoredJobs(
      o,
      existing.jobs.map((j) => j.name),
      jobNames,
    );
  assertDefinesDeclaredJobs(o, last, jobNames);
  const commits = await o.store.readAllCommits();
  // The jobs the workflow's jobs added are in their commits, not its record: a resume with a
  // workflow file that renamed one of those still to run would fail it on every attempt.
  assertDefinesStoredJobs(o, namesStillToRun(last, commits), jobNames);
  return { workflow: last, modulePath, jobNames, commits, ...(changed ? { changed } : {}) };
}

/** The workflow file's bundle: the one given, else the file bundled now. */
async function bundled(o: RunWorkflowOptions): Promise<Uint8Array> {
  return o.bundle ?? (await (o.bundleFile ?? bundleWorkflow)(o.workflowFile));
}

/** The restart's workflow file bundled, when it differs from the module the last run used. */
async function changedBundle(o: RunWorkflowOptions, last: WorkflowRecord): Promise<Uint8Array | undefined> {
  const bundle = await bundled(o);
  // A damaged stored module is replaced too: the file is what runs.
  const stored = await o.store.getModule(last.module).catch(() => undefined);
  return stored?.equals(bundle) ? undefined : bundle;
}

/**
 * A changed module (see planResume) is stored beside the first, at `modules/<sha256>.mjs`, and
 * recorded as the current one, which the next restart compares its file with; the workflow record
 * is written once and keeps naming the first module. The change is said once: a restart with the
 * file the last run used finds nothing changed.
 */
async function useResumedModule(
  o: RunWorkflowOptions,
  store: JobStore,
  resume: Resume,
  log: Logger,
): Promise<StartedWorkflow> {
  const { workflow, modulePath, jobNames, changed } = resume;
  if (!changed) return { workflow, modulePath, jobNames };
  const key = `modules/${createHash('sha256').update(changed).digest('hex')}.mjs`;
  const module = await store.putModule(changed, key);
  await store.writeCurrentModule(module);
  log.info(
    { workflowFile: o.workflowFile, module: key },
    'the workflow file changed since the last run of this workflow: the jobs that run from now on run it as it is now',
  );
  return { workflow: { ...workflow, module }, modulePath, jobNames };
}

/** The module defines every job the workflow's start declared; a store whose module does not is damaged. */
function assertDefinesDeclaredJobs(
  o: RunWorkflowOptions,
  workflow: WorkflowRecord,
  jobNames: readonly string[],
): void {
  const defined = new Set([...jobNames, ENCAPSULATION_JOB]);
  for (const spec of workflow.jobs) {
    if (!defined.has(spec.name)) {
      throw new CorruptJobStoreError(o.store.locator, `the workflow module defines no job '${spec.name}'`);
    }
  }
}

/**
 * The names of the jobs a resumed workflow still has to run: declared or added, with no commit.
 * Those only an orphaned commit added never run (see reachableCommits): a restart's workflow
 * file need not define them.
 */
function namesStillToRun(workflow: WorkflowRecord, commits: ReadonlyMap<string, JobCommit>): Set<string> {
  const names = new Set<string>();
  const add = (spec: JobSpec): void => {
    if (!commits.has(spec.id) && spec.name !== ENCAPSULATION_JOB) names.add(spec.name);
  };
  workflow.jobs.forEach(add);
  for (const commit of reachableCommits(workflow, [...commits.values()])) commit.newJobs.forEach(add);
  return names;
}

/** The changed workflow file still defines every job the workflow holds (`names`) by its name. */
function assertDefinesStoredJobs(
  o: RunWorkflowOptions,
  names: Iterable<string>,
  jobNames: readonly string[],
): void {
  const defined = new Set(jobNames);
  const missing = [...new Set(names)].filter((n) => !defined.has(n));
  if (missing.length > 0)
    throw new UserInputError(
      'WORKFLOW_CHANGED',
      `workflow file ${o.workflowFile} no longer defines ${missing.map((n) => `job '${n}'`).join(', ')}, which the workflow in job store ${o.store.locator} holds (expected the jobs of the workflow it resumes: keep their names, or run 'toil clean ${o.store.locator}' and start it anew)`,
      { workflowFile: o.workflowFile, missing },
    );
}

export { WorkflowFinishError, WorkflowStartError } from '../workflow/workflowCode.js';

async function assertWorkflowFile(file: string): Promise<void> {
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) {
    throw new UserInputError(
      'WORKFLOW_FILE_MISSING',
      `workflow file ${file} does not exist (expected a .ts or .js workflow module)`,
      {
        file,
      },
    );
  }
}
