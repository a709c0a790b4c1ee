import type { Clock } from '../common/clock.js';
import { JobTooBigError, coerceError } from '../common/errors.js';
import { forEachLimited } from '../common/forEachLimited.js';
import type { Logger } from '../common/log.js';
import { formatBytes } from '../common/units.js';
import { firstLine } from '../workflow/jobError.js';
import {
  attemptPastEarlierLeaders,
  reachableCommits,
  resolvePromises,
  resolveJobRequirements,
  resolvePromisedRequirements,
  type JobCommit,
  type JobTicket,
  type JobSpec,
  type Json,
  type LogLine,
  type LostAttemptRecord,
  type ResolvedRequirements,
  type WorkflowRecord,
} from '../jobstore/jobRecords.js';
import {
  CorruptJobStoreError,
  type DroppedJobDeleted,
  type JobStore,
  type LostAttemptMark,
} from '../jobstore/jobStore.js';
import type { BatchSystem, JobRequirements, JobUpdate } from '../ports/batchSystem.js';
import { JobGraph } from './jobGraph.js';
import type { JobLogEntry } from './jobLogFiles.js';
import type { DeclaredJob } from './autoscaledRunChecks.js';
import { HeldJobs } from './heldJobs.js';
import { LostAttempts, lostAttemptLine } from './lostAttempts.js';
import { checkJobLimits, type JobLimits } from './jobLimits.js';
import { jobOwnMemory, MemoryOverDeclared } from './memoryOverDeclared.js';

export interface WorkflowRunnerOptions {
  readonly store: JobStore;
  readonly batchSystem: BatchSystem;
  readonly clock: Clock;
  readonly log: Logger;
  /** The argv that runs one attempt in a fresh process (`toil worker LOCATOR JOBID --attempt N`). */
  readonly workerCommand: (locator: string, jobId: string, attempt: number) => readonly string[];
  /** How many times a failed job is tried again (Toil's --retryCount, default 1). */
  readonly retryCount: number;
  readonly defaults: ResolvedRequirements;
  /**
   * How many times a preemptable job lost with its spot node re-runs on spot without spending
   * `retryCount`; lost once more, it runs on on-demand. Default 3; Infinity is Toil's
   * `--enableUnlimitedPreemptibleRetries`. A job lost on an on-demand node also re-runs without
   * spending a retry, as often, then counts as a failure.
   */
  /** Variables set in each job's environment while it runs (Toil's --setEnv). */
  readonly env?: Readonly<Record<string, string>>;
  readonly preemptableRetries?: number;
  /**
   * How often a service job checks its service and the leader's stop request, and the leader
   * looks for services that started (Toil's --servicePollingInterval). Default 1 s.
   */
  readonly servicePollMs?: number;
  /**
   * How long every running job may be a service, with other issued jobs waiting for room, before
   * the run is declared service deadlocked (Toil's --deadlockWait). Default 60 s.
   */
  readonly deadlockWaitMs?: number;
  /**
   * How long an attempt may run before it is killed and counts as a failed attempt, which
   * `retryCount` may try again (Toil's --maxJobDuration). Services are not limited: they run for as
   * long as their host's successors. Absent: no limit.
   */
  readonly maxJobDurationMs?: number;
  /**
   * Toil's --stopOnFirstFailure: the first job that fails for good (its retries spent, and no
   * checkpoint above it to run again) ends the run, failed, with its running jobs killed, instead
   * of every job that can still run running first.
   */
  readonly stopOnFirstFailure?: boolean;
  /**
   * How many services may be issued at once (Toil's --maxServiceJobs for those that run on
   * on-demand capacity, --maxPreemptableServiceJobs for those that say preemptable: true); one
   * beyond waits until one of its kind ends. Default: no limit.
   */
  readonly maxServiceJobs?: number;
  readonly maxPreemptableServiceJobs?: number;
  /**
   * How many jobs may be issued to the batch system and not yet ended at once (Toil's --maxJobs);
   * one ready beyond waits in the leader, oldest first, until one ends. Services count too. The
   * batch system, and so the cluster's scaler, sees only the issued ones: room for the ones
   * waiting here could not be used until a slot frees. Default: no limit.
   */
  readonly maxJobs?: number;
  /**
   * Toil's --maxCores, --maxMemory and --maxDisk: a job asking for more than one of them allows is
   * refused with JobOverMaxError as it is added (or once its promised requirements are known),
   * whatever the batch system, before any other check. Default: no cap.
   */
  readonly jobLimits?: JobLimits;
  /**
   * Whether room for jobs waiting to start is on its way (the cluster's scaler has a node booting
   * or a launch planned): while it is, services holding every running slot are no deadlock and
   * --deadlockWait does not run. Absent: none ever is (a cluster of fixed size).
   */
  readonly roomOnItsWay?: () => boolean;
  /**
   * Throws when a host's services, with the smallest of its successors, can never all run at once
   * on the nodes the cluster's scaler may launch (checkServicesTogether); called when the host has
   * run, before any of its services is issued. Absent: a cluster of fixed size.
   */
  readonly checkServicesTogether?: (host: string, services: DeclaredJob[], beside?: DeclaredJob) => void;
  /**
   * Throws when the cluster's scaler could never launch a node for the job (no node type it may
   * launch fits it whole, or its limits leave none), as the batch system's largest node bounds
   * each resource alone; called with every job's requirements as `checkFits` is. `addedWith`
   * gives the jobs added after it at the same time (asked for only when it is refused), for the
   * refusal to count those that could never run either. Absent: a cluster of fixed size.
   */
  readonly checkLaunchable?: (job: DeclaredJob, addedWith: () => readonly DeclaredJob[]) => void;
  /** Called when a job is lost with its node (for metrics and status). */
  readonly onJobLost?: (event: JobLostEvent) => void;
  /**
   * Each attempt lost with its node, as the running record lists it: committed ones too (not run
   * again), which `onJobLost` does not see. A daemon shows them to the run's submitter.
   */
  readonly onAttemptLost?: (lost: LostAttemptRecord) => void;
  /** How many tickets the leader writes at once. */
  readonly ioConcurrency?: number;
  readonly onProgress?: (progress: WorkflowProgress) => void;
  /** Each job event as it happens (`--writeMessages`): an attempt issued or ended, a job given up. */
  readonly onJobEvent?: (event: JobEvent) => void;
  /** Each attempt's log as the leader learns of its end (`--writeLogs`); awaited before the run ends. */
  readonly onJobLog?: (entry: JobLogEntry) => Promise<void>;
  /** Aborting it ends the run at once: `run` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface JobLostEvent {
  readonly jobId: string;
  readonly name: string;
  /** Times this job was lost so far (this loss included). */
  readonly losses: number;
  /** What happens next: re-run on spot, re-run on on-demand (moved now), or a failure. */
  readonly next: 'spot' | 'on-demand' | 'moved-to-on-demand' | 'failure';
}

/**
 * What happened to a job, as the leader saw it (Toil's message bus: JobIssuedMessage,
 * JobCompletedMessage, JobFailedMessage). An attempt is `issued` to the batch system, then ends
 * `completed` (committed, its node perhaps lost after the commit), `failed` (a retry may follow), `lost` (with its node; run again) or
 * `killed` (the leader asked); `gaveUp` is a job failed for good, its retries spent.
 */
export interface JobEvent {
  readonly event: 'issued' | 'completed' | 'failed' | 'lost' | 'killed' | 'gaveUp';
  /** On the leader's clock (ms since the epoch). */
  readonly at: number;
  readonly jobId: string;
  readonly name: string;
  /** Absent for `gaveUp` of a job never issued (held back by a limit). */
  readonly attempt?: number;
  readonly exitCode?: number;
  /** Where the attempt ran, when the batch system says. */
  readonly node?: string;
  /** The batch system's reason (ended attempts), or the failure's first line (`gaveUp`). */
  readonly message?: string;
}

export interface WorkflowProgress {
  /** Jobs declared so far (the total grows as jobs add children). */
  readonly known: number;
  readonly completed: number;
  /** Jobs issued and not ended; with `waiting` given, only those started on a node. */
  readonly running: number;
  /** Of the issued jobs, those queued in the batch system and not started yet, when known. */
  readonly waiting?: number;
  /**
   * Jobs ready but issued to no batch system yet, held back by --maxJobs (every slot taken) or, for
   * services, by --maxServiceJobs / --maxPreemptableServiceJobs; absent when none is.
   */
  readonly held?: number;
  readonly failed: number;
}

export interface FailedJob {
  readonly jobId: string;
  readonly name: string;
  /** 0: never issued (a service held back by --maxServiceJobs / --maxPreemptableServiceJobs). */
  readonly attempts: number;
  /** The error and the tail of the job's output, as the worker or batch system reported it. */
  readonly reason: string;
  /**
   * Set when the failure is in values already committed (a job's input or the workflow's result
   * cannot be built from them): `--restart` runs none of those jobs again, so it cannot help.
   */
  readonly committed?: true;
  /**
   * For a failed service: the jobs below its host that never ran because of it, by name (at most
   * a few names), e.g. "2 job(s) below job 'host' never ran: 'use', 'after'".
   */
  readonly neverRan?: string;
}

/**
 * How a failed job is named in a report: after how many attempts, or that it never ran, which
 * only a service held back by a service limit does (its reason names the flag).
 */
