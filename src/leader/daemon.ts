import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../common/clock.js';
import {
  IllegalStateError,
  ToilError,
  UserInputError,
  coerceError,
  isAbortError,
  isUserError,
} from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { ClusterAgent, ClusterBatchSystem } from '../ports/batchSystem.js';
import type { Provisioner } from '../ports/provisioner.js';
import { ClusterScaler } from '../scaler/tick/clusterScaler.js';
import type { TickReport } from '../scaler/tick/report.js';
import { roomOnItsWay } from '../scaler/tick/roomOnItsWay.js';
import { largestLaunchable } from '../scaler/overhead.js';
import { BOOT_FAILURE_HINT, bootBackoffViews, type BootBackoffView } from '../scaler/cost/bootBackoff.js';
import type { ObservedNode } from '../scaler/tick/clusterView.js';
import { estimatedPricesWarning, type ScalerConfig } from '../scaler/config.js';
import { runCostDollars, type TickStateStore } from '../scaler/tick/state.js';
import { JobStoreUnavailableError } from '../jobstore/errors.js';
import { WorkflowKilledError, WorkflowStopRequestedError } from './killRequest.js';
import { AnsweredHosts, refuseUnansweredHosts } from './answeredHosts.js';
import { requireBearerToken, type AuthPolicy } from './auth.js';
import { DaemonEvents } from './daemonEvents.js';
import { buildHttp, type ReadinessCheck } from './http.js';
import { shownInError } from './shownText.js';
import { StatusHistory, type StatusSample } from './statusHistory.js';
import {
  cents,
  decisionsOf,
  hourlyRate,
  registerStatusPage,
  bootBackoffDecision,
  retiredDecisions,
  unownedDecision,
} from './statusPage.js';
import type { JobEvent, WorkflowProgress } from './workflowRunner.js';
import type { LeaderConfig } from './leaderConfig.js';
import type { JobLogEntry } from './jobLogFiles.js';
import type { LeaderMetrics } from './metrics.js';
import {
  TOIL_JOB_DEFAULTS,
  validateSubmission,
  type JobDefaults,
  type SubmissionBody,
} from './submission.js';
import { ClusterWorkload, TrackedBatchSystem, type SharedNodeControl } from './workloadTracker.js';
import { CodeGate } from './codeGate.js';
import { bundleRunWorkflow, RunNotResumedError } from './runBundle.js';
import type { AroundWorkflowCode } from './guardedWorkflowCode.js';
import { cappedRunMessage, finishedRunsPastKeep } from './finishedRuns.js';
import { startedProgress } from './startedProgress.js';
import { LostAttempts } from './lostAttempts.js';
import type { LostAttemptRecord } from '../jobstore/jobRecords.js';
import {
  JobStoreNotAnsweringError,
  jobStoreIdentity,
  type StoreIdentityResolver,
} from '../jobstore/storeIdentity.js';
import { removedItsNewStore } from './storeRemoved.js';
import {
  bundleSubmittedWorkflow,
  WorkflowFileNotAnsweringError,
  type WorkflowFileAccess,
} from './workflowFileAccess.js';
import { sharedWhileRunning } from '../common/sharedWhileRunning.js';

export type DaemonState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

/** A workflow submitted to the daemon (`toil run … --leader URL`). */
export interface Submission {
  readonly workflowFile: string;
  readonly jobStore: string;
  readonly args: readonly string[];
  /** Jobs that declare nothing may run on spot nodes (--defaultPreemptable). */
  readonly defaultPreemptable?: boolean;
  /** The submitter's --retryCount, --preemptableRetries and --clean (kept with the run, so a resume honours them). */
  readonly retryCount?: number;
  readonly preemptableRetries?: number | 'unlimited';
  readonly clean?: 'always' | 'onSuccess' | 'onError' | 'never';
  /** The submitter's --servicePollingInterval and --deadlockWait, in ms (services). */
  readonly servicePollMs?: number;
  readonly deadlockWaitMs?: number;
  /** The submitter's --maxJobDuration, in ms: an attempt running longer is killed and fails. */
  readonly maxJobDurationMs?: number;
  /** The submitter's --stopOnFirstFailure: the first job failing for good ends the workflow. */
  readonly stopOnFirstFailure?: true;
  /** The submitter's --maxServiceJobs and --maxPreemptableServiceJobs (services run at once). */
  readonly maxServiceJobs?: number;
  readonly maxPreemptableServiceJobs?: number;
  /** The submitter's --maxJobs: jobs issued to the batch system at once (absent: no limit). */
  readonly maxJobs?: number;
  /** The submitter's --maxCores, --maxMemory and --maxDisk (bytes): the most one job may ask for (absent: no cap). */
  readonly maxCores?: number;
  readonly maxMemory?: number;
  readonly maxDisk?: number;
  /** The submitter's --setEnv: variables set in each job's environment while it runs. */
  readonly env?: Readonly<Record<string, string>>;
  /** The submitter's --defaultCores, --defaultMemory, --defaultDisk (bytes): a job declaring none gets these. */
  readonly defaults?: JobDefaults;
  /**
   * `toil run` options for this run (the in-process seed form passes the user's flags). Absent:
   * a new workflow, or a restart when the job store already exists, with Toil's defaults.
   */
  readonly options?: SubmissionOptions;
}

/** What a job of this submission that declares nothing gets: the seed form's flags, the submitter's, else Toil's. */
export function submissionDefaults(s: Submission): JobDefaults {
  return s.options?.defaults ?? s.defaults ?? TOIL_JOB_DEFAULTS;
}

export interface SubmissionOptions {
  readonly restart?: boolean;
  readonly clean?: 'always' | 'onSuccess' | 'onError' | 'never';
  readonly retryCount?: number;
  /** Spot losses before a job runs on on-demand (default 3; Infinity: unlimited). */
  readonly preemptableRetries?: number;
  /** --servicePollingInterval and --deadlockWait, in ms (see Submission). */
  readonly servicePollMs?: number;
  readonly deadlockWaitMs?: number;
  /** --maxJobDuration, in ms (see Submission). */
  readonly maxJobDurationMs?: number;
  /** --stopOnFirstFailure (see Submission). */
  readonly stopOnFirstFailure?: true;
  /** --maxServiceJobs and --maxPreemptableServiceJobs (see Submission). */
  readonly maxServiceJobs?: number;
  readonly maxPreemptableServiceJobs?: number;
  /** --maxJobs (see Submission). */
  readonly maxJobs?: number;
  /** --maxCores, --maxMemory and --maxDisk (see Submission). */
  readonly maxCores?: number;
  readonly maxMemory?: number;
  readonly maxDisk?: number;
  readonly defaults?: JobDefaults;
  readonly workDir?: string;
  /** The workflow module already bundled (the seed form checks it first); a new run uses it as is. */
  readonly bundle?: Uint8Array;
  /** --setEnv (see Submission.env). */
  readonly env?: Readonly<Record<string, string>>;
  /** Each job attempt's log as the leader learns of its end (the seed form's `--writeLogs`). */
  readonly onJobLog?: (entry: JobLogEntry) => Promise<void>;
  /** Each job event as it happens (the seed form's `--writeMessages`). */
  readonly onJobEvent?: (event: JobEvent) => void;
}

