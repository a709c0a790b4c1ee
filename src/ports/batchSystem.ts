/**
 * The BatchSystem port: how the leader gets jobs run somewhere. `single_machine` runs them as
 * child processes of the leader; `mesos` runs them as Mesos tasks on the cluster's agents (a Slurm
 * batch system would run them as Slurm jobs). The leader never cares which: it issues, it hears
 * back, it kills. A batch system whose nodes the scaler provisions also implements
 * `ClusterBatchSystem` (below): its agents, our tasks on them, and the race-free drain mark.
 */

/**
 * A job store record (a ticket, a commit) that a batch system only carries between the leader
 * and a worker, never reads: typed here by what identifies it, as ports know no job store.
 */
export interface CarriedRecord {
  readonly format: 1;
  readonly jobId: string;
}

/** What a job needs from the node it runs on. Memory and disk in bytes; cores may be fractional. */
export interface JobRequirements {
  readonly cores: number;
  readonly memory: number;
  readonly disk: number;
  /** The job may run on a spot (preemptable) node. A non-preemptable job never does. */
  readonly preemptable: boolean;
  /** The runtime the job declared, if any; a batch system may enforce it as a time limit. */
  readonly walltimeMs?: number;
}

/** One attempt at running one job. */
export interface IssuedJob {
  readonly jobId: string;
  /** 1 for the first attempt; the pair (jobId, attempt) is unique. */
  readonly attempt: number;
  /** The job's name as the user wrote it (for logs, placement records and runtime learning). */
  readonly name: string;
  readonly requirements: JobRequirements;
  /**
   * Why a job that may run on spot is placed as non-preemptable (e.g. "lost with its spot node 4
   * times (--preemptableRetries 3)"): the scaler's plan says so. Absent for every other job.
   */
  readonly onDemandBecause?: string;
  /**
   * The argv that runs this attempt in a fresh process on any node that can reach the job store
   * (`toil worker LOCATOR JOBID --attempt N`). A batch system may instead hand the same
   * (locator, jobId, attempt) to a worker process it keeps warm, if the result is the same.
   */
  readonly command: readonly string[];
  readonly jobStoreLocator: string;
  /** Extra environment for the worker process. */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * The job's ticket (a `JobTicket`), already written to the job store before `issue`: a batch system that
   * hands the attempt to a worker it talks to (a warm worker) may pass it along, sparing the
   * worker a read of `jobs/<jobId>`. Workers started from `command` read it from the store.
   */
  readonly ticket?: CarriedRecord;
}

/** An attempt a batch system has started, and where it runs (for `toil status --printStatus`). */
export interface RunningJobView {
  readonly jobId: string;
  readonly attempt: number;
  /** The batch system's own id of it: a worker's pid, a Mesos task id, a Slurm job id. */
  readonly batchJobId: string;
  /** Where it runs: this host, a Mesos agent, a Slurm node. */
  readonly node?: string;
  /** When it started running, on the leader's clock (ms since the epoch), when known. */
  readonly startedAt?: number;
}

/**
 * How an attempt ended.
 * - succeeded: the worker committed the job's result (exit 0).
 * - failed: the job ran and failed (non-zero exit, or the batch system could not start it).
 *   Spends one of the job's retries.
 * - lost: the node or agent went away under it (spot interruption, agent lost, task unreachable
 *   or gone). Not the job's fault: re-run without spending a retry, up to a cap.
 * - killed: the leader asked for it (`kill`).
 */
export type JobOutcome = 'succeeded' | 'failed' | 'lost' | 'killed';

export interface JobUpdate {
  readonly jobId: string;
  /**
   * The attempt the update is of, as it was issued: the leader ignores the end of one its job no
   * longer runs under (an attempt reported lost, then heard of again).
   */
  readonly attempt: number;
  readonly outcome: JobOutcome;
  readonly exitCode?: number;
  /** How long the attempt ran, for runtime learning. */
  readonly wallTimeMs?: number;
  /** Where it ran (agent id or host), for placement records. */
  readonly node?: string;
  /** A person-readable reason (e.g. the Mesos task state and message). */
  readonly message?: string;
  /**
   * For `succeeded`, when the batch system got it back from the worker: the `JobCommit` this attempt
   * wrote, sent after the store acknowledged the write (so it is durable and is the stored one).
   * The leader applies it instead of reading `commits/<jobId>` again; absent, it reads it.
   */
  readonly commit?: CarriedRecord;
}

export type JobUpdateListener = (update: JobUpdate) => void;

/**
 * Contract:
 * - `start` is called once, before anything else; updates are delivered to the listener, exactly
 *   one terminal update per issued attempt (unless the batch system is shut down first).
 * - `issue` returns once the attempt is accepted (queued); it never waits for the job to run.
 *   It throws a `JobTooBigError` (code JOB_TOO_BIG) synchronously-or-rejected if no node this
 *   batch system can ever provide could run the job, naming the job and the largest offer.
 * - `kill` resolves when the attempt is stopped or already finished; its update is 'killed'.
 * - `shutdown` stops issuing, kills nothing that must survive a leader restart (Mesos tasks keep
 *   running under the framework's failover timeout), and releases resources.
 */