export function failedJobHeadline(f: {
  readonly name: string;
  readonly jobId: string;
  readonly attempts: number;
}): string {
  return f.attempts === 0
    ? `job '${f.name}' (${f.jobId}) never ran`
    : `job '${f.name}' (${f.jobId}) failed after ${f.attempts} attempt(s)`;
}

export type WorkflowRunResult =
  | {
      readonly status: 'succeeded';
      readonly returnValue: Json;
      readonly jobsRun: number;
      readonly replayed: number;
    }
  | {
      readonly status: 'failed';
      readonly failures: readonly FailedJob[];
      readonly jobsRun: number;
      readonly replayed: number;
    };

/** How many names of the jobs a failed service kept from running its report lists. */
const NEVER_RAN_NAMES = 5;

/** How many forgotten jobs a checkpoint's rerun lists and deletes the objects of at a time. */
const FORGOTTEN_FILES_CONCURRENCY = 4;

/** What the deletions of dropped jobs' objects have deleted so far, of each kind. */
type DroppedCount = { -readonly [K in keyof DroppedJobDeleted]: number };

function droppedNone(): DroppedCount {
  return { files: 0, tickets: 0, failureLogs: 0, lostMarks: 0, serviceRecords: 0 };
}

/** `count` in words: files, tickets and failure logs always, the rarer kinds when there were any. */
function droppedSaid(count: DroppedCount): string {
  return [
    `${count.files} file(s)`,
    `${count.tickets} ticket(s)`,
    `${count.failureLogs} failure log(s)`,
    ...(count.lostMarks > 0 ? [`${count.lostMarks} lost-attempt mark(s)`] : []),
    ...(count.serviceRecords > 0 ? [`${count.serviceRecords} service record(s)`] : []),
  ].join(', ');
}

/** The orphaned commits of a store (see reachableCommits), and the jobs only they lead to. */
interface OrphanedCommits {
  /** Their jobs' ids. */
  readonly commits: readonly string[];
  /** Their own jobs and those they added: no record the workflow leads to declares them. */
  readonly jobs: readonly string[];
}

function orphanedCommits(workflow: WorkflowRecord, commits: ReadonlyMap<string, JobCommit>): OrphanedCommits {
  const reached = reachableCommits(workflow, [...commits.values()]);
  const declared = new Set([...workflow.jobs, ...reached.flatMap((c) => c.newJobs)].map((j) => j.id));
  const orphans = [...commits.values()].filter((c) => !declared.has(c.jobId));
  const jobs = new Set(orphans.flatMap((c) => [c.jobId, ...c.newJobs.map((j) => j.id)]));
  return { commits: orphans.map((c) => c.jobId), jobs: [...jobs].filter((id) => !declared.has(id)) };
}

interface Attempts {
  next: number;
  retriesLeft: number;
  /** Times lost with its node (no retry spent), on spot and on on-demand. */
  lost: number;
  lostOnDemand: number;
  /** Runs on on-demand from now on, and why: lost on spot more than preemptableRetries times. */
  onDemand: boolean;
  onDemandBecause?: string;
  tries: number;
  /** The memory the last attempt was issued with (its promised requirements read then). */
  declaredMemory?: number;
}

/**
 * Runs a workflow to the end: issues ready jobs through the batch system, applies each finished
 * job's commit, retries failures, and stops when nothing is running and nothing can run.
 *
 * Crash safety: the leader keeps nothing that is not derivable from the job store. On start it
 * reads every commit and replays them into the job graph (so no committed job runs again), then
 * issues whatever is ready and uncommitted (so no job is lost). A job's attempts are numbered by
 * its tries, from 1: a resumed job goes on after the attempt its ticket was last written for, so
 * the number is its real try count and (job, attempt) stays unique across leader restarts.
 */
export class WorkflowRunner {
  private readonly o: WorkflowRunnerOptions;
  private readonly log: Logger;
  /** Lines the jobs logged (Toil's logToMaster), printed as they arrive in commits. */
  private readonly jobLog: Logger;
  private graph!: JobGraph;
  private workflow!: WorkflowRecord;
  private readonly attempts = new Map<string, Attempts>();
  private readonly issued = new Set<string>();
  private readonly failures: FailedJob[] = [];
  private readonly pendingDeletes: string[] = [];
  /**
   * Checkpoint jobs to rerun, each with the job below it that failed for good: rerun once nothing
   * below them runs any more (Toil waits for the subtree too); what below them becomes ready
   * meanwhile is not issued, since the rerun replaces it.
   */
  private readonly rerunning = new Map<string, string>();
  /** Commits read at start not applied yet: jobs below a service's host wait for it to start. */
  private replayCommits = new Map<string, JobCommit>();
  /** Hosts a service of which failed: what below them has not been issued never is. */
  private readonly brokenHosts = new Set<string>();
  /** Services asked to stop. */
  private readonly stopRequested = new Set<string>();
  /** Of them, those asked before their host's successors completed: they end without a commit. */
  private readonly stoppedEarly = new Set<string>();
  /** Attempts ended on purpose (a service deadlock), with the reason they fail for good. */
  private readonly ending = new Map<string, string>();
  /** Attempts killed for running past --maxJobDuration, with the reason their failure gives. */
  private readonly overlong = new Map<string, string>();
  private readonly overMemory = new MemoryOverDeclared();
  private durationWatch: AbortController | undefined;
  /** Services ready but held back by --maxServiceJobs / --maxPreemptableServiceJobs, oldest first. */
  private readonly heldServices = new HeldJobs();
  /** Jobs ready but held back by --maxJobs (every slot taken), oldest first. */
  private readonly heldForSlots = new HeldJobs();
  private servicePoll: AbortController | undefined;
  private deadlockSince: number | undefined;
  private deadlockWarned = false;
  /** Said that the waiting jobs' room is on its way (once per such wait). */
  private roomAwaitedSaid = false;
  private busy = 0;
  private jobsRun = 0;
  /** The attempts lost with their node, for the running record. */
  readonly lostAttempts = new LostAttempts();
  private generation = 0;
  /** A resumed run's jobs an earlier leader issued: the attempt each was last issued under. */
  private earlierAttempts = new Map<string, number | undefined>();
  /**
   * Jobs an attempt of which ended without a word (lost with its node, or issued by an earlier
   * leader): once the job commits, the files its other attempts wrote are deleted, since only the
   * committing attempt's may be named by the commit (see JobStore.deleteOtherAttemptsFiles).
   */
  private readonly unsettledFiles = new Set<string>();
  private finish!: (result: WorkflowRunResult) => void;
  private abort!: (error: Error) => void;
  private done = false;
  private replayed = 0;
  private ioSlots: number;
  private readonly ioWaiters: (() => void)[] = [];

  constructor(options: WorkflowRunnerOptions) {
    this.o = options;
    this.log = options.log.child({ component: 'leader' });
    this.jobLog = options.log.child({ component: 'job' });
    this.ioSlots = options.ioConcurrency ?? 32;
  }