export interface WorkflowRun {
  readonly id: string;
  readonly submission: Submission;
  /** `cancelled`: stopped by its user (`toil cancel`, DELETE /workflows/:id), not failed by its workflow. */
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  readonly submittedAt: number;
  finishedAt?: number;
  jobsRun?: number;
  /** Jobs found already done in the job store when the run resumed (a restarted leader, a resubmission). */
  jobsReplayed?: number;
  message?: string;
  /** The run was refused for bad input (a UserInputError): `toil run` exits 2. */
  userError?: boolean;
  /**
   * The run's job store could not be reached or read (JobStoreUnavailableError: an S3 endpoint that
   * does not answer, a disk refusing reads): `toil run` exits 3, as a local run does.
   */
  storeUnreachable?: boolean;
  /**
   * A failed run's message already says what became of its job store: kept and what resumes it
   * (stopped by `toil kill`, or not resumed again), or deleted by `--clean` after a `toil kill`:
   * the client following it adds no line of its own.
   */
  messageSaysResume?: boolean;
  /**
   * The run failed as its workflow started (its code crashed or hung in start) and its new job
   * store was removed: the client following it says nothing is left to restart, not "kept".
   */
  storeRemoved?: true;
  /**
   * The run was stopped by `toil kill`, not failed by its workflow: the client following it says
   * so (with the message: who asked, and that submitting it again resumes it), not "failed".
   */
  stoppedByKill?: boolean;
  /** The workflow's progress as its leader last reported it. */
  progress?: WorkflowProgress;
  /**
   * What the run's own code said that its submitter is to see (a module still loading after
   * 10 s), each once: the client following it prints the ones it has not printed.
   */
  notices?: string[];
  /**
   * The workflow took its arguments: its start() returned, or the run resumed one that had
   * started. The client following it then says what it says of them once they are taken (a toil
   * option misspelt, which the workflow took and toil did not act on), as a local run does.
   */
  argsTaken?: true;
  /** A failed run's failed jobs (at most MAX_FAILED_JOBS_SHOWN), each with the tail of its log. */
  failedJobs?: readonly FailedJobSummary[];
  /**
   * The attempts this leader's run lost with their node (a spot reclaim, a node gone): how many,
   * and the newest (at most MAX_LOST_LISTED), as `toil status` lists them. Absent while none was.
   */
  lostCount?: number;
  lost?: readonly LostAttemptRecord[];
  /**
   * Times a leader died (or stopped) while this run's own code was running (codeRunning) and the
   * next one resumed it, without a job completing since: past `workflows.maxResumes` the run is
   * failed instead of resumed again, so a workflow whose code kills its leader does not do so for
   * ever. A restart while the run's code was not running does not count: it was not the cause.
   */
  resumes?: number;
  /**
   * The run's own code (its module's load, `start` or `finish`) is running in its host process:
   * set, durably, before the daemon enters it and cleared once the call has returned. Found set
   * by a restarted leader, the run is the one (or one of those) that may have killed the last.
   */
  codeRunning?: true;
  /** DELETE /workflows/:id was accepted: a restarted leader does not resume it. */
  cancelRequested?: boolean;
  /** When DELETE /workflows/:id was accepted, and the address it came from. */
  cancelledAt?: number;
  cancelledFrom?: string;
}

export interface DaemonDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: LeaderMetrics;
  /** The config in force; `config()` is read at every tick, so a reload applies at the next one. */
  readonly config: () => LeaderConfig;
  readonly provisioner: Provisioner;
  readonly tickStore: TickStateStore;
  /**
   * A fresh batch system for one workflow (with Mesos: one framework per workflow, as in Toil),
   * which keeps what it needs to be found again in the workflow's job store (its framework id):
   * the daemon restarted resumes the same framework, and `toil kill --force` finds it.
   */
  readonly newBatchSystem: (submission: Submission) => ClusterBatchSystem;
  /** The cluster's agents as its manager reports them, for when no workflow is running. */
  readonly idleClusterAgents: () => Promise<ClusterAgent[]>;
  /** When the cluster manager's node states are shared by every workflow (Slurm): its control. */
  readonly sharedNodes?: SharedNodeControl;
  /** Runs one workflow to the end on the given batch system. */
  readonly runWorkflow: (
    submission: Submission,
    batchSystem: TrackedBatchSystem,
    onProgress: (progress: WorkflowProgress) => void,
    /** Aborted by `cancel`: the run ends with the reason as its error. */
    signal: AbortSignal,
    /** The run's id, as `/workflows/:id` and `toil cancel` name it. */
    workflowId: string,
    /** Whether the scaler is adding room for waiting jobs (a node booting, a launch planned). */
    roomOnItsWay: () => boolean,
    /**
     * Each call of the workflow's own code is to run through this (guardedWorkflowCode): the
     * daemon marks the run as in its code while it runs, for the crash-loop guard.
     */
    aroundCode: AroundWorkflowCode,
    /**
     * How the run's workflow file is bundled when the run must bundle it (a resumed run whose saved
     * module is missing): in a process of its own, bounded as a submission's bundle, stopped with
     * the run. runWorkflow's bundleFile.
     */
    bundleFile: (workflowFile: string) => Promise<Uint8Array>,
    /** Once the workflow's arguments are taken (runWorkflow's onArgsTaken). */
    onArgsTaken: () => void,
    /** Each attempt the run loses with its node (runWorkflow's onAttemptLost). */
    onAttemptLost: (lost: LostAttemptRecord) => void,
    /** A line for the run's submitter (IsolatedWorkflowCode's onNotice): see WorkflowRun.notices. */
    onNotice: (line: string) => void,
  ) => Promise<{
    status: 'succeeded' | 'failed';
    jobsRun: number;
    replayed?: number;
    message?: string;
    failedJobs?: readonly FailedJobSummary[];
  }>;
  readonly readiness: readonly ReadinessCheck[];
  /**
   * Where submitted workflows are remembered: a leader restarted after a crash resumes the ones
   * still running (from their job stores, with `--restart` semantics). Optional for tests.
   */
  readonly runStore?: RunStore;
  /**
   * Whether `toil kill` asked the last leader of a workflow's job store to stop (a request it
   * may not have seen, having died): such a workflow is not resumed. Absent: none is looked for.
   */
  readonly killRequested?: (submission: Submission) => Promise<boolean>;
  /** Where the status page's plot history is kept across restarts; absent: it starts empty. */
  readonly historyStore?: HistoryStore;
  /** The bearer token and which read-only routes need it; absent: no route needs one (tests). */
  readonly auth?: AuthPolicy;
  /** How a submitted job store's path is resolved to tell one store from another; absent: the file system's, bounded. */
  readonly storeIdentity?: StoreIdentityResolver;
  /** How a submitted workflow file is examined and bundled; absent: the file system's and esbuild's, bounded. */
  readonly workflowFiles?: WorkflowFileAccess;
}

/**
 * The workflows a daemon has taken, persisted so a restarted daemon resumes those still running.
 * Contract: `save` resolves once the list is durable (the daemon answers a submission only then);
 * a submission's bundled module is kept under its run id until the run ends.
 */
export interface RunStore {
  load(): Promise<readonly WorkflowRun[]>;
  save(runs: readonly WorkflowRun[]): Promise<void>;
  saveModule(id: string, bundle: Uint8Array): Promise<void>;
  /** Undefined when none was saved (a record from before modules were kept). */
  loadModule(id: string): Promise<Uint8Array | undefined>;
  deleteModule(id: string): Promise<void>;
}

/**
 * The status page's samples, kept so a restarted leader's plots go on where they stopped.
 * Contract: `load` returns what the last `save` stored (oldest first), or nothing.
 */
export interface HistoryStore {
  load(): Promise<readonly StatusSample[]>;
  save(samples: readonly StatusSample[]): Promise<void>;
}

/** The plot history is written at most this often (and at stop): a crash loses at most this much. */
const HISTORY_SAVE_INTERVAL_MS = 60_000;

