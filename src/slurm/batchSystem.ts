/**
 * The `slurm` batch system: each attempt is one Slurm batch job (`sbatch`), watched with one
 * `squeue --json` per poll for all of them. Slurm places jobs; this class maps its answers to the
 * leader's outcomes and gives the scaler the node view and the drain it needs.
 *
 * - Placement: cores, memory, disk (`--tmp`), time limit from the declared walltime, and
 *   `--constraint=<on-demand feature>` for non-preemptable jobs (see jobScript.ts).
 * - Outcomes: COMPLETED → succeeded; FAILED, TIMEOUT, OUT_OF_MEMORY, DEADLINE → failed;
 *   NODE_FAIL, BOOT_FAIL, PREEMPTED → lost (no retry spent); a job Slurm no longer knows (two
 *   polls running) → lost; CANCELLED after `kill` → killed; a CANCELLED we did not ask for (an
 *   operator's `scancel`) → failed, as in Toil.
 * - Draining is race-free: `markDraining` is synchronous and sends `State=DRAIN` at once; `isEmpty`
 *   says true only when the controller has confirmed the drain AND a `squeue` that started after
 *   that confirmation shows no job on the node (anyone's). Slurm places nothing on a drained node,
 *   so once that holds it keeps holding. Before the confirmation the answer is "not empty".
 * - Keep-off hints (`keepOff`): Slurm places jobs itself, but a pending job's excluded nodes can
 *   be changed. A job is submitted with `--exclude` naming the nodes the standing hints keep its
 *   request off, and each new set of hints updates (`scontrol update ExcNodeList=`) only the
 *   pending jobs whose list changes. Slurm refuses the update once a job has started, so nothing
 *   running is touched. The user's own `--exclude` (TOIL_SLURM_ARGS) is part of every list: a
 *   hint adds to it, a lifted hint restores it.
 */