  /**
   * Runs the workflow. `commits` are the commits already in the store (empty for a new workflow).
   * Rejects with JobOverMaxError (a user error) if a job asks for more than --maxCores,
   * --maxMemory or --maxDisk allows, and with JobTooBigError if it asks for more than the batch
   * system can ever give; resolves with the outcome otherwise.
   */
  async run(
    workflow: WorkflowRecord,
    generation: number,
    commits: ReadonlyMap<string, JobCommit>,
  ): Promise<WorkflowRunResult> {
    this.workflow = workflow;
    this.generation = generation;
    this.graph = new JobGraph(workflow.jobs, workflow.rootJobId);
    const toIssue = this.replay(commits);
    const orphans = orphanedCommits(workflow, commits);
    // Toil checks a job as it issues it: after a --restart, only jobs still to run are checked,
    // so a smaller --maxMemory refuses none that already ran and whose result is kept. A job whose
    // commit waits to be applied (below a service's host) ran too.
    const toRun = this.graph.notRun().filter((spec) => !this.replayCommits.has(spec.id));
    this.checkAllFit(toRun);
    // Committed jobs whose lost attempts an earlier leader marked and died before it deleted their
    // files: deleted once the run is under way.
    const committedLost = new Map<string, number>();
    if (generation > 0) {
      this.earlierAttempts = await this.o.store.lastIssuedAttempts(new Set(toRun.map((spec) => spec.id)));
      // An earlier leader's attempt of a job still to run never committed: had it died before it
      // marked one lost, the mark alone would miss its files.
      for (const id of this.earlierAttempts.keys()) this.unsettledFiles.add(id);
      const dropped = new Set(orphans.jobs);
      for (const mark of await this.lostAttemptMarks()) {
        // A dropped job is no job of the graph: its marks go with the rest of it (deleteOrphans).
        if (dropped.has(mark.jobId)) continue;
        const commit = commits.get(mark.jobId);
        if (commit) committedLost.set(mark.jobId, commit.attempt);
        else this.unsettledFiles.add(mark.jobId);
      }
    }
    const result = new Promise<WorkflowRunResult>((resolve, reject) => {
      this.finish = resolve;
      this.abort = reject;
    });
    // Rejections are awaited below; this only keeps an early one from counting as unhandled.
    result.catch(() => {});
    const signal = this.o.signal;
    const onAbort = (): void => this.stop(coerceError(signal?.reason ?? new Error('the run was cancelled')));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    await this.o.batchSystem.start((u) => this.onUpdate(u));
    // Slurm lists its nodes as it starts: the jobs to run are checked against them before any is
    // issued, as a job added later is, so a root bigger than every node is refused, not queued for
    // ever.
    if (!this.done) this.checkFitsStarted(toRun);
    if (!this.done) {
      this.watchDurations();
      this.progress();
      for (const [id, kept] of committedLost) this.track(() => this.deleteUnsettledFiles(id, kept));
      if (orphans.commits.length > 0) this.track(() => this.deleteOrphans(orphans));
      for (const id of toIssue) this.issue(id);
      // A host whose successors all ran before a restart: its services start again only to stop.
      this.stopFinishedServices();
      this.checkFinished();
    }
    let stoppedOnError = false;
    try {
      return await result;
    } catch (e) {
      stoppedOnError = true;
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) await this.killIssued();
      // Nothing collects what still runs once the run has stopped on an error (a job bigger than
      // every node, a store that failed): left, Slurm's jobs would hold their nodes after the
      // leader exits, and a --restart runs them again anyway.
      else if (stoppedOnError) await this.killIssued('the run stopped on an error: killing its running jobs');
      await this.flushDeletes().catch((e: unknown) =>
        this.log.warn({ err: coerceError(e) }, 'could not delete files'),
      );
    }
  }

  /**
   * A cancelled run kills what it has running (the batch system reports them 'killed', which a
   * stopped leader ignores), so its nodes empty and the scaler releases them. A kill that does not
   * come back within 10 s is left to the batch system.
   */
  private async killIssued(why = 'run cancelled: killing its running jobs'): Promise<void> {
    const ids = [...this.issued];
    if (ids.length === 0) return;
    // Issued is not running: most of a wide workflow's issued jobs wait in the batch system's
    // queue. They are dropped too, and counted apart, so the line says how many were running.
    const running = this.o.batchSystem.runningJobs?.().filter((r) => this.issued.has(r.jobId)).length;
    this.log.info(
      running === undefined
        ? { issued: ids.length }
        : { running, ...(ids.length > running ? { queued: ids.length - running } : {}) },
      why,
    );
    const timer = new AbortController();
    await Promise.race([
      Promise.allSettled(ids.map((id) => this.o.batchSystem.kill(id))),
      this.o.clock.sleep(10_000, timer.signal).catch(() => undefined),
    ]);
    timer.abort();
  }

  private replay(commits: ReadonlyMap<string, JobCommit>): string[] {
    const toIssue: string[] = [];
    this.replayCommits = new Map(commits);
    let ready = this.graph.takeReady();
    while (ready.length > 0) {
      for (const id of ready) {
        const commit = this.replayCommits.get(id);
        if (commit) {
          this.replayCommits.delete(id);
          this.graph.applyCommit(commit);
          this.pendingDeletes.push(...commit.deletedFiles);
          this.replayed++;
        } else {
          toIssue.push(id);
        }
      }
      ready = this.graph.takeReady();
    }
    if (this.replayed > 0)
      this.log.info(
        { replayed: this.replayed, ready: toIssue.length },
        'resumed workflow from the job store',
      );
    return toIssue;
  }

  private attemptsOf(jobId: string): Attempts {
    let a = this.attempts.get(jobId);
    if (!a) {
      a = {
        next: this.firstAttemptOf(jobId),
        retriesLeft: this.o.retryCount,
        lost: 0,
        lostOnDemand: 0,
        onDemand: false,
        tries: 0,
      };
      this.attempts.set(jobId, a);
    }
    return a;
  }

  /** The attempt the job was last issued under: while it is issued, the one it runs. */
  private lastAttempt(jobId: string): number {
    return this.attemptsOf(jobId).next - 1;
  }

  /** This run's first attempt of the job: its try after those an earlier leader issued. */
  private firstAttemptOf(jobId: string): number {
    if (!this.earlierAttempts.has(jobId)) return 1;
    const last = this.earlierAttempts.get(jobId);
    return last === undefined ? attemptPastEarlierLeaders(this.generation) : last + 1;
  }

  /**
   * Issues the jobs that became ready; one whose commit was read at start (below a service's
   * host, which waited for its services to start again) is applied instead.
   */
  private dispatchReady(): void {
    for (let ready = this.graph.takeReady(); ready.length > 0; ready = this.graph.takeReady())
      for (const id of ready) {
        const commit = this.replayCommits.get(id);
        if (!commit) {
          this.issue(id);
          continue;
        }
        this.replayCommits.delete(id);
        const created = this.graph.applyCommit(commit);
        this.checkAllFit(created.filter((s) => !this.replayCommits.has(s.id)));
        this.checkServicesTogether(id, created);
        this.pendingDeletes.push(...commit.deletedFiles);
        this.replayed++;
      }
    // Whatever just completed a host's last successor (a commit, or one replayed from before a
    // restart, whose services started again only to stop): its services are asked to stop now.
    this.stopFinishedServices();
  }

  private issue(jobId: string): void {
    if (this.done) return;
    for (const ck of this.rerunning.keys()) if (this.graph.isBelow(jobId, ck)) return;
    for (const host of this.brokenHosts) if (this.graph.isDescendant(jobId, host)) return;
    const spec = this.graph.spec(jobId);
    if (spec.service && !this.serviceSlotFree(jobId)) return;
    if (this.issued.size >= (this.o.maxJobs ?? Infinity)) {
      this.heldForSlots.hold(jobId);
      return;
    }
    if (spec.service) this.watchServices();
    const a = this.attemptsOf(jobId);
    const attempt = a.next++;
    a.tries++;
    this.issued.add(jobId);
    this.track(async () => {
      let input: Json;
      try {
        input = resolvePromises(
          spec.input,
          (id) => this.graph.returnValueOf(id),
          (id) => this.graph.nameOf(id),
        );
      } catch (e) {
        // A workflow bug, not a passing failure: retrying cannot help, and nor can --restart, which
        // builds the input again from the same committed values.
        this.issued.delete(jobId);
        this.failForGood(jobId, a.tries, (e as Error).message, true);
        return;
      }
      let declared: ResolvedRequirements;
      try {
        declared = resolveJobRequirements(
          spec,
          resolvePromisedRequirements(
            spec.requirements,
            (id) => this.graph.returnValueOf(id),
            spec.name,
            (id) => this.graph.nameOf(id),
          ),
          this.o.defaults,
        );
      } catch (e) {
        // A promised value that is no requirement: retrying cannot help, and nor can --restart,
        // which reads the same committed value.
        this.issued.delete(jobId);
        this.failForGood(jobId, a.tries, (e as Error).message, true);
        return;
      }
      try {
        if (spec.requirements.promised) this.checkFits(spec, declared);
      } catch (e) {
        // Too big for the batch system: retrying cannot help; a --restart with larger limits can.
        this.issued.delete(jobId);
        this.failForGood(jobId, a.tries, (e as Error).message);
        return;
      }
      a.declaredMemory = declared.memory;
      // Moved to on-demand: only placement changes; the job still sees what it declared.
      const requirements = a.onDemand ? { ...declared, preemptable: false } : declared;
      const ticket: JobTicket = {
        format: 1,
        workflowId: this.workflow.workflowId,
        jobId,
        name: spec.name,
        input,
        requirements: declared,
        module: this.workflow.module,
        ...(this.o.env && Object.keys(this.o.env).length > 0 ? { env: this.o.env } : {}),
        ...(spec.service ? { service: { pollMs: this.servicePollMs() } } : {}),
        attempt,
        generation: this.generation,
      };
      await this.withIoSlot(() => this.o.store.writeTicket(ticket));
      // A run stopped while the ticket was written (Ctrl-C, toil kill, a failure that ends it) has
      // killed what it had issued: handed over now, the job would start when a killed one's
      // cores free, after the stop.
      if (this.done) return;
      this.event({ event: 'issued', jobId, name: spec.name, attempt });
      await this.o.batchSystem.issue({
        ticket,
        jobId,
        attempt,
        name: spec.name,
        requirements,
        ...(a.onDemandBecause ? { onDemandBecause: a.onDemandBecause } : {}),
        command: this.o.workerCommand(this.o.store.absoluteLocator, jobId, attempt),
        jobStoreLocator: this.o.store.absoluteLocator,
      });
    });
  }

  private onUpdate(update: JobUpdate): void {
    if (!this.issued.has(update.jobId)) return;
    // An attempt taken for lost (or an earlier leader's) can still be heard of once its job runs
    // again: a Mesos task seen again at reconciliation, a Slurm state that comes late. Its end is
    // not the re-run's: its failure would spend the re-run's retry, its success end the re-run
    // while it runs. What it committed stands all the same: the re-run ends finding the job
    // committed, and the commit is read from the store then.
    const issuedAttempt = this.lastAttempt(update.jobId);
    if (update.attempt !== issuedAttempt) {
      const job = this.graph.spec(update.jobId).name;
      this.log.debug(
        { job, jobId: update.jobId, attempt: update.attempt, issuedAttempt, outcome: update.outcome },
        `ignored the end (${update.outcome}) of attempt ${update.attempt} of job '${job}': attempt ${issuedAttempt} is the one issued`,
      );
      return;
    }
    // Said of a run already over too: the kills of a cancelled run's jobs come back after it. A
    // loss onLost judges is said there: one that had committed is the attempt's completion.
    if (!this.judgedAsLost(update)) this.endedEvent(update);
    if (this.done) return;
    this.issued.delete(update.jobId);
    if (this.graph.spec(update.jobId).service) this.issueHeldServices();
    this.stopRequested.delete(update.jobId);
    const early = this.stoppedEarly.delete(update.jobId);
    const ended = this.ending.get(update.jobId);
    if (ended !== undefined) {
      this.ending.delete(update.jobId);
      this.failForGood(update.jobId, this.attemptsOf(update.jobId).tries, ended);
      this.track(async () => {});
      return;
    }
    // Stopped early on purpose (see requestStop): neither a completion nor a failure of its own.
    if (early) {
      this.track(async () => {});
      return;
    }
    const overlong = this.overlong.get(update.jobId);
    this.overlong.delete(update.jobId);
    // Killed for running too long (one that finished as the kill was sent counts as it ended).
    if (overlong !== undefined && update.outcome !== 'succeeded') {
      // The kill's own exit code or task state would read as the job's: the limit says it all.
      const { exitCode: _code, message: _message, ...killed } = update;
      this.track(() => this.onFailed(killed, overlong));
      return;
    }
    this.track(async () => {
      switch (update.outcome) {
        case 'succeeded':
          return this.onSucceeded(update);
        case 'lost':
          return this.onLost(update);
        default:
          return this.onFailed(update);
      }
    });
  }

  /**
   * A job lost with its node (a spot reclaim, a node gone) is not a failure of the job: it runs
   * again without spending `retryCount`. Lost on spot more than `preemptableRetries` times, it
   * runs on on-demand from then on (its requirements say non-preemptable, so the scaler plans an
   * on-demand node for it and the batch system never places it on spot).
   */
  private async onLost(update: JobUpdate): Promise<void> {
    const spec = this.graph.spec(update.jobId);
    // The node may have gone after the attempt committed and before its batch system could say
    // so (the word went down with the node): the job ran, and running it again would repeat its
    // work and its side effects. Unread (the store failing), it runs again as before: a second
    // commit is refused, so nothing is applied twice.
    const commit = await this.o.store.readCommit(update.jobId).catch(() => undefined);
    const lost = { jobId: update.jobId, name: spec.name, attempt: update.attempt, why: whereLost(update) };
    if (commit) {
      // Its commit stands: a consumer of --writeMessages sees the attempt complete, not lost.
      this.endedEvent(update, 'completed', `${whereLost(update)} after it had committed: its result stands`);
      const record = this.lostAttempt({ ...lost, next: 'committed' });
      this.log.info(
        { job: spec.name, jobId: update.jobId, ...(update.node ? { node: update.node } : {}) },
        lostAttemptLine(record),
      );
      return this.onSucceeded({ ...update, outcome: 'succeeded', commit });
    }
    this.endedEvent(update);
    const a = this.attemptsOf(update.jobId);
    // A service started again would hand its host's successors another value than it gave before.
    if (spec.service) return this.onFailed(update, this.serviceLost(spec, update));
    await this.markLost(update.jobId, update.attempt);
    const cap = this.o.preemptableRetries ?? 3;
    a.lost++;
    const onSpot =
      !a.onDemand && resolveJobRequirements(spec, spec.requirements, this.o.defaults).preemptable;
    if (!onSpot) a.lostOnDemand++;
    let next: JobLostEvent['next'];
    if (onSpot && a.lost > cap) {
      a.onDemand = true;
      a.onDemandBecause = `lost with its spot node ${a.lost} times (--preemptableRetries ${cap})`;
      next = 'moved-to-on-demand';
      this.log.warn(
        { job: spec.name, jobId: update.jobId, losses: a.lost, preemptableRetries: cap },
        `job '${spec.name}' was ${a.onDemandBecause}; running it on on-demand`,
      );
    } else if (onSpot || a.lostOnDemand <= cap) {
      next = onSpot ? 'spot' : 'on-demand';
      this.log.warn(
        {
          job: spec.name,
          jobId: update.jobId,
          losses: a.lost,
          ...(update.node ? { node: update.node } : {}),
        },
        lostAttemptLine({ ...lost, next }),
      );
    } else next = 'failure';
    this.lostAttempt({ ...lost, next });
    this.o.onJobLost?.({ jobId: update.jobId, name: spec.name, losses: a.lost, next });
    if (next === 'failure') return this.onFailed(update, 'lost too many times', true);
    this.issue(update.jobId);
  }

  /**
   * Marks the lost attempt in the store before its job runs again, so that a leader that
   * restarts before the job commits, or before the files were deleted, still finds them. Its
   * files are not deleted now: an attempt taken for lost on a node cut off, not gone, may still
   * commit first, and its commit would then name files deleted. The marks of a run that fails
   * stay for its --restart; `toil clean` deletes them with the rest.
   */
  private async markLost(jobId: string, attempt: number): Promise<void> {
    this.unsettledFiles.add(jobId);
    await this.withIoSlot(() => this.o.store.markLostAttempt({ jobId, attempt })).catch((e: unknown) =>
      this.log.warn(
        { err: coerceError(e), job: this.graph.spec(jobId).name, jobId, attempt },
        'could not mark the lost attempt in the job store: its files are deleted when the job commits, unless this leader stops first',
      ),
    );
  }

  /** The marks an earlier leader left of lost attempts (none read, if the store would not list them). */
  private async lostAttemptMarks(): Promise<LostAttemptMark[]> {
    return this.o.store.lostAttemptMarks().catch((e: unknown) => {
      this.log.warn({ err: coerceError(e) }, 'could not list the lost attempts an earlier run marked');
      return [];
    });
  }

  /**
   * Deletes the files the attempts of job `jobId` but `kept` (its commit's) wrote, then the marks
   * of its lost attempts. A failure leaves both: a --restart deletes the files of a marked attempt,
   * `toil clean` all of them.
   */
  private async deleteUnsettledFiles(jobId: string, kept: number): Promise<void> {
    const name = this.graph.spec(jobId).name;
    try {
      const deleted = await this.withIoSlot(() => this.o.store.deleteOtherAttemptsFiles(jobId, kept));
      await this.withIoSlot(() => this.o.store.forgetLostAttempts(jobId));
      if (deleted > 0)
        this.log.info(
          { job: name, jobId, files: deleted },
          `deleted ${deleted} file(s) that attempts of job '${name}' which did not commit wrote`,
        );
    } catch (e) {
      this.log.warn(
        { err: coerceError(e), job: name, jobId },
        `could not delete the files that attempts of job '${name}' which did not commit wrote: a --restart deletes those of its lost attempts, 'toil clean' all`,
      );
    }
  }

  /** Keeps a lost attempt for the running record, and hands it to whoever follows the run. */
  private lostAttempt(lost: Omit<LostAttemptRecord, 'at'>): LostAttemptRecord {
    const record = { ...lost, at: this.o.clock.now() };
    this.lostAttempts.add(record);
    this.o.onAttemptLost?.(record);
    return record;
  }

  /**
   * Why a service lost with its node fails for good, and, when it may run on spot (it said
   * `preemptable: true`), that a spot reclaim takes it and how to avoid that.
   */
  private serviceLost(spec: JobSpec, update: JobUpdate): string {
    const where = whereLost(update);
    if (!resolveJobRequirements(spec, spec.requirements, this.o.defaults).preemptable)
      return `service lost (${where})`;
    return `service '${spec.name}' lost with its node (${where}): it says preemptable: true, so it may run on a spot node, and a spot reclaim takes it there; a service is not run again (its host's successors hold the value it started with), so the workflow fails. Declare the service preemptable: false (on-demand), or make its host or a job above it a checkpoint (checkpoint: true), which runs again with a new service`;
  }

  private async onSucceeded(update: JobUpdate): Promise<void> {
    // A commit the worker sent back was acknowledged by the store before it was sent: the same
    // object, already durable, so reading it back would only cost a round trip per job.
    const commit =
      update.commit?.jobId === update.jobId
        ? (update.commit as JobCommit)
        : await this.o.store.readCommit(update.jobId);
    if (!commit) {
      return this.onFailed(update, 'the worker exited 0 but its commit is not in the job store', true);
    }
    this.jobsRun++;
    const spec = this.graph.spec(update.jobId);
    this.printJobLog(spec.name, update.jobId, commit.logs);
    this.warnOverMemory(spec, update.jobId, commit);
    await this.o.onJobLog?.({
      jobId: update.jobId,
      name: spec.name,
      attempt: update.attempt,
      outcome: 'succeeded',
      logs: commit.logs,
    });
    const created = this.graph.applyCommit(commit);
    this.checkAllFit(created);
    this.checkServicesTogether(update.jobId, created);
    // Deleted as the job commits, before its successors run (as Toil does): a later job that
    // reads a file an earlier one deleted fails every time, not only once a batch of deletions
    // happened to be sent before it ran.
    if (commit.deletedFiles.length > 0)
      await this.withIoSlot(() => this.o.store.deleteFiles(commit.deletedFiles)).catch((e: unknown) => {
        this.log.warn({ err: coerceError(e), job: spec.name }, 'could not delete the files the job deleted');
        this.pendingDeletes.push(...commit.deletedFiles);
      });
    this.log.debug(
      { job: spec.name, jobId: update.jobId, attempt: update.attempt, wallTimeMs: commit.wallTimeMs },
      'job completed',
    );
    // Apart: its successors need not wait for a listing and deletions.
    if (this.unsettledFiles.delete(update.jobId))
      this.track(() => this.deleteUnsettledFiles(update.jobId, commit.attempt));
    this.dispatchReady();
  }

  /** `commitRead`: the store was just read for a commit of the job (onLost, onSucceeded) and held none. */
  private async onFailed(update: JobUpdate, why?: string, commitRead?: true): Promise<void> {
    const spec = this.graph.spec(update.jobId);
    // An attempt taken for lost may have run on and committed while this one ran (see onUpdate):
    // the job then ran, and a retry spent on it (or the run failed, with none left) would be for
    // nothing; the next attempt would end finding that commit anyway. Unread (the store failing),
    // the failure counts as before. A service is never lost and run again (serviceLost).
    const commit =
      commitRead || spec.service
        ? undefined
        : await this.o.store.readCommit(update.jobId).catch(() => undefined);
    if (commit) {
      this.log.info(
        { job: spec.name, jobId: update.jobId, attempt: update.attempt, committedAttempt: commit.attempt },
        `attempt ${update.attempt} of job '${spec.name}' failed, but attempt ${commit.attempt} had committed: its result stands`,
      );
      return this.onSucceeded({ ...update, outcome: 'succeeded', commit });
    }
    const failureLog = await this.o.store.readFailureLog(update.jobId, update.attempt).catch(() => undefined);
    // The error (with the user's frames) whole, then the last lines the job printed.
    const reason = [
      why,
      failureLog ? `${failureLog.error}\n${tailLines(failureLog.output, 20)}`.trim() : undefined,
      !failureLog && update.message ? verdictAndTail(update.message, 20) : undefined,
      !failureLog && !update.message && update.exitCode !== undefined
        ? `worker exited with code ${update.exitCode}`
        : undefined,
    ]
      .filter((s) => s)
      .join('\n');
    await this.o.onJobLog?.({
      jobId: update.jobId,
      name: spec.name,
      attempt: update.attempt,
      outcome: 'failed',
      error: failureLog ? [why, failureLog.error].filter((s) => s).join('\n') : reason,
      logs: failureLog?.logs ?? [],
      ...(failureLog ? { output: failureLog.output } : {}),
    });
    // What the attempt logged before it failed is often what explains the failure (Toil prints a
    // failed job's log too): it comes out as a successful job's lines do, before the verdict.
    if (failureLog) this.printJobLog(spec.name, update.jobId, failureLog.logs);
    const a = this.attemptsOf(update.jobId);
    // A service is not tried again: its host's successors may hold the value it started with.
    if (a.retriesLeft > 0 && !spec.service) {
      a.retriesLeft--;
      // Its worker deleted what the attempt wrote, unless it died first (killed, out of memory).
      this.unsettledFiles.add(update.jobId);
      this.log.warn(
        { job: spec.name, jobId: update.jobId, attempt: update.attempt, retriesLeft: a.retriesLeft },
        // The message alone: the whole stack is logged once, when the job fails for good.
        `job '${spec.name}' failed; trying again: ${firstLine(reason)}`,
      );
      this.issue(update.jobId);
      return;
    }
    this.failForGood(update.jobId, a.tries, reason);
  }

  /** A job that used more memory than it was issued with: said once (MemoryOverDeclared). */
  private warnOverMemory(spec: JobSpec, jobId: string, commit: JobCommit): void {
    const declaredBytes = this.attempts.get(jobId)?.declaredMemory;
    if (commit.peakRssBytes === undefined || !commit.peakRssJobOnly || declaredBytes === undefined) return;
    const { peakRssBytes, startRssBytes } = commit;
    const usedBytes = jobOwnMemory(peakRssBytes, startRssBytes);
    const warning = this.overMemory.check(spec.name, declaredBytes, usedBytes);
    if (warning)
      this.log.warn(
        { job: spec.name, jobId, declaredBytes, usedBytes, peakRssBytes, startRssBytes },
        warning,
      );
  }

  /** The lines a job logged (`job.log`), on the leader's log at their own levels. */
  private printJobLog(name: string, jobId: string, lines: readonly LogLine[]): void {
    for (const line of lines) {
      const fn =
        line.level === 'error'
          ? 'error'
          : line.level === 'warn'
            ? 'warn'
            : line.level === 'debug'
              ? 'debug'
              : 'info';
      this.jobLog[fn]({ job: name, jobId }, line.message);
    }
  }

  private failForGood(jobId: string, attempts: number, reason: string, committed?: true): void {
    const name = this.graph.spec(jobId).name;
    this.event({
      event: 'gaveUp',
      jobId,
      name,
      ...(attempts > 0 ? { attempt: this.lastAttempt(jobId) } : {}),
      message: firstLine(reason),
    });
    this.graph.markFailed(jobId);
    this.failures.push({ jobId, name, attempts, reason, ...(committed ? { committed } : {}) });
    this.log.error(
      { job: name, jobId, attempts },
      `job '${name}' ${attempts === 0 ? 'never ran' : `failed ${attempts} time(s)`}; giving up on it\n${reason}`,
    );
    const host = this.graph.hostOf(jobId);
    if (host !== undefined) {
      // Toil: the host's successors depend on its services; its other services are told to quit.
      this.brokenHosts.add(host);
      const hostName = this.graph.spec(host).name;
      // A service that fails as it stops (its stop() threw) fails once every successor has run.
      const cost =
        this.graph.notRunBelow(host).length === 0
          ? `every successor of '${hostName}' had completed`
          : `the successors of '${hostName}' not started yet will not run`;
      this.log.warn(
        { job: name, jobId, host: hostName },
        `service '${name}' of job '${hostName}' failed: ${cost}, and its other services are stopped`,
      );
      for (const s of this.graph.servicesOf(host)) this.requestStop(s, false);
    }
    const checkpoint = this.graph.checkpointAbove(jobId);
    // One that already failed for good (out of reruns) is not failed, and reported, again.
    if (
      checkpoint !== undefined &&
      !this.rerunning.has(checkpoint) &&
      this.graph.state(checkpoint) !== 'failed'
    )
      this.rerunning.set(checkpoint, jobId);
    else if (this.o.stopOnFirstFailure) this.stopAtFailure(name);
  }

  /** --stopOnFirstFailure: the run ends failed now; what it has running is killed first. */
  private stopAtFailure(name: string): void {
    if (!this.end()) return;
    this.log.error(
      { job: name },
      `--stopOnFirstFailure: job '${name}' failed for good; stopping the workflow`,
    );
    void this.killIssued('stopping at the first failure: killing the running jobs').finally(() =>
      this.finish(this.failedResult()),
    );
  }

  /** A service runs on on-demand capacity unless its own requirements say preemptable: true. */
  private serviceLimit(jobId: string): { flag: string; limit: number; preemptable: boolean } {
    const preemptable = this.graph.spec(jobId).requirements.preemptable === true;
    return preemptable
      ? {
          flag: '--maxPreemptableServiceJobs',
          limit: this.o.maxPreemptableServiceJobs ?? Infinity,
          preemptable,
        }
      : { flag: '--maxServiceJobs', limit: this.o.maxServiceJobs ?? Infinity, preemptable };
  }

  /**
   * Whether a service may be issued now under its limit; if not it is held until one of its kind
   * ends, or, under a limit of 0, which no service ever fits, fails for good naming the flag.
   */
  private serviceSlotFree(jobId: string): boolean {
    const { flag, limit, preemptable } = this.serviceLimit(jobId);
    if (limit === Infinity) return true;
    if (limit === 0) {
      const name = this.graph.spec(jobId).name;
      this.failForGood(
        jobId,
        0,
        `${flag} is 0, so service '${name}' can never start; give ${flag} 1 or more (or leave it out: no limit)`,
      );
      this.track(async () => {});
      return false;
    }
    const running = [...this.issued].filter(
      (id) => this.graph.spec(id).service && this.serviceLimit(id).preemptable === preemptable,
    ).length;
    if (running < limit) return true;
    this.heldServices.hold(jobId);
    return false;
  }

  /** Jobs ended: as many held back by --maxJobs as there are free slots now are issued, oldest first. */
  private issueHeldForSlots(): void {
    const limit = this.o.maxJobs ?? Infinity;
    while (this.heldForSlots.size > 0 && this.issued.size < limit && !this.done)
      this.issue(this.heldForSlots.takeOldest()!);
  }

  /**
   * A --maxJobs deadlock: every slot is taken by a started service not asked to stop while jobs
   * wait for a slot. A service stops only once its host's successors have run, and they (or what
   * they wait for) are among the held, so nothing can ever move: the held jobs fail for good
   * naming the flag, and the services are then stopped as ones nothing can use any more.
   */
  private checkSlotDeadlock(): void {
    if (this.heldForSlots.size === 0 || this.busy > 0 || this.rerunning.size > 0) return;
    const issued = [...this.issued];
    if (issued.length === 0) return;
    const stuck = issued.every(
      (id) => this.graph.spec(id).service && this.graph.isStarted(id) && !this.stopRequested.has(id),
    );
    if (!stuck) return;
    const held = this.heldForSlots.takeAll();
    const names = issued.map((id) => `'${this.graph.spec(id).name}'`).join(', ');
    for (const id of held)
      this.failForGood(
        id,
        0,
        `the workflow is service deadlocked by --maxJobs: job '${this.graph.spec(id).name}' waits for one of the ${this.o.maxJobs} job slot(s) (--maxJobs ${this.o.maxJobs}), all held by started service(s) (${names}) that stop only after their hosts' successors, which wait for a slot; raise --maxJobs above the number of services that run at once (or bound the services: --maxServiceJobs)`,
      );
    this.track(async () => {});
  }

  /** A service ended: the held ones that fit now are issued, oldest first. */
  private issueHeldServices(): void {
    const held = this.heldServices.takeAll();
    for (const id of held) this.issue(id);
  }

  /**
   * A limit deadlock (Toil warns of it for --maxServiceJobs): every issued job is a started
   * service not asked to stop while services wait for a slot under the limit, so no successor can
   * run, no service can stop, and none held can start. The held services fail for good naming the
   * flag; the running ones are then stopped as services nothing can use any more.
   */
  private checkServiceLimitDeadlock(): void {
    if (this.heldServices.size === 0 || this.busy > 0 || this.rerunning.size > 0) return;
    const issued = [...this.issued];
    const stuck = issued.every(
      (id) => this.graph.spec(id).service && this.graph.isStarted(id) && !this.stopRequested.has(id),
    );
    if (!stuck) return;
    const held = this.heldServices.takeAll();
    const flags = [...new Set(held.map((id) => this.serviceLimit(id).flag))];
    const names = issued.map((id) => `'${this.graph.spec(id).name}'`).join(', ');
    for (const id of held) {
      const { flag, limit } = this.serviceLimit(id);
      const host = this.graph.hostOf(id);
      const hostName = host !== undefined ? this.graph.spec(host).name : '?';
      this.failForGood(
        id,
        0,
        `the workflow is service deadlocked by ${flags.join(' and ')}: service '${this.graph.spec(id).name}' of job '${hostName}' waits for one of the ${limit} service slot(s) (${flag} ${limit}), held by started service(s) (${names}) that stop only after their hosts' successors, which wait for the held services; raise ${flag} to at least the number of services one job adds`,
      );
    }
    this.track(async () => {});
  }

  private servicePollMs(): number {
    return this.o.servicePollMs ?? 1000;
  }

  /**
   * Asks a running service job to stop its service and end (its attempt polls for this). `keep`:
   * its host's successors have completed, so it commits; otherwise it ends without a commit, so
   * that a --restart starts it again for the successors still to run.
   */
  private requestStop(jobId: string, keep = true): void {
    if (!this.issued.has(jobId) || this.stopRequested.has(jobId)) return;
    this.stopRequested.add(jobId);
    if (!keep) this.stoppedEarly.add(jobId);
    const attempt = this.lastAttempt(jobId);
    this.track(() => this.withIoSlot(() => this.o.store.requestServiceStop(jobId, attempt, keep)));
  }

  /** Services whose host's successors have all completed: Toil stops them then. */
  private stopFinishedServices(): void {
    for (const id of this.graph.takeServicesToStop()) this.requestStop(id);
  }

  /**
   * Watches the services while any runs: which have started (their successors may run then), and
   * whether the workflow is service deadlocked. Started with the first service issued, so a
   * workflow without services polls nothing.
   */
  private watchServices(): void {
    if (this.servicePoll) return;
    const poll = new AbortController();
    this.servicePoll = poll;
    const loop = async (): Promise<void> => {
      while (!this.done) {
        await this.o.clock.sleep(this.servicePollMs(), poll.signal);
        const starting = [...this.issued].filter(
          (id) => this.graph.spec(id).service && !this.graph.isStarted(id) && !this.ending.has(id),
        );
        for (const id of starting) {
          const attempt = this.lastAttempt(id);
          const started = await this.withIoSlot(() => this.o.store.readServiceStarted(id, attempt)).catch(
            (e: unknown) => {
              if (!(e instanceof CorruptJobStoreError)) throw e;
              this.failUnreadableStart(id, e);
              return undefined;
            },
          );
          if (!started || this.done || !this.issued.has(id)) continue;
          this.graph.serviceStarted(id, started.value);
          this.log.info(
            { job: this.graph.spec(id).name, jobId: id },
            `service '${this.graph.spec(id).name}' started`,
          );
          this.dispatchReady();
        }
        this.checkServiceDeadlock();
        this.checkServiceLimitDeadlock();
        this.checkSlotDeadlock();
        this.progress();
        this.checkFinished();
      }
    };
    this.track(async () => {
      loop().catch((e: unknown) => {
        if (!poll.signal.aborted) this.stop(coerceError(e));
      });
    });
  }

  /**
   * A service whose start record is damaged has no value to hand its host's successors: it is
   * stopped and fails for good naming the record, so they do not run, rather than run on a value
   * it never gave or the whole run end while its other jobs still could.
   */
  private failUnreadableStart(jobId: string, e: CorruptJobStoreError): void {
    if (this.done || !this.issued.has(jobId)) return;
    const name = this.graph.spec(jobId).name;
    const reason = `service '${name}' started, but its start value cannot be read: ${e.message}`;
    this.log.error({ job: name, jobId }, reason);
    this.ending.set(jobId, reason);
    this.requestStop(jobId, false);
  }

  /**
   * Toil's --maxJobDuration: an attempt (not a service) that has run longer is killed and fails,
   * naming the limit, so a job in an endless loop ends instead of holding its node for ever. Each
   * attempt is looked at when it reaches the limit, from when the batch system says it started;
   * attempts that started since are picked up every tenth of the limit (1 s to 30 s, at most the
   * limit). Waking only on that tick killed an attempt up to a tick late (for 2.0 s under
   * --maxJobDuration 1).
   */
  private watchDurations(): void {
    const limit = this.o.maxJobDurationMs;
    const running = this.o.batchSystem.runningJobs?.bind(this.o.batchSystem);
    if (limit === undefined || running === undefined) return;
    const watch = new AbortController();
    this.durationWatch = watch;
    // Never longer than the limit, so an attempt is seen before it reaches it.
    const every = Math.min(limit, 30_000, Math.max(1_000, limit / 10));
    const loop = async (): Promise<void> => {
      let wait = every;
      while (!this.done) {
        await this.o.clock.sleep(wait, watch.signal);
        const now = this.o.clock.now();
        wait = every;
        for (const r of running()) {
          if (!this.issued.has(r.jobId) || this.overlong.has(r.jobId) || r.startedAt === undefined) continue;
          if (r.attempt !== this.lastAttempt(r.jobId)) continue;
          const spec = this.graph.spec(r.jobId);
          if (spec.service) continue;
          // Over the limit once more than `limit` ms have passed: looked at 1 ms after it.
          const overAt = r.startedAt + limit + 1;
          if (now < overAt) {
            wait = Math.min(wait, overAt - now);
            continue;
          }
          const reason = `job '${spec.name}' ran longer than --maxJobDuration ${limit / 1000} s (for ${((now - r.startedAt) / 1000).toFixed(1)} s) and was killed`;
          this.log.warn({ job: spec.name, jobId: r.jobId, attempt: r.attempt }, reason);
          this.overlong.set(r.jobId, reason);
          this.track(() => this.o.batchSystem.kill(r.jobId));
        }
      }
    };
    loop().catch((e: unknown) => {
      if (!watch.signal.aborted) this.stop(coerceError(e));
    });
  }

  /**
   * Toil's service deadlock (its --deadlockWait): every running job is a service while other
   * issued jobs wait for room they hold, so the hosts' successors can never start. Said when seen;
   * after the wait the services are stopped and they and the waiting jobs fail for good, naming it.
   */
  private checkServiceDeadlock(): void {
    const running = this.o.batchSystem.runningJobs?.().filter((r) => this.issued.has(r.jobId));
    const services = running?.filter((r) => this.graph.spec(r.jobId).service) ?? [];
    const waiting = [...this.issued].filter((id) => !running?.some((r) => r.jobId === id));
    if (!running || running.length === 0 || services.length < running.length || waiting.length === 0) {
      if (this.deadlockWarned)
        this.log.info('potential service deadlock resolved: jobs other than services run');
      this.deadlockSince = undefined;
      this.deadlockWarned = false;
      this.roomAwaitedSaid = false;
      return;
    }
    const names = services.map((r) => `'${this.graph.spec(r.jobId).name}'`).join(', ');
    // A node booting for the waiting jobs takes minutes on EC2: waiting for it is no deadlock, so
    // the clock starts once the scaler has no room coming (at maxNodes, or nothing fits).
    if (this.o.roomOnItsWay?.()) {
      if (!this.roomAwaitedSaid)
        this.log.info(
          { services: services.length, waiting: waiting.length },
          `all ${running.length} running job(s) are services (${names}) while ${waiting.length} issued job(s) wait; the scaler is adding room for them, which --deadlockWait does not count`,
        );
      this.roomAwaitedSaid = true;
      this.deadlockSince = undefined;
      this.deadlockWarned = false;
      return;
    }
    this.roomAwaitedSaid = false;
    const now = this.o.clock.now();
    const wait = this.o.deadlockWaitMs ?? 60_000;
    // A job just issued takes a moment to start: only a lasting state is worth a word.
    this.deadlockSince ??= now;
    const stuckFor = now - this.deadlockSince;
    if (!this.deadlockWarned && stuckFor >= Math.min(5_000, wait / 2)) {
      this.deadlockWarned = true;
      this.log.warn(
        { services: services.length, waiting: waiting.length },
        `potential service deadlock: all ${running.length} running job(s) are services (${names}) while ${waiting.length} issued job(s) wait for room; waiting ${Math.round((wait - stuckFor) / 1000)} s more (--deadlockWait) for one to start`,
      );
    }
    if (stuckFor < wait) return;
    // --maxCores and --maxMemory are room on single_machine only: on a cluster they cap one job.
    const room =
      this.o.batchSystem.name === 'single_machine'
        ? '--maxCores, --maxMemory'
        : this.o.roomOnItsWay
          ? "the scaler's maxNodes"
          : 'more or bigger nodes';
    const reason = `the workflow is service deadlocked: all ${running.length} running job(s) have been services (${names}) for at least ${Math.round(wait / 1000)} s (--deadlockWait) while ${waiting.length} issued job(s) waited for the room they hold${this.o.roomOnItsWay ? ' and the scaler added none (maxNodes, limits, or no node type fits)' : ''}; give the batch system more room (${room}) or the services less`;
    this.log.error(reason);
    this.deadlockSince = undefined;
    this.deadlockWarned = false;
    for (const r of services) {
      this.ending.set(r.jobId, reason);
      this.requestStop(r.jobId, false);
    }
    for (const id of waiting) {
      this.ending.set(id, reason);
      this.track(() => this.o.batchSystem.kill(id));
    }
  }

  /**
   * Toil's checkpoint: once nothing below a checkpoint whose subtree failed runs any more, it
   * runs again (a retry spent) after what it added is forgotten, or, with no retry left, fails
   * for good itself, which may rerun a checkpoint above it in turn.
   */
  private rerunCheckpoints(): void {
    if (this.done || this.busy > 0) return;
    const pass = [...this.rerunning];
    for (const [checkpoint, failed] of pass) {
      const below = [...this.issued].filter((id) => this.graph.isBelow(id, checkpoint));
      // Its services would run on for successors that will not run: Toil tells them to quit.
      for (const id of below) if (this.graph.spec(id).service) this.requestStop(id, false);
      if (below.length > 0) continue;
      this.rerunning.delete(checkpoint);
      const name = this.graph.spec(checkpoint).name;
      const failedName = this.graph.spec(failed).name;
      const a = this.attemptsOf(checkpoint);
      if (a.retriesLeft === 0) {
        this.failForGood(
          checkpoint,
          a.tries,
          `checkpoint job '${name}' has no retries left to run again after job '${failedName}' below it failed for good`,
        );
        continue;
      }
      a.retriesLeft--;
      this.log.warn(
        { job: name, jobId: checkpoint, failed: failedName, retriesLeft: a.retriesLeft },
        `job '${failedName}' below checkpoint job '${name}' failed for good; running '${name}' again to add its successors anew`,
      );
      this.track(() => this.rerunCheckpoint(checkpoint));
    }
    // A checkpoint out of retries fails for good, which may rerun one above it: that one now.
    if ([...this.rerunning.keys()].some((id) => !pass.some(([p]) => p === id))) this.rerunCheckpoints();
    this.stopIdleServices();
  }

  /**
   * When every job still issued is a service that has started, nothing can make their hosts'
   * successors complete any more (one failed, or waits behind a failure): they are stopped, so the
   * run can end rather than wait for them for ever.
   */
  private stopIdleServices(): void {
    const issued = [...this.issued];
    // A checkpoint about to run again (or running again) will add successors that may need them;
    // services (or jobs, under --maxJobs) held back by a limit wait for a slot these hold: a limit
    // deadlock, which checkServiceLimitDeadlock (checkSlotDeadlock) names (stopping these would
    // start the held ones' hosts' successors below a host whose services had stopped).
    if (
      issued.length === 0 ||
      this.rerunning.size > 0 ||
      this.busy > 0 ||
      this.heldServices.size > 0 ||
      this.heldForSlots.size > 0
    )
      return;
    if (!issued.every((id) => this.graph.spec(id).service && this.graph.isStarted(id))) return;
    for (const id of issued) this.requestStop(id, false);
  }

  private async rerunCheckpoint(checkpoint: string): Promise<void> {
    // Issued anew, so checked anew (it ran before a --restart with smaller caps, say), and before
    // its commit goes: a refused rerun leaves the store as it was for a --restart with larger ones.
    this.checkFits(this.graph.spec(checkpoint));
    // Its commit goes first: a leader killed after this replays the workflow without it and runs
    // the checkpoint again, and what its old commit declared is out of reach from then on.
    await this.withIoSlot(() => this.o.store.deleteCommits([checkpoint]));
    const forgotten = new Set(this.graph.restartCheckpoint(checkpoint));
    this.failures.splice(0, this.failures.length, ...this.failures.filter((f) => !forgotten.has(f.jobId)));
    for (const id of [checkpoint, ...forgotten]) this.replayCommits.delete(id);
    this.brokenHosts.delete(checkpoint);
    for (const id of forgotten) {
      this.attempts.delete(id);
      this.brokenHosts.delete(id);
    }
    // A service of the old run held back by a service limit is forgotten too: issued when a slot
    // freed, it was a job the graph no longer knows, and the leader crashed.
    this.heldServices.forget(forgotten);
    this.heldForSlots.forget(forgotten);
    const commitsGone = await this.withIoSlot(() => this.o.store.deleteCommits([...forgotten])).then(
      () => true,
      (e: unknown) => {
        this.log.warn({ err: coerceError(e) }, 'could not delete the commits a checkpoint rerun replaces');
        return false;
      },
    );
    // Their files go only once no commit names them: the checkpoint's and theirs are deleted now,
    // so a leader killed at any point leaves at most files nothing names (for `toil clean`), never
    // a commit, replayed or read by `toil status`, that names a file gone. Commits that stayed
    // keep them. Their tickets and failure logs go with the files: no run reads a dropped job's
    // any more. The checkpoint's earlier attempts' files, named by its old commit
    // and those below it, go as its rerun commits, as a retried job's do.
    if (commitsGone) {
      this.unsettledFiles.add(checkpoint);
      this.track(() => this.deleteForgottenJobs(checkpoint, [...forgotten]));
    }
    this.dispatchReady();
  }

  /**
   * Deletes what the jobs a rerun of `checkpoint` forgot left: every attempt's files, their
   * tickets, failure logs and other records. A failure, or a leader that stops first, leaves them
   * to `toil clean`: a --restart no longer knows those jobs.
   */
  private async deleteForgottenJobs(checkpoint: string, forgotten: readonly string[]): Promise<void> {
    const name = this.graph.spec(checkpoint).name;
    const count = droppedNone();
    try {
      await this.deleteDroppedJobs(forgotten, count);
      if (Object.values(count).some((n) => n > 0))
        this.log.info(
          { job: name, jobId: checkpoint, ...count },
          `deleted what the jobs checkpoint job '${name}' dropped to run again left: ${droppedSaid(count)}`,
        );
    } catch (e) {
      this.log.warn(
        { err: coerceError(e), job: name, jobId: checkpoint, ...count },
        `could not delete all the files, tickets and failure logs the jobs checkpoint job '${name}' dropped to run again left: 'toil clean' deletes them`,
      );
    }
  }

  /**
   * Deletes the orphaned commits a resumed store holds (see reachableCommits): those of the jobs a
   * checkpoint's rerun dropped, left by a leader killed between its two deletions or whose second
   * failed. No run replays them, so nothing else ever would before `toil clean`. Then, as the
   * rerun does, what those jobs and the jobs they added left (files, tickets, failure logs): only
   * the checkpoint's dropped run could have been given their files, and it is gone. Commits first,
   * so that a leader killed in between leaves only objects nothing names. A failure is a warning,
   * not a failed run.
   */
  private async deleteOrphans(orphans: OrphanedCommits): Promise<void> {
    const ids = orphans.commits;
    try {
      await this.withIoSlot(() => this.o.store.deleteCommits(ids));
    } catch (e) {
      this.log.warn(
        { err: coerceError(e), commits: ids.length },
        `could not delete the ${ids.length} orphaned commit(s) of jobs a checkpoint's rerun dropped: 'toil clean' deletes them`,
      );
      return;
    }
    const count = droppedNone();
    const said = `${ids.length} orphaned commit(s) of jobs a checkpoint's rerun dropped`;
    try {
      await this.deleteDroppedJobs(orphans.jobs, count);
      this.log.info(
        { commits: ids.length, ...count },
        `deleted ${said} and what their jobs left: ${droppedSaid(count)}`,
      );
    } catch (e) {
      this.log.warn(
        { err: coerceError(e), commits: ids.length, ...count },
        `deleted ${said}, but not all the files, tickets and failure logs their jobs left: 'toil clean' deletes them`,
      );
    }
  }

  /** Deletes what each of `jobIds` left (see JobStore.deleteDroppedJob), adding up in `count` as it goes. */
  private async deleteDroppedJobs(jobIds: readonly string[], count: DroppedCount): Promise<void> {
    // A few jobs at a time: a big subtree's listings must not hold every IO slot the running
    // jobs' tickets and the rerun checkpoint's own need.
    await forEachLimited(jobIds, FORGOTTEN_FILES_CONCURRENCY, async (id) => {
      const deleted = await this.withIoSlot(() => this.o.store.deleteDroppedJob(id));
      for (const kind of Object.keys(count) as (keyof DroppedCount)[]) count[kind] += deleted[kind];
    });
  }

  /** checkAllFit once the batch system has started; a refusal stops the run. */
  private checkFitsStarted(specs: readonly JobSpec[]): void {
    try {
      this.checkAllFit(specs);
    } catch (e) {
      this.stop(coerceError(e));
    }
  }

  /** `checkFits` for jobs added together, in the order they were added. */
  private checkAllFit(specs: readonly JobSpec[]): void {
    for (const [i, spec] of specs.entries())
      this.checkFits(spec, undefined, () => specs.slice(i + 1).map((s) => this.launchShape(s)));
  }

  /**
   * `r`: the requirements in effect, if known (promised ones resolved); else as declared.
   * `addedWith`: the jobs added after it at the same time (see checkLaunchable).
   */
  private checkFits(
    spec: JobSpec,
    r = resolveJobRequirements(spec, spec.requirements, this.o.defaults),
    addedWith: () => readonly DeclaredJob[] = () => [],
  ): void {
    // The user's own caps first: Toil refuses such a job on every batch system, whatever its nodes.
    if (this.o.jobLimits)
      checkJobLimits(
        { name: spec.name, cores: r.cores, memoryBytes: r.memory, diskBytes: r.disk },
        this.o.jobLimits,
      );
    this.o.checkLaunchable?.(this.launchShape(spec, r), addedWith);
    const max: JobRequirements | undefined = this.o.batchSystem.maxJobRequirements();
    if (!max) return;
    const over: string[] = [];
    const defaultFlags: string[] = [];
    const declared = spec.requirements;
    if (r.cores > max.cores) {
      over.push(`${r.cores} cores`);
      if (declared.cores === undefined && declared.promised?.cores === undefined)
        defaultFlags.push('--defaultCores');
    }
    if (r.memory > max.memory) {
      over.push(`${formatBytes(r.memory)} memory`);
      if (declared.memory === undefined && declared.promised?.memory === undefined)
        defaultFlags.push('--defaultMemory');
    }
    if (r.disk > max.disk) {
      over.push(`${formatBytes(r.disk)} disk`);
      if (declared.disk === undefined && declared.promised?.disk === undefined)
        defaultFlags.push('--defaultDisk');
    }
    if (over.length === 0) return;
    throw new JobTooBigError(
      spec.name,
      over.join(', '),
      `${max.cores} cores, ${formatBytes(max.memory)} memory, ${formatBytes(max.disk)} disk on ${this.o.batchSystem.name}`,
      '',
      defaultFlags,
    );
  }

  /** The job as the scaler's checks judge it. */
  private launchShape(
    spec: JobSpec,
    r = resolveJobRequirements(spec, spec.requirements, this.o.defaults),
  ): DeclaredJob {
    return {
      name: spec.name,
      cores: r.cores,
      memoryBytes: r.memory,
      diskBytes: r.disk,
      preemptable: r.preemptable,
      ...(spec.service ? { service: true } : {}),
    };
  }

  /** The services a host's commit adds, with the smallest of its successors, checked together. */
  private checkServicesTogether(hostId: string, created: readonly JobSpec[]): void {
    const check = this.o.checkServicesTogether;
    if (!check) return;
    const services = created.filter((s) => s.service && this.graph.hostOf(s.id) === hostId);
    // A promised requirement is known only once its producer ran: no judging the services then.
    if (services.length === 0 || services.some((s) => s.requirements.promised)) return;
    const beside = created
      .filter((s) => !s.service && !s.requirements.promised)
      .map((s) => this.launchShape(s))
      .sort((a, b) => a.cores - b.cores || a.memoryBytes - b.memoryBytes || a.diskBytes - b.diskBytes)[0];
    check(
      this.graph.spec(hostId).name,
      services.map((s) => this.launchShape(s)),
      beside,
    );
  }

  private track(work: () => Promise<void>): void {
    this.busy++;
    work()
      .catch((e: unknown) => this.stop(coerceError(e)))
      .finally(() => {
        this.busy--;
        // Before the checks below: a slot freed is taken at once, so the run is never seen idle.
        this.issueHeldForSlots();
        this.progress();
        this.rerunCheckpoints();
        this.checkFinished();
      });
  }

  /** The update goes to onLost: a loss in a live run, neither stopped nor cut off by the leader. */
  private judgedAsLost(update: JobUpdate): boolean {
    const { jobId } = update;
    return (
      update.outcome === 'lost' &&
      !this.done &&
      !this.ending.has(jobId) &&
      !this.stoppedEarly.has(jobId) &&
      !this.overlong.has(jobId)
    );
  }

  /** The event of an attempt's end, as its batch system reported it (`outcome` overrides). */
  private endedEvent(
    update: JobUpdate,
    outcome: JobEvent['event'] = update.outcome === 'succeeded' ? 'completed' : update.outcome,
    message = update.message,
  ): void {
    this.event({
      event: outcome,
      jobId: update.jobId,
      name: this.graph.spec(update.jobId).name,
      attempt: update.attempt,
      ...(update.exitCode !== undefined ? { exitCode: update.exitCode } : {}),
      ...(update.node !== undefined ? { node: update.node } : {}),
      ...(message ? { message: firstLine(message) } : {}),
    });
  }

  private event(e: Omit<JobEvent, 'at'>): void {
    this.o.onJobEvent?.({ ...e, at: this.o.clock.now() });
  }

  /** Marks the run over and stops its watches; false when it already was. */
  private end(): boolean {
    if (this.done) return false;
    this.done = true;
    this.servicePoll?.abort();
    this.durationWatch?.abort();
    return true;
  }

  private stop(error: Error): void {
    if (this.end()) this.abort(error);
  }

  private checkFinished(): void {
    if (this.done || this.busy > 0 || this.issued.size > 0) return;
    this.end();
    const root = this.graph.rootId;
    let returnValue: Json | undefined;
    if (this.graph.isDone()) {
      try {
        returnValue = resolvePromises(
          this.graph.returnValueOf(root),
          (id) => this.graph.returnValueOf(id),
          (id) => this.graph.nameOf(id),
        );
      } catch (e) {
        // Every job ran, but the workflow's result is not there (a promise of an element the value
        // lacks): the workflow's bug, reported as the root's failure, not a crash of the leader.
        this.failForGood(root, 1, `the workflow's result cannot be made: ${coerceError(e).message}`, true);
      }
    }
    this.finish(
      returnValue !== undefined
        ? { status: 'succeeded', returnValue, jobsRun: this.jobsRun, replayed: this.replayed }
        : this.failedResult(),
    );
  }

  private failedResult(): WorkflowRunResult {
    return {
      status: 'failed',
      failures: this.withNeverRan(this.failures),
      jobsRun: this.jobsRun,
      replayed: this.replayed,
    };
  }

  /**
   * The failures, each failed service's (the first of a host) saying which jobs below its host
   * never ran because of it: Toil names only the service, which leaves one to guess what it cost.
   */
  private withNeverRan(failures: readonly FailedJob[]): FailedJob[] {
    const said = new Set<string>();
    return failures.map((f) => {
      const host = this.graph.hostOf(f.jobId);
      if (host === undefined || said.has(host)) return f;
      said.add(host);
      const ids = this.graph.notRunBelow(host);
      if (ids.length === 0) return f;
      const byName = new Map<string, number>();
      for (const id of ids) {
        const name = this.graph.spec(id).name;
        byName.set(name, (byName.get(name) ?? 0) + 1);
      }
      const shown = [...byName]
        .slice(0, NEVER_RAN_NAMES)
        .map(([n, c]) => (c > 1 ? `'${n}' (${c})` : `'${n}'`));
      const more = byName.size - shown.length;
      const rest = more > 0 ? ` and ${more} other name(s)` : '';
      return {
        ...f,
        neverRan: `${ids.length} job(s) below job '${this.graph.spec(host).name}' never ran: ${shown.join(', ')}${rest}`,
      };
    });
  }

  /** The attempts issued and not yet ended (queued in the batch system or running there). */
  *issuedAttempts(): Generator<{ jobId: string; name: string; attempt: number }> {
    if (!this.graph) return;
    for (const jobId of this.issued)
      yield { jobId, name: this.graph.spec(jobId).name, attempt: this.lastAttempt(jobId) };
  }

  /** Jobs ready but held back by --maxJobs or a service limit, not issued. */
  heldCount(): number {
    return this.heldForSlots.size + this.heldServices.size;
  }

  private progress(): void {
    const c = this.graph.counts();
    const held = this.heldCount();
    this.o.onProgress?.({
      known: c.known,
      completed: c.ran,
      running: this.issued.size,
      ...(held > 0 ? { held } : {}),
      failed: c.failed,
    });
  }

  private async flushDeletes(): Promise<void> {
    const batch = this.pendingDeletes.splice(0, this.pendingDeletes.length);
    if (batch.length > 0) await this.o.store.deleteFiles(batch);
  }

  private async withIoSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.ioSlots === 0) await new Promise<void>((r) => this.ioWaiters.push(r));
    this.ioSlots--;
    try {
      return await fn();
    } finally {
      this.ioSlots++;
      this.ioWaiters.shift()?.();
    }
  }
}

/**
 * A batch system's message for an attempt with no failure log (its worker died: killed by a
 * signal, out of memory): its first line says how it ended, the rest is the worker's output, of
 * which the tail is kept. The tail alone lost that first line, and the summary named a line of
 * the output instead (a blank one after Node's out-of-memory report).
 */
function verdictAndTail(text: string, n: number): string {
  const [verdict = '', ...rest] = text.split('\n');
  if (rest.length <= n) return text;
  return [verdict, `[${rest.length - n} line(s) of output left out here]`, ...rest.slice(-n)].join('\n');
}

function tailLines(text: string, n: number): string {
  const lines = text.split('\n');
  return lines.slice(-n).join('\n');
}

/**
 * Why and where a job was lost, as its batch system says: a node gone, a spot reclaim, or a Slurm
 * job cancelled from outside (scancel), which is not the node's doing.
 */
function whereLost(update: JobUpdate): string {
  return `${update.message ?? 'its node is gone'}${update.node ? ` on ${update.node}` : ''}`;
}