/** The run was cancelled by its user (DELETE /workflows/:id, `toil cancel`): it ends `cancelled`. */
export class WorkflowCancelledError extends WorkflowStopRequestedError {
  readonly at: number;
  /** The address the request came from. */
  readonly from: string;

  constructor(id: string, at: number, from: string) {
    super(
      'WORKFLOW_CANCELLED',
      `workflow ${id} cancelled at the leader (DELETE /workflows/:id from ${from} at ${new Date(at).toISOString()})`,
    );
    this.at = at;
    this.from = from;
  }
}

/**
 * The daemon is stopping: a running workflow's runner ends (its jobs killed) and its record stays
 * `running`, so the next start resumes it. Left running, its runner kept the process alive after
 * `stopped` (re-subscribing to a Mesos master that had gone), holding the job store.
 */
class LeaderStoppingError extends ToilError {
  constructor(id: string) {
    super(
      'WORKFLOW_CANCELLED',
      `workflow ${id} suspended: the leader is stopping; its next start resumes it`,
    );
  }
}

/**
 * The daemon takes no workflow now: it is starting or stopping (503, with this code, which
 * `toil run --leader` waits out: a leader restarting takes the submission once it is back).
 */
export class LeaderNotTakingWorkflowsError extends ToilError {
  constructor(state: DaemonState) {
    super('LEADER_NOT_TAKING', `the leader is ${state}; it takes no new workflows`, {
      disposition: 'retry',
      details: { state },
    });
  }
}

/** Another run of this daemon is using the job store (409). */
export class JobStoreBusyError extends ToilError {
  /** `holderLocator`: how the running workflow's submission spelt the store, when not as `jobStore` does. */
  constructor(jobStore: string, id: string, holderLocator?: string) {
    const as = holderLocator !== undefined && holderLocator !== jobStore ? ` (as ${holderLocator})` : '';
    super('JOB_STORE_BUSY', `jobStore ${jobStore}: workflow ${id} is running on it${as}; cancel it or wait`);
  }
}

/**
 * The leader daemon: a state machine (starting → running → draining → stopped, or failed) that
 * owns the scaler loop, the HTTP surface and the workflows submitted to it.
 *
 * Stop (SIGTERM): no more launches, no new workflows; in-flight provisioner calls finish; the tick
 * state is persisted; HTTP closes. `abort()` (a second signal) cancels in-flight retries at once.
 */
export class LeaderDaemon {
  private readonly d: DaemonDeps;
  private readonly log: Logger;
  readonly scaler: ClusterScaler;
  readonly workload: ClusterWorkload;
  private stateValue: DaemonState = 'starting';
  private readonly stopLoop = new AbortController();
  private wake: AbortController | undefined;
  private wakeScheduled = false;
  private loopDone: Promise<void> = Promise.resolve();
  private app: FastifyInstance | undefined;
  private readonly runs = new Map<string, WorkflowRun>();
  private readonly runPromises = new Set<Promise<void>>();
  private readonly cancels = new Map<string, AbortController>();
  /** Each running workflow's batch system, to tell its started jobs from its queued ones. */
  private readonly batchSystems = new Map<string, TrackedBatchSystem>();
  /** A run charged for a leader's death runs its code alone (see CodeGate). */
  private readonly codeGate = new CodeGate();
  /**
   * The job stores in use (jobStoreIdentity) and the run using each, from the moment a submission
   * passes its checks: two submissions on one store at once, or one store spelt two ways (a
   * symlink, a trailing slash), got a 202 each, and all but one run then failed on the store.
   */
  private readonly storeHolders = new Map<string, string>();
  readonly startedAt: number;
  /** When each queue change was seen and when the next launch call followed, for measurements. */
  readonly queueChanges: number[] = [];

  constructor(deps: DaemonDeps) {
    this.d = deps;
    this.log = deps.log.child({ component: 'daemon' });
    this.startedAt = deps.clock.now();
    this.workload = new ClusterWorkload(deps.idleClusterAgents, deps.sharedNodes);
    this.scaler = new ClusterScaler({
      provisioner: deps.provisioner,
      cluster: this.workload,
      store: deps.tickStore,
      clock: deps.clock,
      log: deps.log,
      metrics: deps.metrics,
      config: () => deps.config(),
      onReport: (r) => this.onReport(r),
    });
  }

  get state(): DaemonState {
    return this.stateValue;
  }

  private transition(to: DaemonState): void {
    this.log.info({ from: this.stateValue, to }, 'leader state');
    this.stateValue = to;
  }

  /** Adopts the last leader's instances, starts the loop, serves HTTP; resolves with the URL. */
  async start(): Promise<string> {
    if (this.stateValue !== 'starting') throw new IllegalStateError(`start() in state ${this.stateValue}`);
    let adopted = false;
    let serving = false;
    try {
      await this.scaler.restore();
      adopted = true;
      for (const s of (await this.d.historyStore?.load().catch(() => [])) ?? []) this.history.record(s);
      const previous = (await this.d.runStore?.load()) ?? [];
      // The runs to resume are listed as they were left, running, before the port opens: a client
      // following one (toil run --leader) asked in between, got 404 and gave up on a run that
      // was about to resume. resume() replaces each with its resumed (or refused) run.
      for (const r of previous) this.runs.set(r.id, r);
      this.forgetOldFinished();
      this.app = this.buildApp();
      const { host, port } = this.d.config().http;
      const address = await this.app.listen({ host, port });
      serving = true;
      this.loopDone = Promise.all([
        this.loop(),
        // A spot notice read between ticks wakes one at once: its replacement is launched now.
        this.scaler.watchNotices(this.stopLoop.signal, () => this.wake?.abort()),
      ]).then(() => undefined);
      this.transition('running');
      await this.resume(previous.filter((r) => r.status === 'running'));
      return address;
    } catch (e) {
      this.transition('failed');
      // Adopted by a leader that never runs (its port taken, its state unreadable), the last
      // leader's nodes would be left as they were: they are ended as this leader's stop would.
      if (adopted && !serving)
        await this.endOwned().catch((err: unknown) =>
          this.log.warn({ err }, 'could not release or keep the adopted nodes after the failed start'),
        );
      throw e;
    }
  }

  /** Releases this leader's nodes (shutdown.releaseNodes) or marks them kept, and saves that. */
  private async endOwned(): Promise<void> {
    if (this.d.config().shutdown.releaseNodes) await this.scaler.releaseOwned();
    else await this.scaler.keepOwned();
    await this.d.tickStore.save(this.scaler.persisted);
  }