import PQueue from 'p-queue';
import type { Clock } from '../common/clock.js';
import { IllegalStateError, coerceError, isAbortError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { placementKey } from '../common/placementOrder.js';
import { formatDuration } from '../common/units.js';
import type {
  ClusterAgent,
  ClusterBatchSystem,
  IssuedJob,
  JobOutcome,
  JobRequirements,
  JobUpdateListener,
  RunningJobView,
} from '../ports/batchSystem.js';
import { SlurmCommandError, type SlurmCli } from './cli.js';
import { expandHostlist } from './hostlist.js';
import type { SlurmJob, SlurmNode } from './json.js';
import { DEFAULT_STUCK_PENDING_WARN_MS, stuckPendingAdvice } from './stuckPending.js';
import {
  attemptComment,
  batchScript,
  parseAttemptComment,
  parseSlurmArgs,
  sbatchArgs,
  unionExcluded,
  type SlurmJobOptions,
} from './jobScript.js';

export interface SlurmBatchSystemOptions {
  readonly cli: SlurmCli;
  readonly clock: Clock;
  readonly log?: Logger;
  /** How often `squeue` is asked. Default 1000 ms. */
  readonly pollMs?: number;
  /** The node features that mark spot and on-demand nodes. Default `spot` and `ondemand`. */
  readonly spotFeature?: string;
  /** '' when the cluster has no such feature: non-preemptable jobs then run anywhere. */
  readonly onDemandFeature?: string;
  readonly partition?: string;
  /** Where job output goes; `%j` is the Slurm job id. Default /dev/null. */
  readonly outputPath?: string;
  /** The directory jobs start in. Default /tmp. */
  readonly workDir?: string;
  /** More sbatch flags (TOIL_SLURM_ARGS); an `--exclude`/`-x` there is kept in every job's list. */
  readonly extraArgs?: readonly string[];
  /** Toil's Slurm flags (--slurmPE, --slurmTime, --slurmQOS, --slurmAllocateMem, --batchLogsDir). */
  readonly jobFlags?: Pick<
    SlurmJobOptions,
    'multiCorePartition' | 'defaultTime' | 'qos' | 'allocateMem' | 'logsDir'
  >;
  /** sbatch calls at once. Default 4. */
  readonly submitConcurrency?: number;
  /**
   * Called once the controller has answered, before any job is submitted: the leader records
   * there that the workflow's jobs are in this cluster (for `toil kill --force`).
   */
  readonly onStart?: () => Promise<void>;
  /**
   * A job pending this long for a reason that will not clear by itself (stuckPending.ts) is
   * named in one WARN. Default 30 s.
   */
  readonly stuckPendingWarnMs?: number;
  /**
   * Nodes are launched as jobs need them (the scaler runs this cluster): a job waiting for a node
   * that can take it is then expected, and only reasons that need a change are warned of.
   */
  readonly nodesJoinOnDemand?: boolean;
}

/** Where one attempt ran, from Slurm's own answer (for tests and the status page). */
export interface SlurmPlacement {
  readonly jobId: string;
  readonly attempt: number;
  readonly slurmJobId: number;
  readonly node: string;
  readonly jobPreemptable: boolean;
  /** When a poll first saw it placed (this clock). */
  readonly atMs: number;
}

/** A node as the scaler sees it. `agentId` is the Slurm node name. */
export interface SlurmAgentReport {
  readonly agentId: string;
  /** The node's address (an instance's private IP). */
  readonly hostname: string;
  /** The node's name when it is an EC2 instance id (how nodes are named when we launch them). */
  readonly instanceId?: string;
  readonly preemptable: boolean;
  readonly draining: boolean;
  readonly state: string;
  /** Slurm has not heard from its slurmd within SlurmdTimeout. */
  readonly notResponding: boolean;
  readonly total: { readonly cpus: number; readonly memoryMb: number; readonly tmpDiskMb: number };
  readonly free: { readonly cpus: number; readonly memoryMb: number };
  readonly runningJobIds: string[];
}

type AttemptState = 'submitting' | 'queued' | 'running' | 'done';

interface Attempt {
  readonly job: IssuedJob;
  state: AttemptState;
  slurmJobId?: number;
  node?: string;
  runningAtMs?: number;
  killRequested: boolean;
  killed?: () => void;
  /** Polls in a row that did not list the job. */
  missing: number;
  submitted?: Promise<void>;
  /** The nodes Slurm has as the job's ExcNodeList (sorted, joined by ','; '' for none). */
  excluded: string;
  /** When a poll first saw it PENDING (this clock); cleared once it is not. */
  pendingSinceMs?: number;
}

interface DrainMark {
  /** The observation ticket at which the controller confirmed State=DRAIN. */
  confirmedAt?: number;
  pending: boolean;
}

const FAILED_STATES = new Set(['FAILED', 'TIMEOUT', 'OUT_OF_MEMORY', 'DEADLINE']);
const LOST_STATES = new Set(['NODE_FAIL', 'BOOT_FAIL', 'PREEMPTED', 'REVOKED']);
/** Job states after which a job holds nothing more (its outcome is known). */
export const ENDED_STATES: ReadonlySet<string> = new Set([
  'COMPLETED',
  'CANCELLED',
  ...FAILED_STATES,
  ...LOST_STATES,
]);
/** Job states in which the job holds (or is about to hold) its node. */
const ON_NODE_STATES = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'STOPPED', 'SIGNALING']);
/** Job ids per `scontrol update`, so the command line stays short. */
const EXCLUDE_UPDATE_BATCH = 100;
const NOT_USABLE_NODE_STATES = new Set(['future', 'down', 'unknown']);
/** A submission Slurm refuses for now is tried again after 1 s, then twice as long, up to 30 s… */
const SUBMIT_RETRY_FIRST_MS = 1000;
const SUBMIT_RETRY_MAX_MS = 30_000;
/** …for up to 10 min (a controller restarting, a full queue draining); then the job fails. */
const SUBMIT_RETRY_FOR_MS = 10 * 60_000;

/**
 * The limit a TIMEOUT job reached, as Slurm had it, and what sets it: the user changes one of
 * those (which one they gave is theirs to know; a --time of the extra flags wins over the others).
 */
function timeLimitOf(j: SlurmJob): string {
  if (j.timeLimitMinutes === undefined) return '';
  return ` of ${formatDuration(j.timeLimitMinutes * 60_000)} (set by the job's walltime, else --slurmTime, a --time in TOIL_SLURM_ARGS or the partition's limit)`;
}

