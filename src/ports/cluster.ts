import type { ClusterAgent } from './batchSystem.js';

/**
 * The Cluster port: the scaler's view of the batch system(s) running on the nodes it provisions
 * (every workflow's framework at once), and its levers on them. The leader implements it over
 * `ClusterBatchSystem`s (src/leader/workloadTracker.ts); tests implement it with a fake.
 */

/**
 * One job of ours as the cluster sees it: what it asks of a node. Memory and disk in bytes.
 * (The scaler's `QueuedJob` is this shape with more to say; ports depend on no domain.)
 */
export interface ClusterJob {
  readonly id: string;
  /** The job's name as the user wrote it: runtimes are learned per name. */
  readonly name: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  /** May run on spot capacity. */
  readonly preemptable: boolean;
  /** Declared walltime in seconds, when the job declares one. */
  readonly walltimeSeconds?: number;
  /** Why a job that may run on spot runs on on-demand (IssuedJob.onDemandBecause). */
  readonly onDemandBecause?: string;
}

/** A job of ours running on an agent, with when it started running there (ms). */
export interface RunningOnAgent extends ClusterJob {
  readonly agentId: string;
  readonly startedAt: number;
}

/**
 * One consistent reading of the cluster: the agents, and our jobs split into queued (issued, on
 * no agent) and running (on an agent of `agents`). All three come from the same moment.
 */
export interface ClusterReading {
  readonly agents: readonly ClusterAgent[];
  readonly queued: readonly ClusterJob[];
  readonly running: readonly RunningOnAgent[];
  /**
   * false when some batch system of the cluster cannot keep preemptable work off on-demand room
   * (`keepPreemptableOnSpot` not implemented: Slurm places jobs itself), so the plan must not count
   * on it. Absent: every one can.
   */
  readonly keepsPreemptableOnSpot?: boolean;
  /**
   * false when some batch system of the cluster cannot honour keep-off hints (`keepOff` not
   * implemented), so the plan sets none. Absent: every one can.
   */
  readonly keepsOff?: boolean;
}

/**
 * What happened to our jobs since the last `takeEvents`:
 * - completed: a job succeeded after running `seconds` (the scaler learns runtimes per name);
 * - lost: a job's node or agent went away under it (spot interruption, agent lost, drained); the
 *   job re-runs without spending a retry. `agentId` when the batch system knows where it ran.
 * - taskEnded: an attempt ended (succeeded, failed or killed) on `agent` (the agent id or host the
 *   batch system reported) at `at`, the leader's clock when the update arrived. A node's idle
 *   clock starts there, not at the tick that first found it empty.
 */
export type ClusterEvent =
  | { readonly kind: 'completed'; readonly name: string; readonly seconds: number }
  | { readonly kind: 'lost'; readonly jobId: string; readonly name: string; readonly agentId?: string }
  | { readonly kind: 'taskEnded'; readonly agent: string; readonly at: number };

/**
 * Contract:
 * - `read` has no side effect a caller can see: calling it twice changes nothing (the dry run
 *   relies on it). It does remember when it first found each job running, so `startedAt` is
 *   when the job started (to a reading), not when it was issued.
 * - `markDraining`, `unmarkDraining`, `isEmpty`: as in `ClusterBatchSystem`, applied to every
 *   batch system of the cluster (any of them could otherwise place a task on a retiring agent). A
 *   batch system that joins later honours marks made before it existed.
 * - `forceDrain` stops what still runs on the agent; those jobs come back 'lost'.
 * - `nodeLost`: as in `ClusterBatchSystem`, for every batch system; the ids of the jobs lost.
 * - `keepPreemptableOnSpot`, `keepOff`: as in `ClusterBatchSystem`, applied to every batch system
 *   of the cluster, including one that joins later.
 * - `takeEvents` returns each event once, oldest first, and forgets it.
 * - `removeNode` is called for an agent found empty after its drain mark, right before its
 *   instance is terminated: the cluster manager forgets the node (Slurm: `scontrol delete`), so no
 *   node of a gone instance stays in its records. Mesos has nothing to do (an agent leaves with
 *   its process). When it rejects, the instance is not terminated in this tick.
 */
export interface ClusterPort {
  read(): Promise<ClusterReading>;
  markDraining(agentId: string): void;
  unmarkDraining(agentId: string): Promise<void>;
  isEmpty(agentId: string): boolean;
  forceDrain(agentId: string): Promise<void>;
  nodeLost(agentId: string, reason: string): string[];
  takeEvents(): readonly ClusterEvent[];
  removeNode(agentId: string): Promise<void>;
  /** As `ClusterBatchSystem.keepPreemptableOnSpot`, for every batch system of the cluster. */
  keepPreemptableOnSpot?(on: boolean, waitFor?: ReadonlySet<string>, onDemand?: ReadonlySet<string>): void;
  /** As `ClusterBatchSystem.keepOff`, for every batch system of the cluster that has it. */
  keepOff?(byAgent: ReadonlyMap<string, ReadonlySet<string>>): void;
}