  /**
   * The runs a crashed or stopped predecessor left running: resumed from their saved submission
   * (a run whose start was interrupted starts again), except one cancelled, or one whose own code
   * was running each time a leader ended too often without progress, which is failed with why.
   * Only the runs whose code was running are charged, when any was: the others did nothing to the
   * leader.
   */
  private async resume(previous: readonly WorkflowRun[]): Promise<void> {
    const max = this.d.config().workflows.maxResumes;
    // A leader that ended while no run's code ran (a kill -9, the machine going down, or a fault of
    // its own that a run's state sets off again at each start) names no culprit: every run is
    // charged then, as before runs were marked, so a loop no run's code causes still ends.
    const culpritKnown = previous.some((r) => r.codeRunning);
    for (const { codeRunning, ...r } of previous) {
      const charged = codeRunning === true || !culpritKnown;
      const resumes = (r.resumes ?? 0) + (charged ? 1 : 0);
      // A store that cannot be read now is resumed (the run names what is wrong with it).
      const killed = this.d.killRequested
        ? await this.d.killRequested(r.submission).catch(() => false)
        : false;
      const refuse = r.cancelRequested
        ? 'was cancelled before the leader restarted'
        : killed
          ? 'was stopped by toil kill while the leader was down; its job store is kept: submit it again to restart it'
          : charged && resumes > max
            ? codeRunning
              ? `was resumed ${resumes - 1} times without a job completing, each time after the leader ended while the workflow's own code (its module's load, start or finish) was running (workflows.maxResumes ${max}): its code may be what stops the leader; not resumed again. Submit it again to restart it from its job store`
              : `was resumed ${resumes - 1} times without a job completing (workflows.maxResumes ${max}); not resumed again. Submit it again to restart it from its job store`
            : undefined;
      if (refuse) {
        this.runs.set(r.id, {
          ...r,
          status: r.cancelRequested ? 'cancelled' : 'failed',
          message: `workflow ${r.id} ${refuse}`,
          ...(r.cancelRequested ? {} : { messageSaysResume: true }),
          ...(killed && !r.cancelRequested ? { stoppedByKill: true } : {}),
          finishedAt: this.d.clock.now(),
        });
        this.log.warn({ workflow: r.id }, `not resuming: ${refuse}`);
        await this.d.runStore?.deleteModule(r.id).catch(() => undefined);
        continue;
      }
      this.log.info(
        { workflow: r.id, resumes, ...(codeRunning ? { codeWasRunning: true } : {}) },
        'resuming a workflow the last leader was running',
      );
      const bundle = await this.d.runStore?.loadModule(r.id);
      const options = r.submission.options ?? {};
      // A store whose file system does not answer is resumed still (the run names what is wrong).
      const storeKey = await jobStoreIdentity(r.submission.jobStore, this.d.storeIdentity).catch(
        (e: unknown) => {
          if (!(e instanceof JobStoreNotAnsweringError)) throw e;
          return r.submission.jobStore;
        },
      );
      this.submit(
        { ...r.submission, ...(bundle ? { options: { ...options, bundle } } : {}) },
        r.id,
        { resumes, submittedAt: r.submittedAt, ...(bundle ? {} : { moduleMissing: true }) },
        storeKey,
      );
    }
    // Those refused above are finished runs now, counted with the rest.
    this.forgetOldFinished();
    await this.persistRuns();
  }

  private assertTakingWorkflows(): void {
    if (this.stateValue !== 'running') throw new LeaderNotTakingWorkflowsError(this.stateValue);
  }

  /**
   * POST /workflows: validated (400 with what is wrong), bundled (a syntax error is a 400 too),
   * and the whole submission (its module included) durable before it is answered: a leader killed
   * right after the 202 starts it again from that record.
   */
  async accept(body: unknown): Promise<WorkflowRun> {
    const s: SubmissionBody = await validateSubmission(body, this.d.workflowFiles);
    this.assertTakingWorkflows();
    const storeKey = await jobStoreIdentity(s.jobStore, this.d.storeIdentity);
    // The leader may have begun stopping while the store's file system was asked.
    this.assertTakingWorkflows();
    const holder = this.storeHolders.get(storeKey);
    if (holder !== undefined)
      throw new JobStoreBusyError(s.jobStore, holder, this.runs.get(holder)?.submission.jobStore);
    const id = randomUUID();
    this.storeHolders.set(storeKey, id);
    try {
      return await this.takeSubmission(s, id, storeKey);
    } catch (e) {
      if (this.storeHolders.get(storeKey) === id) this.storeHolders.delete(storeKey);
      throw e;
    }
  }

  /** Bundles a checked submission, saves it (module included) and starts it as run `id`. */
  private async takeSubmission(s: SubmissionBody, id: string, storeKey: string): Promise<WorkflowRun> {
    const bundle = await bundleSubmittedWorkflow(s.workflowFile, this.d.workflowFiles);
    const submission: Submission = {
      workflowFile: s.workflowFile,
      jobStore: s.jobStore,
      args: s.args,
      ...(s.defaultPreemptable !== undefined ? { defaultPreemptable: s.defaultPreemptable } : {}),
      ...(s.retryCount !== undefined ? { retryCount: s.retryCount } : {}),
      ...(s.preemptableRetries !== undefined ? { preemptableRetries: s.preemptableRetries } : {}),
      ...(s.clean !== undefined ? { clean: s.clean } : {}),
      ...(s.servicePollMs !== undefined ? { servicePollMs: s.servicePollMs } : {}),
      ...(s.deadlockWaitMs !== undefined ? { deadlockWaitMs: s.deadlockWaitMs } : {}),
      ...(s.maxJobDurationMs !== undefined ? { maxJobDurationMs: s.maxJobDurationMs } : {}),
      ...(s.stopOnFirstFailure ? { stopOnFirstFailure: true as const } : {}),
      ...(s.maxServiceJobs !== undefined ? { maxServiceJobs: s.maxServiceJobs } : {}),
      ...(s.maxPreemptableServiceJobs !== undefined
        ? { maxPreemptableServiceJobs: s.maxPreemptableServiceJobs }
        : {}),
      ...(s.maxJobs !== undefined ? { maxJobs: s.maxJobs } : {}),
      ...(s.maxCores !== undefined ? { maxCores: s.maxCores } : {}),
      ...(s.maxMemory !== undefined ? { maxMemory: s.maxMemory } : {}),
      ...(s.maxDisk !== undefined ? { maxDisk: s.maxDisk } : {}),
      ...(s.env !== undefined && Object.keys(s.env).length > 0 ? { env: s.env } : {}),
      ...(s.defaults !== undefined ? { defaults: s.defaults } : {}),
    };
    const store = this.d.runStore;
    if (store) {
      // A stop that began while the file was bundled or its module written: nothing of the run is
      // on record yet, so it is refused whole (503), not left for the next start to run unasked.
      this.assertTakingWorkflows();
      await store.saveModule(id, bundle);
      if (this.stateValue !== 'running') {
        await store.deleteModule(id).catch(() => undefined);
        this.assertTakingWorkflows();
      }
      const record: WorkflowRun = { id, submission, status: 'running', submittedAt: this.d.clock.now() };
      // Written in turn with the other writes of the list, each of which holds it until it is
      // taken: a write the stop makes meanwhile does not drop it.
      this.taking.set(id, record);
      try {
        await this.persistRuns();
      } catch (e) {
        this.taking.delete(id);
        throw e;
      }
      this.taking.delete(id);
      if (this.stateValue !== 'running') return this.leaveForNextStart(record);
    }
    return this.submit({ ...submission, options: { bundle } }, id, undefined, storeKey);
  }

  /**
   * A submission made durable while the leader began to stop: it is taken (202), as a leader
   * killed right after the 202 would take it, and the next start runs it from its record.
   */
  private leaveForNextStart(record: WorkflowRun): WorkflowRun {
    this.runs.set(record.id, record);
    this.log.info(
      {
        workflow: record.id,
        workflowFile: record.submission.workflowFile,
        jobStore: record.submission.jobStore,
      },
      'workflow taken as the leader stops: its next start runs it',
    );
    return record;
  }