export class SlurmBatchSystem implements ClusterBatchSystem {
  readonly name = 'slurm';
  private readonly o: SlurmBatchSystemOptions;
  private readonly log: Logger;
  private readonly jobOptions: SlurmJobOptions;
  /** The nodes the user excluded in the extra flags, as host lists: in every job's list. */
  private readonly userExcluded: readonly string[];
  private readonly spotFeature: string;
  private listener: JobUpdateListener | undefined;
  private readonly attempts = new Map<string, Attempt>();
  private readonly bySlurmId = new Map<number, Attempt>();
  private readonly losses = new Map<string, number>();
  /** Jobs already warned of as stuck in Slurm's queue (once per job, whatever its attempts). */
  private readonly warnedStuck = new Set<string>();
  /** Slurm jobs cancelled as second submissions of an attempt (each is cancelled once). */
  private readonly secondSubmissions = new Set<number>();
  private readonly placementLog: SlurmPlacement[] = [];
  private readonly drainMarks = new Map<string, DrainMark>();
  /** Nodes whose machine is gone, deleted from the controller at the next poll that can. */
  private readonly gone = new Set<string>();
  private readonly submitQueue: PQueue;
  /** Increases at every observation start and drain confirmation (orders the two). */
  private ticket = 0;
  /** The last completed `squeue`: when it started (ticket) and which nodes held jobs. */
  private lastObservation: { ticket: number; busyNodes: Set<string> } | undefined;
  private knownNodes: SlurmNode[] = [];
  /** Node name → placement keys of the requests the scaler keeps off it (keepOff). */
  private keptOff: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  /** The exclusion updates under way, and whether hints changed while they ran. */
  private excluding: Promise<void> | undefined;
  private excludeAgain = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(options: SlurmBatchSystemOptions) {
    this.o = options;
    this.log = (options.log ?? silentLogger()).child({ component: 'slurm-batch' });
    this.spotFeature = options.spotFeature ?? 'spot';
    const user = parseSlurmArgs(options.extraArgs ?? []);
    this.userExcluded = user.excludedNodes;
    this.jobOptions = {
      onDemandFeature: options.onDemandFeature ?? 'ondemand',
      outputPath: options.outputPath ?? '/dev/null',
      workDir: options.workDir ?? '/tmp',
      ...(options.partition ? { partition: options.partition } : {}),
      ...(user.args.length > 0 ? { extraArgs: user.args } : {}),
      ...options.jobFlags,
    };
    this.submitQueue = new PQueue({ concurrency: options.submitConcurrency ?? 4 });
  }

  async start(listener: JobUpdateListener): Promise<void> {
    this.listener = listener;
    await this.o.cli.ping();
    await this.o.onStart?.();
    await this.refreshNodes().catch((e: unknown) =>
      this.log.warn({ err: coerceError(e) }, 'could not list Slurm nodes'),
    );
    this.loop = this.pollLoop();
  }

  /** The cluster's partition names, to check a partition the user named before anything runs. */
  partitions(): Promise<string[]> {
    return this.o.cli.partitions();
  }

  /** Resolves when the controller answers (`scontrol ping`): the readiness check. */
  ping(): Promise<void> {
    return this.o.cli.ping();
  }

  async issue(job: IssuedJob): Promise<void> {
    if (this.stopping) throw new IllegalStateError('the slurm batch system is shutting down');
    const prior = this.attempts.get(job.jobId);
    if (prior && prior.state !== 'done') {
      throw new IllegalStateError(`job ${job.jobId} is already issued (attempt ${prior.job.attempt})`);
    }
    const a: Attempt = { job, state: 'submitting', killRequested: false, missing: 0, excluded: '' };
    this.attempts.set(job.jobId, a);
    const submitted = this.submitQueue.add(async () => {
      let excluded = this.excludedNodesFor(job);
      const id = await this.submitRetrying(job, () =>
        this.o.cli.submit(sbatchArgs(job, this.jobOptions, excluded), batchScript(job)),
      ).catch(async (e: unknown) => {
        // A hinted node deleted since the last node listing: submitted without the hint.
        const userOnly = [...this.userExcluded];
        if (excluded.length === userOnly.length || !/Invalid node name/i.test(coerceError(e).message)) {
          throw e;
        }
        excluded = userOnly;
        void this.refreshNodes().catch(() => undefined);
        return this.submitRetrying(job, () =>
          this.o.cli.submit(sbatchArgs(job, this.jobOptions, excluded), batchScript(job)),
        );
      });
      a.slurmJobId = id;
      a.excluded = excluded.join(',');
      this.bySlurmId.set(id, a);
      if (a.state === 'submitting') a.state = 'queued';
      // Hints that changed while it was being submitted reach it now.
      if (this.excludedNodesFor(job).join(',') !== a.excluded) this.updateExclusions();
    });
    a.submitted = submitted;
    try {
      await submitted;
    } catch (e) {
      this.attempts.delete(job.jobId);
      throw e;
    }
    if (a.killRequested && a.state !== 'done') await this.o.cli.cancel(a.slurmJobId!);
  }

