import type { QueuedJob, RunningJob } from '../scaler/types.js';
import type { ClusterAgent } from './batchSystem.js';

/**
 * The Cluster port: the scaler's view of the batch system(s) running on the nodes it provisions
 * (every workflow's framework at once), and its levers on them. The leader implements it over
 * `ClusterBatchSystem`s (src/leader/workloadTracker.ts); tests implement it with a fake.
 */

/** A job of ours running on an agent, with when it started running there (ms). */
export interface RunningOnAgent extends Omit<RunningJob, 'nodeId'> {
  readonly agentId: string;
}

/**
 * One consistent reading of the cluster: the agents, and our jobs split into queued (issued, on
 * no agent) and running (on an agent of `agents`). All three come from the same moment.
 */
export interface ClusterReading {
  readonly agents: readonly ClusterAgent[];
  readonly queued: readonly QueuedJob[];
  readonly running: readonly RunningOnAgent[];
}

/**
 * What happened to our jobs since the last `takeEvents`:
 * - completed: a job succeeded after running `seconds` (the scaler learns runtimes per name);
 * - lost: a job's node or agent went away under it (spot interruption, agent lost, drained); the
 *   job re-runs without spending a retry. `agentId` when the batch system knows where it ran.
 */
export type ClusterEvent =
  | { readonly kind: 'completed'; readonly name: string; readonly seconds: number }
  | { readonly kind: 'lost'; readonly jobId: string; readonly name: string; readonly agentId?: string };

/**
 * Contract:
 * - `read` has no side effect a caller can see: calling it twice changes nothing (the dry run
 *   relies on it).
 * - `markDraining`, `unmarkDraining`, `isEmpty`: as in `ClusterBatchSystem`, applied to every
 *   batch system of the cluster (any of them could otherwise place a task on a retiring agent). A
 *   batch system that joins later honours marks made before it existed.
 * - `forceDrain` stops what still runs on the agent; those jobs come back 'lost'.
 * - `takeEvents` returns each event once, oldest first, and forgets it.
 */
export interface ClusterPort {
  read(): Promise<ClusterReading>;
  markDraining(agentId: string): void;
  unmarkDraining(agentId: string): Promise<void>;
  isEmpty(agentId: string): boolean;
  forceDrain(agentId: string): Promise<void>;
  takeEvents(): readonly ClusterEvent[];
}