  /**
   * Takes a workflow; its own code runs apart from the daemon (see DaemonDeps.runWorkflow).
   * `storeKey` is its job store's jobStoreIdentity, resolved by the caller (it awaits the file
   * system); a caller running one workflow alone may leave it to the locator as written.
   */
  submit(
    submission: Submission,
    id: string = randomUUID(),
    resumed?: { resumes: number; submittedAt: number; moduleMissing?: true },
    storeKey: string = submission.jobStore,
  ): WorkflowRun {
    this.assertTakingWorkflows();
    const run: WorkflowRun = {
      id,
      submission,
      status: 'running',
      submittedAt: resumed?.submittedAt ?? this.d.clock.now(),
      ...(resumed?.resumes ? { resumes: resumed.resumes } : {}),
    };
    this.runs.set(run.id, run);
    this.storeHolders.set(storeKey, run.id);
    this.saveRuns();
    let baseline: number | undefined;
    const onProgress = (progress: WorkflowProgress): void => {
      run.progress = progress;
      // A job completed since the resume: the run is moving, the resume count starts over.
      baseline ??= progress.completed;
      if (run.resumes && progress.completed > baseline) {
        delete run.resumes;
        this.saveRuns();
      }
    };
    // A job bigger than every node registered so far may still fit a type the scaler launches.
    const tracked = new TrackedBatchSystem(
      this.d.newBatchSystem(submission),
      this.d.clock,
      () => this.queueChanged(),
      () => largestLaunchable(this.d.config().scaler),
      (agent) => this.scaler.nodeOfAgent(agent),
    );
    this.workload.add(tracked);
    this.batchSystems.set(run.id, tracked);
    const cancel = new AbortController();
    this.cancels.set(run.id, cancel);
    let suspended = false;
    // Shown to its submitter (GET /workflows/:id), who otherwise saw nothing of a spot reclaim.
    const lostAttempts = new LostAttempts();
    const p = this.d
      .runWorkflow(
        submission,
        tracked,
        onProgress,
        cancel.signal,
        run.id,
        () => roomOnItsWay(this.scaler.nodes, this.scaler.report?.plan),
        this.aroundCode(run, cancel.signal),
        (workflowFile) =>
          bundleRunWorkflow({
            id: run.id,
            workflowFile,
            stop: cancel.signal,
            moduleMissing: resumed?.moduleMissing === true,
            files: this.d.workflowFiles,
          }),
        () => {
          run.argsTaken = true;
        },
        (lost) => {
          lostAttempts.add(lost);
          Object.assign(run, lostAttempts.record());
        },
        // Each load of a resumed run may say it again: once is enough.
        (line) => {
          if (!run.notices?.includes(line)) run.notices = [...(run.notices ?? []), line];
        },
      )
      .then(
        (r) => {
          run.status = r.status;
          run.jobsRun = r.jobsRun;
          if (r.replayed) run.jobsReplayed = r.replayed;
          if (r.message !== undefined) run.message = cappedRunMessage(r.message);
          if (r.failedJobs?.length) run.failedJobs = r.failedJobs.slice(0, MAX_FAILED_JOBS_SHOWN);
        },
        (e: unknown) => {
          if (cancel.signal.aborted && cancel.signal.reason instanceof LeaderStoppingError) {
            suspended = true;
            this.log.info({ workflow: run.id }, 'workflow suspended: the leader is stopping');
            return;
          }
          // Its user's stop, not a failure: the run says so, and the client following it too.
          run.status = e instanceof WorkflowCancelledError ? 'cancelled' : 'failed';
          run.message = cappedRunMessage(coerceError(e).message);
          if (isUserError(e)) run.userError = true;
          if (e instanceof JobStoreUnavailableError) run.storeUnreachable = true;
          if (removedItsNewStore(e)) run.storeRemoved = true;
          if (e instanceof WorkflowKilledError) run.messageSaysResume = run.stoppedByKill = true;
          if (e instanceof WorkflowStopRequestedError && e.storeDeletedBy !== undefined)
            run.messageSaysResume = true;
          // A cancellation someone asked for (DELETE, a signal to `toil run`, `toil kill`) is no
          // fault: one line, no stack.
          if ((cancel.signal.aborted && e === cancel.signal.reason) || e instanceof WorkflowKilledError)
            this.log.warn({ workflow: run.id, reason: run.message }, 'workflow cancelled');
          // A mistake in the workflow or its flags (exit 2) is the user's to fix: its words, no stack.
          else if (isUserError(e))
            this.log.warn({ workflow: run.id, code: e.code, reason: run.message }, 'workflow refused');
          // The workflow file's (a hung mount, a file gone or broken since): its one line, no stack.
          else if (e instanceof RunNotResumedError)
            this.log.warn({ workflow: run.id, code: e.code, reason: run.message }, 'workflow not resumed');
          // The store's, not a bug of the daemon's: its one line, no stack.
          else if (e instanceof JobStoreUnavailableError)
            this.log.warn(
              { workflow: run.id, code: e.code, reason: run.message },
              'workflow stopped: its job store could not be reached or read',
            );
          else this.log.error({ err: coerceError(e), workflow: run.id }, 'workflow failed to run');
        },
      )
      .finally(() => {
        if (this.storeHolders.get(storeKey) === run.id) this.storeHolders.delete(storeKey);
        this.cancels.delete(run.id);
        this.batchSystems.delete(run.id);
        this.workload.remove(tracked);
        this.runPromises.delete(p);
        // A suspended run keeps its record and module for the next start to resume it.
        if (suspended) return;
        run.finishedAt = this.d.clock.now();
        // Its jobs were killed or have ended: a finished run shows none running (a cancelled one
        // kept the count of its last progress report).
        if (run.progress) run.progress = { ...run.progress, running: 0 };
        this.forgetOldFinished();
        this.saveRuns();
        void this.d.runStore?.deleteModule(run.id).catch(() => undefined);
        this.queueChanged();
        this.events.emit('workflowFinished', {
          id: run.id,
          status: run.status === 'running' ? 'failed' : run.status,
          ...(run.jobsRun !== undefined ? { jobsRun: run.jobsRun } : {}),
        });
      });
    this.runPromises.add(p);
    this.log.info(
      {
        workflow: run.id,
        workflowFile: submission.workflowFile,
        jobStore: submission.jobStore,
        args: submission.args,
        ...(submission.options?.restart ? { restart: true } : {}),
      },
      'workflow submitted',
    );
    return run;
  }

  /**
   * What each call of `run`'s own code runs through: the run is marked as in its code, durably,
   * before the call and unmarked after it, so a leader killed by that code (a `process.kill` of its
   * parent, an exit it causes) leaves a record saying whose code it was. A call ended by this
   * leader's stop keeps the mark: a `start` that signals its leader to stop is charged as one that
   * kills it. A run already charged runs its code alone, so the next death is charged to it only.
   */
  private aroundCode(run: WorkflowRun, signal: AbortSignal): AroundWorkflowCode {
    let calls = 0;
    return async (call) => {
      const leave = await this.codeGate.enter(run.resumes !== undefined);
      try {
        calls++;
        if (!run.codeRunning) {
          run.codeRunning = true;
          await this.persistRuns().catch((e: unknown) =>
            this.log.warn({ err: coerceError(e), workflow: run.id }, 'could not mark the run as in its code'),
          );
        }
        try {
          return await call();
        } finally {
          calls--;
          const stopping = signal.aborted && signal.reason instanceof LeaderStoppingError;
          if (calls === 0 && !stopping) {
            delete run.codeRunning;
            await this.persistRuns().catch(() => undefined);
          }
        }
      } finally {
        leave();
      }
    };
  }

  private saveRuns(): void {
    void this.persistRuns().catch((e: unknown) =>
      this.log.warn({ err: coerceError(e) }, 'could not persist the workflow list'),
    );
  }

  /** Writes the run list (chained, so writes land in order); rejects when this write failed. */
  private persistRuns(): Promise<void> {
    const store = this.d.runStore;
    if (!store) return Promise.resolve();
    const write = this.runsSaved.catch(() => undefined).then(() => store.save(this.persistable()));
    this.runsSaved = write.catch(() => undefined);
    return write;
  }