  /**
   * Submits through `submit`, again after a backoff while Slurm refuses for now (the controller
   * unreachable or not answering, `Slurm temporarily unable to accept job`, a full job queue:
   * disposition 'retry'), for up to SUBMIT_RETRY_FOR_MS; then, or at any other refusal, the error
   * is the job's. A refusal whose request may have reached the controller (a reply that timed
   * out) can have made the job all the same: one carrying this attempt's comment is taken, never
   * submitted twice.
   */
  private async submitRetrying(job: IssuedJob, submit: () => Promise<number>): Promise<number> {
    const start = this.o.clock.now();
    for (let delay = SUBMIT_RETRY_FIRST_MS; ; delay = Math.min(delay * 2, SUBMIT_RETRY_MAX_MS)) {
      let refusal: SlurmCommandError;
      try {
        return await submit();
      } catch (e) {
        if (!(e instanceof SlurmCommandError) || e.disposition !== 'retry' || this.stopping) throw e;
        refusal = e;
      }
      if (this.o.clock.now() - start + delay > SUBMIT_RETRY_FOR_MS) throw refusal;
      this.log.warn(
        { job: job.name, jobId: job.jobId, attempt: job.attempt, err: refusal, retryInMs: delay },
        `Slurm refused job '${job.name}' for now; submitting it again in ${formatDuration(delay)}`,
      );
      await this.o.clock.sleep(delay, this.abort.signal).catch(() => undefined);
      if (this.stopping) throw refusal;
      // Looked for after the wait: a controller that was not answering has had time to take it.
      const comment = attemptComment(job.jobId, job.attempt);
      const made = await this.o.cli.jobs().then(
        (jobs) => jobs.find((j) => j.comment === comment),
        () => undefined,
      );
      if (made) return made.jobId;
    }
  }

  async kill(jobId: string): Promise<void> {
    const a = this.attempts.get(jobId);
    if (!a || a.state === 'done') return;
    a.killRequested = true;
    const stopped = new Promise<void>((resolve) => (a.killed = resolve));
    if (a.slurmJobId !== undefined) await this.o.cli.cancel(a.slurmJobId);
    await stopped;
  }

  issuedJobIds(): ReadonlySet<string> {
    return new Set([...this.attempts.values()].filter((a) => a.state !== 'done').map((a) => a.job.jobId));
  }

  runningJobs(): readonly RunningJobView[] {
    return [...this.attempts.values()]
      .filter((a) => a.state === 'running' && a.slurmJobId !== undefined)
      .map((a) => ({
        jobId: a.job.jobId,
        attempt: a.job.attempt,
        batchJobId: String(a.slurmJobId),
        ...(a.node !== undefined ? { node: a.node } : {}),
        ...(a.runningAtMs !== undefined ? { startedAt: a.runningAtMs } : {}),
      }));
  }

  maxJobRequirements(): JobRequirements | undefined {
    const usable = this.knownNodes.filter((n) => !NOT_USABLE_NODE_STATES.has(n.state));
    if (usable.length === 0) return undefined;
    return {
      cores: Math.max(...usable.map((n) => n.cpus)),
      memory: Math.max(...usable.map((n) => n.memoryMb)) * 2 ** 20,
      disk: Math.max(...usable.map((n) => n.tmpDiskMb)) * 2 ** 20,
      preemptable: false,
    };
  }