export interface BatchSystem {
  readonly name: string;
  start(listener: JobUpdateListener): Promise<void>;
  issue(job: IssuedJob): Promise<void>;
  kill(jobId: string): Promise<void>;
  /** Attempts issued and not yet reported finished, by job id. */
  issuedJobIds(): ReadonlySet<string>;
  /**
   * The issued attempts that have started (not those still waiting for room), with the batch
   * system's id of each and where it runs. Optional: without it, every issued job is shown as
   * issued, not where.
   */
  runningJobs?(): readonly RunningJobView[];
  /** The largest job this batch system could ever run, for fail-fast checks. */
  maxJobRequirements(): JobRequirements | undefined;
  shutdown(): Promise<void>;
}

/**
 * A node as its cluster manager knows it (a Mesos agent, a Slurm node), with our work on it.
 * `instanceId` (when the node says which instance it is) or `hostname` (its private address, as on
 * AWS) ties it to a provisioned node.
 */
export interface ClusterAgent {
  readonly agentId: string;
  readonly hostname: string;
  readonly instanceId?: string;
  readonly preemptable: boolean;
  /** Our jobs running there (launched and not finished). */
  readonly runningJobIds: readonly string[];
  /**
   * The cluster manager has lost touch with it (Mesos: the agent's connection closed, it is not
   * active and no operator deactivated it). Its tasks are only reported lost when the manager's
   * health check gives up (Mesos: 15 s × 5), so the scaler declares them lost itself (`nodeLost`).
   */
  readonly disconnected?: boolean;
}

/**
 * The cluster side of a batch system whose nodes a scaler provisions and retires.
 *
 * Contract:
 * - `clusterAgents` lists every node the cluster manager knows, with our running jobs on each.
 * - `markDraining` is synchronous and race-free: once it returns, no new task of ours is placed on
 *   the agent, so an `isEmpty` answered after the mark stays true. `unmarkDraining` takes it back.
 * - `isEmpty` is only meaningful after `markDraining` (before it a launch could land right after
 *   the answer); asking earlier raises IllegalStateError.
 * - `drain` marks the agent, then has the cluster manager stop what still runs there; those jobs
 *   come back with outcome 'lost' (no retry spent).
 * - `nodeLost` is for an agent whose machine is gone (its instance terminated, or the agent cut
 *   off): every job of ours there comes back 'lost' before it returns (so it is issued again at
 *   once, no retry spent), its tasks are killed in case the agent was only cut off (nothing runs
 *   twice), and no task of ours is placed there again. Returns those jobs' ids.
 */
export interface ClusterBatchSystem extends BatchSystem {
  clusterAgents(): Promise<ClusterAgent[]>;
  markDraining(agentId: string): void;
  unmarkDraining(agentId: string): Promise<void>;
  isEmpty(agentId: string): boolean;
  drain(agentId: string): Promise<void>;
  nodeLost(agentId: string, reason: string): string[];
  /**
   * `keepPreemptableOnSpot(true)`: from this call on, a preemptable job that some usable
   * preemptable agent is big enough to hold is placed on preemptable agents only (it waits for spot
   * room instead of taking on-demand room after its patience); a preemptable job no preemptable
   * agent could hold, and every non-preemptable job, are placed as before. `false` takes it back.
   * The scaler sets it every tick from its plan: it plans spot for such work, and on-demand room
   * stays for the non-preemptable jobs it was opened for. `waitFor` (with `on` only): placement
   * keys (`placementKey`) of preemptable requests that wait for spot room even though no usable
   * preemptable agent could hold them yet — the scaler is launching spot nodes for them, and the
   * on-demand node that registers first would otherwise run them at the on-demand price for as
   * long as they run. `onDemand` (with `on` or not): placement keys of preemptable requests placed
   * as non-preemptable work, on on-demand room only — the scaler priced their restarts on spot
   * dearer than on-demand (spot risk). Each call replaces the last. Optional: a batch system
   * without it places as it always did.
   */
  keepPreemptableOnSpot?(on: boolean, waitFor?: ReadonlySet<string>, onDemand?: ReadonlySet<string>): void;
  /**
   * Keep-off hints: from this call on, a queued job whose request (`placementKey` of its cores,
   * memory, disk and preemptable) is in `byAgent.get(agentId)` is not placed on that agent; it
   * waits for room elsewhere. Each call replaces the last (an empty map lifts every hint). Jobs
   * already running are not touched. The scaler sets it every tick from its plan. Optional: a
   * batch system without it places as it always did, and the cluster's reading then says hints do
   * not hold (`ClusterReading.keepsOff: false`), so the plan sets none.
   */
  keepOff?(byAgent: ReadonlyMap<string, ReadonlySet<string>>): void;
}