  /**
   * Forgets the finished runs past the newest `workflows.keepFinished`: the list and the state
   * hold the running runs and that many finished ones, however many the leader has run.
   */
  private forgetOldFinished(): void {
    for (const id of finishedRunsPastKeep(this.runs.values(), this.d.config().workflows.keepFinished)) {
      this.runs.delete(id);
      // Its module went when it finished, unless that delete failed: it goes with its record now.
      void this.d.runStore?.deleteModule(id).catch(() => undefined);
    }
  }

  /**
   * The runs as persisted: no module bytes, and the progress of finished runs only. A running
   * run's counts change with every job and its next leader reports them anew; a finished run's
   * are its last word, which a restarted leader's /status and page showed as nothing.
   */
  private persistable(): WorkflowRun[] {
    return [...this.runs.values(), ...this.taking.values()]
      .map((run) => withoutBundle(run))
      .map(({ progress, ...r }) => (r.status !== 'running' && progress ? { ...r, progress } : r));
  }

  /** Submissions whose record is being made durable: in every write of the list until taken. */
  private readonly taking = new Map<string, WorkflowRun>();

  private runsSaved: Promise<void> = Promise.resolve();

  workflow(id: string): WorkflowRun | undefined {
    return this.runs.get(id);
  }

  /**
   * A running workflow's progress with its issued jobs told apart as `toil status` tells them:
   * started on a node (running), or queued in the batch system (waiting), as it stands now. The
   * leader reports only issued jobs, and a job queued for a node still booting is not running.
   */
  progressOf(run: WorkflowRun): WorkflowProgress | undefined {
    const p = run.progress;
    const batchSystem = this.batchSystems.get(run.id);
    if (!p || !batchSystem || run.status !== 'running') return p;
    return startedProgress(p, batchSystem);
  }

  /**
   * Ends a running workflow with `reason` as its error (a UserInputError marks it as the user's
   * to fix). Its jobs stop being issued; what runs is left to finish or to the batch system.
   */
  cancel(id: string, reason: Error): void {
    const run = this.runs.get(id);
    if (run?.status === 'running') {
      run.cancelRequested = true;
      // The first stop is the one the run ends with: a later cancel changes nothing of it.
      if (reason instanceof WorkflowCancelledError && !this.cancels.get(id)?.signal.aborted) {
        run.cancelledAt = reason.at;
        run.cancelledFrom = reason.from;
      }
      this.saveRuns();
    }
    this.cancels.get(id)?.abort(reason);
  }

