import { readHeartbeat } from '../../ports/leaderHeartbeat.js';
import type { ProvisionedNode } from '../../ports/provisioner.js';
import type { TickState } from './state.js';

/**
 * A worker instance of ours that someone stopped (maintenance, a person in the console): it runs
 * no job while stopped, yet its root volume bills, and starting it again costs a boot as long as a
 * new node's. So the tick terminates it, as Toil's scaler would a node it no longer needs, and
 * plans the work it had anew; left alone it would be forgotten by the tick (only pending and
 * running instances count as nodes) and bill until someone found it.
 */
export interface StoppedNode {
  readonly nodeId: string;
  /** Why it is terminated, for the log and the status page's decisions. */
  readonly reason: string;
}

export function isStopped(n: Pick<ProvisionedNode, 'state'>): boolean {
  return n.state === 'stopping' || n.state === 'stopped';
}

/**
 * The stopped instances among `nodes` that are this leader's: those it owns, and those of its
 * launches it has not adopted yet (they carry its mark). Another leader's stopped nodes are that
 * leader's to end.
 */
export function stoppedOfOurs(
  nodes: readonly ProvisionedNode[],
  state: Pick<TickState, 'owned' | 'leaderId'>,
): ProvisionedNode[] {
  return nodes.filter(
    (n) =>
      n.role === 'worker' &&
      isStopped(n) &&
      (state.owned[n.instanceId] !== undefined ||
        (state.leaderId !== undefined && readHeartbeat(n.tags)?.leaderId === state.leaderId)),
  );
}

/** Why a stopped node of ours is terminated (the decision's reason). */
export function stoppedReason(n: Pick<ProvisionedNode, 'state' | 'stateReason'>): string {
  return (
    `EC2 shows it ${n.state}${n.stateReason ? ` (${n.stateReason})` : ''}: a stopped node runs no job, ` +
    'starting it again costs a boot, and its root volume bills while it is kept; the work it had is planned anew'
  );
}

/** The log line of one such termination. */
export function stoppedLine(n: ProvisionedNode): string {
  return `terminating worker instance ${n.instanceId} (${n.instanceType} ${n.market}) this leader launched: ${stoppedReason(n)}`;
}