  /** Stops watching. Jobs already in Slurm keep running (a restarted leader runs them again). */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.submitQueue.clear();
    await this.loop?.catch(() => undefined);
    await this.submitQueue.onIdle();
    await this.excluding;
  }

  // ---- keep-off hints (the scaler's side) ------------------------------------------------------

  /**
   * The scaler's keep-off hints, by node name: each of our pending jobs gets as its excluded nodes
   * the user's (TOIL_SLURM_ARGS) and the nodes that keep its request off (only the user's when no
   * hint names it); only jobs whose list changes are updated, one `scontrol update` per shared
   * list. Each call replaces the last.
   */
  keepOff(byAgent: ReadonlyMap<string, ReadonlySet<string>>): void {
    this.keptOff = byAgent;
    this.updateExclusions();
  }

  /** The user's excluded nodes, then those Slurm knows whose hints keep this job's request off. */
  private excludedNodesFor(job: IssuedJob): string[] {
    return unionExcluded(this.userExcluded, this.hintedNodesFor(job));
  }

  /** The nodes Slurm knows whose hints keep this job's request off, sorted. */
  private hintedNodesFor(job: IssuedJob): string[] {
    if (this.keptOff.size === 0) return [];
    const key = placementKey(job.requirements);
    // A name Slurm does not know (a node deleted since the hint) would make it refuse the job.
    const known = new Set(this.knownNodes.map((n) => n.name));
    return [...this.keptOff]
      .filter(([node, keys]) => keys.has(key) && known.has(node))
      .map(([node]) => node)
      .sort();
  }

  /** Starts bringing pending jobs' excluded nodes in line with the hints (once more if running). */
  private updateExclusions(): void {
    if (this.excluding) {
      this.excludeAgain = true;
      return;
    }
    this.excluding = (async () => {
      do {
        this.excludeAgain = false;
        // Jobs that get the same list share one `scontrol update` (Slurm takes a list of ids).
        const byList = new Map<string, Attempt[]>();
        for (const a of this.attempts.values()) {
          if (a.state !== 'queued' || a.slurmJobId === undefined) continue;
          const wanted = this.excludedNodesFor(a.job).join(',');
          if (wanted === a.excluded) continue;
          byList.set(wanted, [...(byList.get(wanted) ?? []), a]);
        }
        for (const [wanted, group] of byList) {
          if (this.stopping) return;
          for (let i = 0; i < group.length; i += EXCLUDE_UPDATE_BATCH) {
            await this.setExcluded(group.slice(i, i + EXCLUDE_UPDATE_BATCH), wanted);
          }
        }
      } while (this.excludeAgain && !this.stopping);
    })().finally(() => (this.excluding = undefined));
  }

  /** One `scontrol update` for jobs that get the same list; Slurm names each job it refused. */
  private async setExcluded(group: readonly Attempt[], wanted: string): Promise<void> {
    try {
      await this.o.cli.setJobExcludedNodes(
        group.map((a) => a.slurmJobId!),
        wanted === '' ? [] : wanted.split(','),
      );
      for (const a of group) a.excluded = wanted;
    } catch (e) {
      const err = coerceError(e);
      const refused = new Map<number, string>();
      for (const m of err.message.matchAll(/([^\n:]*) for job (\d+)/g)) refused.set(Number(m[2]), m[1]!);
      for (const a of group) {
        const why = refused.get(a.slurmJobId!);
        // Not named: updated. Started (or ended) since the last poll: no longer ours to move.
        if (
          refused.size > 0 &&
          (why === undefined || /no longer pending|Invalid job id|already completed/i.test(why))
        ) {
          a.excluded = wanted;
        }
      }
      // A node deleted since the last listing: the next hints leave it out.
      if (/Invalid node name/i.test(err.message)) await this.refreshNodes().catch(() => undefined);
      const unsettled = group.filter((a) => a.excluded !== wanted).map((a) => a.slurmJobId);
      if (unsettled.length > 0) {
        this.log.warn(
          { err, slurmJobIds: unsettled },
          'could not set the excluded nodes of pending jobs; tried again with the next hints',
        );
      }
    }
  }

  // ---- draining (the scaler's side) -----------------------------------------------------------

  /**
   * Marks the node and sends State=DRAIN at once. Synchronous (the port asks it); the emptiness
   * check below waits for the controller's confirmation, so nothing placed between the mark and
   * the drain can be missed.
   */
  markDraining(node: string): void {
    if (this.drainMarks.has(node)) return;
    const mark: DrainMark = { pending: true };
    this.drainMarks.set(node, mark);
    void this.sendDrain(node, mark);
  }

  private async sendDrain(node: string, mark: DrainMark): Promise<void> {
    try {
      await this.o.cli.drainNode(node, 'toil: scaling in');
      mark.confirmedAt = ++this.ticket;
    } catch (e) {
      const err = coerceError(e);
      if (/Invalid node name/i.test(err.message)) {
        // The node is gone already: nothing can land on it.
        mark.confirmedAt = ++this.ticket;
      } else {
        this.log.warn({ err, node }, 'drain not confirmed yet; sent again at the next poll');
      }
    } finally {
      mark.pending = false;
    }
  }

  async unmarkDraining(node: string): Promise<void> {
    if (!this.drainMarks.delete(node)) return;
    await this.o.cli.resumeNode(node);
  }

  isMarkedDraining(node: string): boolean {
    return this.drainMarks.has(node);
  }

  /** No job runs there, per a `squeue` that started after the controller confirmed the drain. */
  isEmpty(node: string): boolean {
    const mark = this.drainMarks.get(node);
    if (!mark) throw new IllegalStateError(`isEmpty(${node}) asked before the node was marked draining`);
    const seen = this.lastObservation;
    if (mark.confirmedAt === undefined || !seen || seen.ticket <= mark.confirmedAt) return false;
    return !seen.busyNodes.has(node) && this.runningOn(node).length === 0;
  }

  /** The node is gone or must go now: State=DOWN ends its jobs as NODE_FAIL (they come back lost). */
  async forceDrain(node: string): Promise<void> {
    this.markDraining(node);
    await this.o.cli.downNode(node, 'toil: node gone');
  }

  /** Forgets a node's mark once it is deleted (its name may come back as a new node). */
  forgetNode(node: string): void {
    this.drainMarks.delete(node);
  }

  /** The port's name for `forceDrain`: what still runs there ends NODE_FAIL and comes back lost. */
  drain(node: string): Promise<void> {
    return this.forceDrain(node);
  }

  /**
   * The node's machine is gone (its instance reclaimed or terminated): every job of ours placed
   * there is reported lost now (no retry spent; the leader issues it again at once), its Slurm job
   * is cancelled in case the node was only cut off (nothing runs twice), and the node is set DOWN
   * so nothing is placed there again. Returns those jobs' ids.
   */
  nodeLost(node: string, reason: string): string[] {
    const lost = [...this.attempts.values()].filter(
      (a) => a.state !== 'done' && a.node !== undefined && expandHostlist(a.node).includes(node),
    );
    for (const a of lost) {
      const slurmJobId = a.slurmJobId;
      this.finish(a, a.killRequested ? 'killed' : 'lost', { message: reason });
      if (slurmJobId !== undefined)
        void this.o.cli
          .cancel(slurmJobId)
          .catch((e: unknown) =>
            this.log.debug({ err: coerceError(e), slurmJobId }, 'scancel after a node loss'),
          );
    }
    this.markDraining(node);
    void this.o.cli
      .downNode(node, 'toil: node gone')
      .catch((e: unknown) => this.log.debug({ err: coerceError(e), node }, 'could not set a lost node DOWN'));
    return lost.map((a) => a.job.jobId);
  }

  /**
   * The node's machine is gone (the scaler saw its instance end): it is set DOWN now (its jobs end
   * NODE_FAIL, nothing is placed there), and deleted from the controller at the next polls, as
   * soon as Slurm has let go of its jobs.
   */
  nodeGone(node: string): void {
    this.markDraining(node);
    this.gone.add(node);
    void this.o.cli
      .downNode(node, 'toil: instance gone')
      .catch((e: unknown) => this.log.debug({ err: coerceError(e), node }, 'could not set a gone node DOWN'));
  }

  /**
   * Deletes the node from the controller (`scontrol delete`), for a node drained empty whose
   * instance is about to be terminated, or one already gone: no node of a gone instance stays in
   * Slurm's records. A node Slurm no longer knows counts as deleted. Slurm refuses to delete a
   * node while a job still holds it (one completing, or a leader releasing busy nodes): the node is
   * then set DOWN (what runs there ends NODE_FAIL, as it would when the instance goes) and the
   * delete tried again, a few times, before this rejects.
   */
  async removeNode(node: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.cli.deleteNode(node);
        break;
      } catch (e) {
        if (/Invalid node name|not found/i.test(coerceError(e).message)) break;
        if (attempt >= 10) throw e;
        if (attempt === 1) await this.o.cli.downNode(node, 'toil: instance retiring').catch(() => undefined);
        await this.o.clock.sleep(300);
      }
    }
    this.forgetNode(node);
  }

  // ---- observation ----------------------------------------------------------------------------

  async agents(): Promise<SlurmAgentReport[]> {
    const nodes = await this.refreshNodes();
    return nodes
      .filter((n) => n.state !== 'future')
      .map((n) => ({
        agentId: n.name,
        hostname: n.address || n.hostname,
        ...(/^i-[0-9a-f]+$/.test(n.name) ? { instanceId: n.name } : {}),
        preemptable: n.features.includes(this.spotFeature),
        draining: this.drainMarks.has(n.name) || n.flags.includes('DRAIN'),
        state: n.state,
        notResponding: n.flags.includes('NOT_RESPONDING'),
        total: { cpus: n.cpus, memoryMb: n.memoryMb, tmpDiskMb: n.tmpDiskMb },
        free: { cpus: n.cpus - n.allocCpus, memoryMb: n.memoryMb - n.allocMemoryMb },
        runningJobIds: this.runningOn(n.name).map((a) => a.job.jobId),
      }));
  }

  /**
   * The port's view of `agents()`. A node Slurm has set DOWN or marked NOT_RESPONDING while our
   * jobs run there is `disconnected`: the scaler declares those jobs lost itself (`nodeLost`)
   * instead of waiting for Slurm's own NODE_FAIL.
   */
  async clusterAgents(): Promise<ClusterAgent[]> {
    return (await this.agents()).map((a) => ({
      agentId: a.agentId,
      hostname: a.hostname,
      ...(a.instanceId ? { instanceId: a.instanceId } : {}),
      preemptable: a.preemptable,
      runningJobIds: a.runningJobIds,
      ...(a.state === 'down' || a.notResponding ? { disconnected: true } : {}),
    }));
  }

  placements(): readonly SlurmPlacement[] {
    return this.placementLog;
  }

  lossCount(jobId: string): number {
    return this.losses.get(jobId) ?? 0;
  }

  private runningOn(node: string): Attempt[] {
    return [...this.attempts.values()].filter((a) => a.state === 'running' && a.node === node);
  }

  private async refreshNodes(): Promise<SlurmNode[]> {
    this.knownNodes = await this.o.cli.nodes();
    return this.knownNodes;
  }

  // ---- polling --------------------------------------------------------------------------------

  private async pollLoop(): Promise<void> {
    const every = this.o.pollMs ?? 1000;
    while (!this.stopping) {
      try {
        await this.poll();
      } catch (e) {
        if (!this.stopping) this.log.warn({ err: coerceError(e) }, 'squeue failed; trying again');
      }
      try {
        await this.o.clock.sleep(every, this.abort.signal);
      } catch (e) {
        if (isAbortError(e)) return;
        throw e;
      }
    }
  }

  /** One observation: every job Slurm keeps, matched to our attempts. */
  async poll(): Promise<void> {
    for (const [node, mark] of this.drainMarks) {
      if (mark.confirmedAt === undefined && !mark.pending) {
        mark.pending = true;
        void this.sendDrain(node, mark);
      }
    }
    for (const node of this.gone)
      await this.removeNode(node).then(
        () => this.gone.delete(node),
        (e: unknown) => this.log.debug({ err: coerceError(e), node }, 'gone node not deleted yet'),
      );
    const ticket = ++this.ticket;
    const jobs = await this.o.cli.jobs();
    if (this.stopping) return;
    const busyNodes = new Set<string>();
    const listed = new Set<number>();
    const longPending: [Attempt, SlurmJob][] = [];
    const now = this.o.clock.now();
    const warnAfter = this.o.stuckPendingWarnMs ?? DEFAULT_STUCK_PENDING_WARN_MS;
    for (const j of jobs) {
      if (ON_NODE_STATES.has(j.state)) for (const n of expandHostlist(j.nodes)) busyNodes.add(n);
      listed.add(j.jobId);
      const a = this.bySlurmId.get(j.jobId);
      if (!a) this.cancelSecondSubmission(j);
      if (!a || a.state === 'done') continue;
      this.observe(a, j);
      if (j.state !== 'PENDING') delete a.pendingSinceMs;
      else if ((a.pendingSinceMs ??= now) <= now - warnAfter && !this.warnedStuck.has(a.job.jobId))
        longPending.push([a, j]);
    }
    if (longPending.length > 0) await this.warnStuck(longPending, now);
    for (const a of this.bySlurmId.values()) {
      if (a.state === 'done' || listed.has(a.slurmJobId!)) continue;
      // A job submitted after this squeue started is not in its answer yet; twice missing is gone.
      if (++a.missing >= 2)
        this.finish(a, a.killRequested ? 'killed' : 'lost', { message: 'Slurm no longer knows the job' });
    }
    this.lastObservation = { ticket, busyNodes };
  }

  /**
   * A Slurm job of an attempt that already has its own: a submission whose reply was lost (the
   * controller did not answer in time, then took it) and that was submitted again. Cancelled, so
   * the attempt runs once.
   */
  private cancelSecondSubmission(j: SlurmJob): void {
    const of = parseAttemptComment(j.comment);
    const a = of && this.attempts.get(of.jobId);
    if (!a || a.job.attempt !== of.attempt || a.slurmJobId === undefined || a.slurmJobId === j.jobId) return;
    if (ENDED_STATES.has(j.state) || this.secondSubmissions.has(j.jobId)) return;
    this.secondSubmissions.add(j.jobId);
    this.log.warn(
      { jobId: a.job.jobId, attempt: a.job.attempt, slurmJobId: j.jobId, keptSlurmJobId: a.slurmJobId },
      `Slurm job ${j.jobId} is a second submission of job '${a.job.name}' (attempt ${a.job.attempt}, Slurm job ${a.slurmJobId}), made from a submission whose reply was lost: cancelling it`,
    );
    void this.o.cli
      .cancel(j.jobId)
      .catch((e: unknown) =>
        this.log.warn({ err: coerceError(e), slurmJobId: j.jobId }, 'could not cancel a second submission'),
      );
  }

  /**
   * Names, once per job, a job that has waited in Slurm's queue for a reason that will not clear
   * by itself: Slurm's reason, its words for it, and what to do. The job keeps waiting, as in
   * Toil: such a reason clears once someone changes Slurm (a node resumed, a partition's limit
   * raised, a hold released), and failing the job would end a workflow that could still go on.
   */
  private async warnStuck(pending: readonly [Attempt, SlurmJob][], now: number): Promise<void> {
    const nodes = await this.refreshNodes().catch(() => this.knownNodes);
    for (const [a, j] of pending) {
      const advice = stuckPendingAdvice(j, a.job.requirements, this.jobOptions.onDemandFeature, nodes, {
        nodesJoinOnDemand: this.o.nodesJoinOnDemand === true,
      });
      if (advice === undefined) continue;
      this.warnedStuck.add(a.job.jobId);
      const why = `${j.reason}${j.reasonDescription && j.reasonDescription !== j.reason ? `: ${j.reasonDescription}` : ''}`;
      this.log.warn(
        { jobId: a.job.jobId, attempt: a.job.attempt, slurmJobId: j.jobId, reason: j.reason },
        `job '${a.job.name}' (${a.job.jobId}, Slurm job ${j.jobId}) has been pending for ${Math.round((now - a.pendingSinceMs!) / 1000)} s, and Slurm gives a reason that will not clear by itself (${why}): ${advice}; the workflow waits for it ('toil kill ${a.job.jobStoreLocator}' stops it)`,
      );
    }
  }

  private observe(a: Attempt, j: SlurmJob): void {
    a.missing = 0;
    if (j.nodes && a.node === undefined && j.state !== 'PENDING') {
      a.node = j.nodes;
      this.placementLog.push({
        jobId: a.job.jobId,
        attempt: a.job.attempt,
        slurmJobId: j.jobId,
        node: j.nodes,
        jobPreemptable: a.job.requirements.preemptable,
        atMs: this.o.clock.now(),
      });
    }
    const detail = `${j.state}${j.reason && j.reason !== 'None' ? ` (${j.reason})` : ''}`;
    const exit = {
      ...(j.exitCode !== undefined ? { exitCode: j.exitCode } : {}),
      ...(j.startTime > 0 && j.endTime >= j.startTime
        ? { wallTimeMs: (j.endTime - j.startTime) * 1000 }
        : {}),
    };
    if (j.state === 'COMPLETED')
      return this.finish(a, j.exitCode === 0 || j.exitCode === undefined ? 'succeeded' : 'failed', {
        ...exit,
        message: detail,
      });
    if (FAILED_STATES.has(j.state)) {
      const why =
        j.state === 'TIMEOUT'
          ? `${detail}: Slurm ended the job at its time limit${timeLimitOf(j)}`
          : j.signal !== undefined
            ? `${detail}, signal ${j.signal}`
            : `${detail}, exit code ${j.exitCode ?? '?'}`;
      return this.finish(a, a.killRequested ? 'killed' : 'failed', { ...exit, message: why });
    }
    if (LOST_STATES.has(j.state))
      return this.finish(a, a.killRequested ? 'killed' : 'lost', { ...exit, message: detail });
    if (j.state === 'CANCELLED') {
      // Cancelled without our asking is someone's `scancel` (a node the leader lost is reported
      // before its jobs are cancelled): a failure that spends a retry, as in Toil, so an operator
      // who cancels a job stops it once its retries are spent instead of seeing it come back.
      if (a.killRequested) return this.finish(a, 'killed', { ...exit, message: detail });
      return this.finish(a, 'failed', {
        ...exit,
        message: `${detail}: Slurm job ${j.jobId} was cancelled outside toil-ts (scancel); counted as a failed attempt, as in Toil`,
      });
    }
    if (j.state === 'RUNNING' || j.state === 'COMPLETING') {
      if (a.state !== 'running') {
        a.state = 'running';
        a.runningAtMs = this.o.clock.now();
      }
    }
  }

  private finish(
    a: Attempt,
    outcome: JobOutcome,
    extra: { exitCode?: number; wallTimeMs?: number; message?: string },
  ): void {
    a.state = 'done';
    if (a.slurmJobId !== undefined) this.bySlurmId.delete(a.slurmJobId);
    if (this.attempts.get(a.job.jobId) === a) this.attempts.delete(a.job.jobId);
    if (outcome === 'lost') this.losses.set(a.job.jobId, (this.losses.get(a.job.jobId) ?? 0) + 1);
    const wallTimeMs =
      extra.wallTimeMs ?? (a.runningAtMs !== undefined ? this.o.clock.now() - a.runningAtMs : undefined);
    this.log.debug({ jobId: a.job.jobId, attempt: a.job.attempt, outcome, node: a.node }, 'attempt finished');
    a.killed?.();
    this.listener?.({
      jobId: a.job.jobId,
      attempt: a.job.attempt,
      outcome,
      ...(extra.exitCode !== undefined ? { exitCode: extra.exitCode } : {}),
      ...(wallTimeMs !== undefined ? { wallTimeMs } : {}),
      ...(a.node ? { node: a.node } : {}),
      ...(extra.message ? { message: extra.message } : {}),
    });
  }
}