  /** Graceful stop: no launches, in-flight calls finish, state persisted, HTTP closed. */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped' || this.stateValue === 'draining') return;
    this.transition('draining');
    this.scaler.stopLaunching();
    this.stopLoop.abort();
    this.wake?.abort();
    for (const [id, cancel] of this.cancels) cancel.abort(new LeaderStoppingError(id));
    // In-flight calls and the runs' ends get shutdown.grace; then the calls and their retries are aborted.
    const settled = (async () => {
      await this.loopDone;
      await this.scaler.idle();
      await this.workflowsDone();
    })();
    const timer = new AbortController();
    const timedOut = await Promise.race([
      settled.then(() => false),
      this.d.clock.sleep(this.d.config().shutdown.grace, timer.signal).then(
        () => true,
        () => false,
      ),
    ]);
    timer.abort();
    if (timedOut) {
      this.log.warn(
        { graceMs: this.d.config().shutdown.grace },
        'shutdown grace over: aborting in-flight calls',
      );
      this.scaler.abortInFlight();
      await settled.catch(() => undefined);
    }
    // A release the cloud refuses leaves the nodes in the saved tick state, the record of what
    // may still be billing; the rest of the stop happens all the same, so that nothing of this
    // leader (its HTTP server) keeps the process running after it.
    let released = false;
    try {
      await this.endOwned();
      released = true;
    } finally {
      await this.saveHistory();
      await this.runsSaved;
      await this.app?.close();
      this.transition(released ? 'stopped' : 'failed');
    }
  }

  /** A second signal: cancel in-flight calls and retries now. */
  abort(): void {
    this.log.warn('aborting in-flight calls');
    this.scaler.abortInFlight();
  }

  /** Waits for every submitted workflow to end (for the seed's one-workflow form and tests). */
  async workflowsDone(): Promise<void> {
    while (this.runPromises.size > 0) await Promise.all([...this.runPromises]);
  }

  private queueChanged(): void {
    this.queueChanges.push(this.d.clock.now());
    if (this.wakeScheduled || this.stopLoop.signal.aborted) return;
    this.wakeScheduled = true;
    // Debounced: a burst of issues becomes one tick, soon.
    void this.d.clock.sleep(this.d.config().tick.queueDebounce, this.stopLoop.signal).then(
      () => {
        this.wakeScheduled = false;
        this.wake?.abort();
      },
      () => (this.wakeScheduled = false),
    );
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopLoop.signal.aborted) {
      let waitMs: number;
      // Armed before the tick: a wake-up that comes while it runs (a queue change, a spot notice)
      // makes the next tick follow at once, rather than a scaleInterval later.
      const wake = (this.wake = new AbortController());
      try {
        waitMs = (await this.scaler.tick()).requeueAfterMs;
        failures = 0;
      } catch (e) {
        if (isAbortError(e) && this.stopLoop.signal.aborted) break;
        failures++;
        waitMs = Math.min(60_000, 1000 * 2 ** Math.min(failures, 6));
        this.d.metrics.ticks.inc({ result: 'error' });
        this.log.error({ err: coerceError(e), retryInMs: waitMs }, 'scaler tick failed');
      }
      if (this.stopLoop.signal.aborted) break;
      const both = AbortSignal.any([wake.signal, this.stopLoop.signal]);
      await this.d.clock.sleep(waitMs, both).catch(() => undefined);
    }
  }

  /** Typed events: `tick`, `launched`, `drained`, `workflowFinished` (see daemonEvents.ts). */
  readonly events = new DaemonEvents();

  private onReport(r: TickReport): void {
    this.log.debug({ durationMs: r.durationMs, plans: r.plans }, 'scaler tick done');
    const nodes: Record<string, number> = {};
    const spotPrices: Record<string, number> = {};
    for (const n of this.scaler.nodes) {
      const key = `${n.capacityType}/${n.instanceType}/${n.state}`;
      nodes[key] = (nodes[key] ?? 0) + 1;
      // A spot node priced at on-demand (no spot price read for its type) or not at all is no quote.
      if (n.capacityType === 'spot' && n.priceSource !== 'on-demand' && n.priceSource !== 'unknown')
        spotPrices[`${n.instanceType}/${n.zone}`] = n.pricePerHour;
    }
    const { queued, running } = this.scaler.jobs;
    this.history.record({
      at: r.at,
      nodes,
      queued,
      running,
      hourlyCost: this.scaler.nodes.reduce((sum, n) => sum + n.pricePerHour, 0),
      costDollars: runCostDollars(this.scaler.persisted),
      spotPrices,
    });
    if (r.at - this.historySavedAt >= HISTORY_SAVE_INTERVAL_MS) void this.saveHistory();
    this.announceTick(r);
  }

  /** Emitted once the tick's report is the daemon's last (ClusterScaler sets it before onReport). */
  private announceTick(r: TickReport): void {
    this.events.emit('tick', r);
    if (r.launched.length > 0) this.events.emit('launched', { nodeIds: r.launched, tick: r.seq });
    if (r.drained.length > 0) this.events.emit('drained', { nodeIds: r.drained, tick: r.seq });
  }

  /** What the status page plots: one sample per tick, the newest kept. */
  readonly history = new StatusHistory();
  private historySavedAt = 0;
  private historySaving: Promise<void> = Promise.resolve();

  /**
   * Best effort: the plots are a view, so a failed write costs a gap in them, nothing more.
   * Writes go one after another, so an older one never lands over a newer.
   */
  private saveHistory(): Promise<void> {
    const store = this.d.historyStore;
    if (!store) return Promise.resolve();
    this.historySavedAt = this.d.clock.now();
    const samples = this.history.samples();
    this.historySaving = this.historySaving.then(() =>
      store
        .save(samples)
        .catch((e: unknown) => this.log.debug({ err: coerceError(e) }, 'plot history not saved')),
    );
    return this.historySaving;
  }

  status(): unknown {
    const t = this.scaler.persisted;
    const report = this.scaler.report;
    const { queued, running } = this.scaler.jobs;
    const estimated = this.d.config().scaler.estimatedPrices;
    const nodePrice = (n: ObservedNode): ReturnType<typeof nodePriceShown> => nodePriceShown(n, estimated);
    const bootBackoffs = bootBackoffViews(t.smoothing?.bootFailures, this.d.clock.now());
    return {
      state: this.stateValue,
      startedAt: new Date(this.startedAt).toISOString(),
      // The id this leader writes with its heartbeat on the instances it launched.
      leaderId: this.scaler.leaderId,
      queue: { queued, running },
      nodes: {
        owned: Object.keys(t.owned),
        draining: Object.keys(t.draining),
        // Every node of the cluster as the last tick saw it, for the node table.
        list: this.scaler.nodes.map((n) => ({
          id: n.id,
          instanceType: n.instanceType,
          zone: n.zone,
          market: n.capacityType,
          state: n.state,
          tasks: n.tasks,
          launchedAt: new Date(n.launchedAt).toISOString(),
          ageSeconds: Math.max(0, Math.round((this.d.clock.now() - n.launchedAt) / 1000)),
          ...nodePrice(n),
          ...(n.static ? { static: true } : {}),
        })),
        // Worker instances this leader did not launch (possibly left by a leader that is gone).
        unowned: this.scaler.unowned.map((n) => {
          const mark = this.scaler.leaderMarks.get(n.id);
          return {
            id: n.id,
            instanceType: n.instanceType,
            market: n.capacityType,
            ageSeconds: Math.max(0, Math.round((this.d.clock.now() - n.launchedAt) / 1000)),
            ...nodePrice(n),
            // Whose it is, by its leader mark: absent when it has none (never retired automatically).
            ...(mark && mark.kind !== 'unmarked'
              ? { leader: mark.beat.leaderId, lastBeatAt: new Date(mark.beat.at).toISOString() }
              : {}),
          };
        }),
      },
      unavailableOfferings: Object.fromEntries(
        Object.entries(t.unavailable).map(([k, until]) => [k, new Date(until).toISOString()]),
      ),
      // Nodes that booted and never joined, in a row, and the launches they hold back.
      ...bootBackoffsShown(bootBackoffs),
      // The nodes it launched, and the static workers while it ran (see costBreakdown).
      costDollars: cents(runCostDollars(t)),
      costBreakdown: {
        launchedDollars: cents(t.costDollars),
        staticWorkersDollars: cents(t.staticWorkersCostDollars ?? 0),
        ...(estimated ? { estimated: true } : {}),
      },
      hourlyCostDollars: hourlyRate(this.scaler.nodes.reduce((sum, n) => sum + n.pricePerHour, 0)),
      // The costs above are estimates in part: these types are priced at another region's list price.
      ...(estimated
        ? { estimatedPrices: { ...estimated, why: estimatedPricesWarning(this.d.config().scaler) } }
        : {}),
      lastTick: report && {
        seq: report.seq,
        at: new Date(report.at).toISOString(),
        durationMs: report.durationMs,
        plans: report.plans,
        launched: report.launched,
        launches: report.launches,
        terminated: report.terminated,
        errors: report.errors,
        plan: report.plan,
      },
      // The last ticks that acted or failed, so a refusal and what the re-plan launched in the
      // same tick can be read together after the fact.
      recentTicks: this.scaler.recentReports.map((r) => ({
        seq: r.seq,
        at: new Date(r.at).toISOString(),
        plans: r.plans,
        launches: r.launches,
        terminated: r.terminated,
        drained: r.drained,
        takenBack: r.takenBack,
        errors: r.errors,
      })),
      // What the last ticks decided and why, newest first (the status page's list).
      decisions: [
        ...bootBackoffDecision(bootBackoffs, report?.at),
        ...unownedDecision(
          this.scaler.unowned,
          report?.at,
          this.d.config().scaler.retireStaticNodes,
          this.scaler.leaderMarks,
        ),
        ...retiredDecisions(this.scaler.retired),
        ...[...this.scaler.recentReports, ...(report ? [report] : [])]
          .filter((r, i, all) => all.findIndex((x) => x.seq === r.seq) === i)
          .sort((a, b) => b.seq - a.seq)
          .flatMap((r) => decisionsOf(r)),
      ].slice(0, 50),
      fatalErrors: this.scaler.fatalErrors.map((f) => ({
        ...f,
        firstAt: new Date(f.firstAt).toISOString(),
        lastAt: new Date(f.lastAt).toISOString(),
        backedOffUntil: new Date(f.backedOffUntil).toISOString(),
      })),
      ...(this.scaler.launchesPausedUntil > this.d.clock.now()
        ? { launchesPausedUntil: new Date(this.scaler.launchesPausedUntil).toISOString() }
        : {}),
      spotInterruptions: t.spotInterruptions ?? 0,
      // Where each spot price comes from (observed, with its age; stale after a failed read).
      spot: {
        prices: this.scaler.spotPrices.prices.map((p) => ({
          offering: `${p.instanceType}/${p.zone}/spot`,
          price: p.price,
          source: p.source,
          ageSeconds: p.ageSeconds,
          stale: p.stale,
        })),
        feed: this.scaler.spotPrices.feed,
        interruptionNotices: report?.interruptionNotices ?? [],
      },
      workflows: [...this.runs.values()].map((r) => {
        const shown = shownRun(r);
        const progress = this.progressOf(r);
        return {
          ...shown,
          ...(progress ? { progress } : {}),
          submittedAt: new Date(r.submittedAt).toISOString(),
          ...(r.finishedAt !== undefined ? { finishedAt: new Date(r.finishedAt).toISOString() } : {}),
          ...(r.cancelledAt !== undefined ? { cancelledAt: new Date(r.cancelledAt).toISOString() } : {}),
        };
      }),
    };
  }

  /**
   * Queued and running jobs as the batch systems know them now: a tick's reading can be a whole
   * scaleInterval old, and a person watching /status (or a scrape) wants the present. When the
   * cluster manager cannot be read, the last tick's counts, saying so.
   */
  readonly liveJobs = sharedWhileRunning(() => this.readLiveJobs());

  private async readLiveJobs(): Promise<{ queued: number; running: number; source: 'live' | 'lastTick' }> {
    if (this.workload.size === 0) return { queued: 0, running: 0, source: 'live' };
    try {
      const now = await this.workload.read();
      return { queued: now.queued.length, running: now.running.length, source: 'live' };
    } catch (e) {
      this.log.debug({ err: coerceError(e) }, 'live job counts unavailable; showing the last tick');
      const { queued, running } = this.scaler.jobs;
      return { queued, running, source: 'lastTick' };
    }
  }

  /**
   * A submission refused with a 503. A file system that did not answer (a hung mount) is the
   * submitter's to fix and says all there is to say: one line, its code and path, no stack, each
   * time; so does a leader starting or stopping, which is no fault. Anything else is the
   * daemon's trouble, logged with its error.
   */
  private logRefusal(e: unknown): void {
    if (
      e instanceof WorkflowFileNotAnsweringError ||
      e instanceof JobStoreNotAnsweringError ||
      e instanceof LeaderNotTakingWorkflowsError
    ) {
      this.log.warn({ code: e.code, ...e.details }, e.message);
      return;
    }
    this.log.error({ err: coerceError(e) }, 'could not take a workflow');
  }

  private buildApp(): FastifyInstance {
    const cfg = this.d.config();
    const app = buildHttp({
      clock: this.d.clock,
      log: this.d.log,
      metrics: this.d.metrics,
      lastTickAt: () => this.scaler.lastCompletedAt,
      startedAt: this.startedAt,
      maxTickAgeMs: cfg.http.maxTickAge,
      readiness: this.d.readiness,
      // Job counts as the batch systems know them at the request, not as the last tick saw them.
      status: async () => ({ ...(this.status() as object), queue: await this.liveJobs() }),
      refreshMetrics: async () => {
        this.d.metrics.clusterCost.set(runCostDollars(this.scaler.persisted));
        const jobs = await this.liveJobs();
        if (jobs.source !== 'live') return;
        this.d.metrics.queuedJobs.set(jobs.queued);
        this.d.metrics.runningJobs.set(jobs.running);
      },
      // Open by default, and a listing of the cloud each: requests that arrive while one is
      // under way share it, so a flood of them is not one EC2 call each.
      planNow: sharedWhileRunning(() => this.scaler.dryRun()),
    });
    // First: a request for another host is refused before the token is looked at, on every route.
    refuseUnansweredHosts(app, new AnsweredHosts(cfg.http.host, cfg.http.allowedHosts), this.d.log);
    if (this.d.auth) requireBearerToken(app, this.d.auth);
    if (cfg.http.statusPage) registerStatusPage(app, this.history);
    app.post('/workflows', async (req, reply) => {
      try {
        return reply.code(202).send(shownRun(await this.accept(req.body)));
      } catch (e) {
        const code = e instanceof UserInputError ? 400 : e instanceof JobStoreBusyError ? 409 : 503;
        if (code === 503) this.logRefusal(e);
        // The code tells a client that waiting helps (the leader restarting) from a refusal.
        const notTaking = e instanceof LeaderNotTakingWorkflowsError ? { code: e.code } : {};
        return reply.code(code).send({ error: coerceError(e).message, ...notTaking });
      }
    });
    app.delete('/workflows/:id', async (req, reply) => {
      const { id } = req.params as { id: string };
      const run = this.workflow(id);
      if (!run) return reply.code(404).send({ error: `no workflow ${shownInError(id)}` });
      if (run.status !== 'running')
        return reply.code(409).send({
          error: `workflow ${id} has already ${run.status === 'cancelled' ? 'been cancelled' : run.status}`,
        });
      this.cancel(id, new WorkflowCancelledError(id, this.d.clock.now(), req.ip));
      this.log.info({ workflow: id, from: req.ip }, 'workflow cancelled over HTTP');
      // Answered once the cancel is durable: a leader killed right after does not resume the run.
      await this.runsSaved;
      return reply.code(202).send(shownRun(run));
    });
    app.get('/workflows/:id', async (req, reply) => {
      const run = this.workflow((req.params as { id: string }).id);
      if (!run) return reply.code(404).send({ error: 'no such workflow' });
      const progress = this.progressOf(run);
      return { ...shownRun(run), ...(progress ? { progress } : {}) };
    });
    return app;
  }
}

/** A run as shown and persisted: the bundled module (bytes) stays out of JSON. */
/** A failed job as /status and the status page show it. */
export interface FailedJobSummary {
  readonly jobId: string;
  readonly name: string;
  readonly attempts: number;
  /** Its error's first line and the last lines of its log (at most 20 lines of 200 characters). */
  readonly logTail: string;
  /** The failure is in values already committed, which a resubmission does not change. */
  readonly committed?: true;
  /** A failed service: the jobs below its host that never ran because of it (FailedJob.neverRan). */
  readonly neverRan?: string;
}

/** The failed jobs a run keeps for people to read: enough to see a pattern, never a flood. */
export const MAX_FAILED_JOBS_SHOWN = 10;

/** Caps a failed job's reason for /status: the error's line, then the last of the rest. */
export function failedJobSummary(f: {
  jobId: string;
  name: string;
  attempts: number;
  reason: string;
  committed?: true;
  neverRan?: string;
}): FailedJobSummary {
  const all = f.reason.split('\n');
  const lines = all.length <= 20 ? all : [all[0]!, '…', ...all.slice(-18)];
  return {
    jobId: f.jobId,
    name: f.name,
    attempts: f.attempts,
    logTail: lines.map((l) => (l.length > 200 ? `${l.slice(0, 199)}…` : l)).join('\n'),
    ...(f.committed ? { committed: f.committed } : {}),
    ...(f.neverRan ? { neverRan: f.neverRan } : {}),
  };
}

/**
 * The run as the HTTP routes show it: without what lives only in this process, and with the values
 * of its `--setEnv` variables hidden (names kept). GET /workflows/:id and /status are open by
 * default, and a variable set for the jobs is often a credential.
 */
function shownRun(run: WorkflowRun): WorkflowRun {
  const shown = withoutBundle(run);
  const env = shown.submission.env;
  if (env === undefined) return shown;
  const hidden = Object.fromEntries(Object.keys(env).map((name) => [name, HIDDEN_ENV_VALUE]));
  return { ...shown, submission: { ...shown.submission, env: hidden } };
}

/** What GET /workflows/:id and /status show for the value of a variable set with --setEnv. */
const HIDDEN_ENV_VALUE = '(hidden)';

/** The run without what lives only in this process (module bytes, the job log and event sinks). */
function withoutBundle(run: WorkflowRun): WorkflowRun {
  const options = run.submission.options;
  if (options?.bundle === undefined && options?.onJobLog === undefined && options?.onJobEvent === undefined)
    return run;
  const { bundle: _b, onJobLog: _l, onJobEvent: _e, ...rest } = options;
  return { ...run, submission: { ...run.submission, options: rest } };
}

/**
 * A node's $/h for /status, with where it came from (nodePrice.ts): `null` when its type is
 * priced nowhere, so an unknown price never reads as a free node; `priceEstimated` when it is
 * another region's list price (ScalerConfig.estimatedPrices), which a spot price read in this
 * region is not.
 */
export function nodePriceShown(
  n: ObservedNode,
  estimated: ScalerConfig['estimatedPrices'],
): { dollarsPerHour: number | null; priceSource: string; priceEstimated?: true } {
  const listPrice = n.capacityType !== 'spot' || n.priceSource === 'on-demand' || n.priceSource === 'config';
  return {
    dollarsPerHour: n.priceSource === 'unknown' ? null : hourlyRate(n.pricePerHour),
    priceSource: n.priceSource,
    ...(listPrice && n.priceSource !== 'unknown' && estimated?.types.includes(n.instanceType)
      ? { priceEstimated: true as const }
      : {}),
  };
}

/** The runs of nodes that never registered, for /status: absent when there are none. */
function bootBackoffsShown(views: readonly BootBackoffView[]): { bootBackoffs?: unknown } {
  if (views.length === 0) return {};
  return {
    bootBackoffs: {
      runs: views.map((v) => ({
        offering: v.offering,
        neverRegisteredInARow: v.neverRegisteredInARow,
        lastAt: new Date(v.lastAt).toISOString(),
        ...(v.backedOffUntil !== undefined
          ? { backedOffUntil: new Date(v.backedOffUntil).toISOString() }
          : {}),
      })),
      check: BOOT_FAILURE_HINT,
    },
  };
}
