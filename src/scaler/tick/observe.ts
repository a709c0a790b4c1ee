import { agentOfNode, type ClusterView } from './clusterView.js';
import { forget, learnRuntimes, withNoticed, type TickState } from './state.js';
import { isStopped } from './stoppedNodes.js';

/** EC2's StateReason code of a spot instance the cloud reclaimed. */
export const SPOT_RECLAIM_REASON = 'Server.SpotInstanceTermination';

/**
 * What observing the cluster found that is worth telling (logs, metrics, the report). Observe
 * itself only returns them: the tick acts on them, the dry run drops them.
 */
export type TickEvent =
  /**
   * A spot node of ours went away without our asking: reclaimed. `agentId`: its agent, still
   * listed by the cluster manager (whose health check has not given up on it yet).
   */
  | { readonly kind: 'spotInterrupted'; readonly nodeId: string; readonly agentId?: string }
  /**
   * A node of ours went away without our asking and not reclaimed as spot: stopped or terminated
   * by someone. `reason`: the cloud's (EC2's StateReason code), when it said.
   */
  | {
      readonly kind: 'nodeGone';
      readonly nodeId: string;
      readonly agentId?: string;
      readonly reason?: string;
    }
  /** The agent of a live node lost touch with its cluster manager while our jobs ran there. */
  | { readonly kind: 'agentGone'; readonly agentId: string; readonly nodeId?: string }
  /** A job's node or agent went away under it; it re-runs without spending a retry. */
  | { readonly kind: 'taskLost'; readonly jobId: string; readonly name: string; readonly agentId?: string }
  /** A spot node of ours got its interruption notice (first seen now): drained, replaced this tick. */
  | {
      readonly kind: 'interruptionNotice';
      readonly nodeId: string;
      readonly terminateAt: number;
      readonly runningJobs: number;
    };

/**
 * The tick's observe step, pure: the persisted state brought up to date with what the cluster
 * looks like now. Busy nodes reset their idle clock, as does a task that ended on a node since the
 * last tick (at its end, so the plan knows how long the node has been empty); draining marks of
 * nodes that are gone are dropped; owned nodes the cloud no longer lists as pending/running (a stopped one included: the tick terminates it) are forgotten (we forget the
 * ones we terminate when we terminate them, so a spot node gone here was reclaimed); expired
 * unavailability ends; completed jobs' runtimes are learned.
 *
 * Spot interruption notices (polled through the provisioner: on AWS the spot request turns
 * `marked-for-termination` when the instance's metadata shows `spot/instance-action`, so the
 * leader needs nothing from the node's agent): a noticed node is draining from now on and is left
 * out of the snapshot, so the plan made in this same tick replaces it; the jobs running there are
 * planned as queued work, and re-issued by the leader when the batch system reports them lost (no
 * retry spent). The tick marks its agent draining (act.ts), every tick, so an agent that
 * registers after the notice is marked too.
 *
 * Loss detection: a node of ours the cloud no longer lists as pending/running (EC2 says
 * shutting-down or terminated), or whose agent has lost touch with the cluster manager while our
 * jobs run there, is reported with its agent, so the tick declares those jobs lost in this same
 * tick (`ClusterPort.nodeLost`) rather than when the manager's health check gives up (Mesos:
 * 75 s) or bootTimeout fires. A gone node's agent is found by the instance id it reports, else by
 * the private address the node had when last seen (kept in `owned`).
 */
export function observe(state: TickState, view: ClusterView): { state: TickState; events: TickEvent[] } {
  const now = view.now;
  const events: TickEvent[] = [];
  let next = learnRuntimes(
    state,
    view.events.flatMap((e) => (e.kind === 'completed' ? [{ name: e.name, seconds: e.seconds }] : [])),
  );
  for (const e of view.events)
    if (e.kind === 'lost')
      events.push({
        kind: 'taskLost',
        jobId: e.jobId,
        name: e.name,
        ...(e.agentId !== undefined ? { agentId: e.agentId } : {}),
      });
  const lastBusyAt = { ...next.lastBusyAt };
  for (const e of view.events) {
    if (e.kind !== 'taskEnded') continue;
    const nodeId = view.nodeOfAgent(e.agent);
    if (nodeId !== undefined) lastBusyAt[nodeId] = Math.max(lastBusyAt[nodeId] ?? 0, e.at);
  }
  for (const n of view.nodes) if (view.runningOn(n.instanceId) > 0) lastBusyAt[n.instanceId] = now;
  const registeredAt = { ...next.registeredAt };
  for (const n of view.nodes)
    if (registeredAt[n.instanceId] === undefined && view.agentOf(n.instanceId))
      registeredAt[n.instanceId] = now;
  // An agent that registered and then left (its process killed by a job, the node wedged): the
  // node no longer runs anything, and nothing says it will again.
  const agentLostAt: Record<string, number> = {};
  for (const n of view.nodes) {
    if (registeredAt[n.instanceId] === undefined) continue;
    const agent = view.agentOf(n.instanceId);
    if (!agent || agent.disconnected) agentLostAt[n.instanceId] = next.agentLostAt?.[n.instanceId] ?? now;
  }
  let owned = next.owned;
  for (const n of view.nodes) {
    const o = owned[n.instanceId];
    if (o && n.privateIp !== undefined && o.privateIp !== n.privateIp)
      owned = { ...owned, [n.instanceId]: { ...o, privateIp: n.privateIp } };
  }
  next = { ...next, owned };
  const live = new Set(view.nodes.map((n) => n.instanceId));
  const draining = Object.fromEntries(Object.entries(next.draining).filter(([id]) => live.has(id)));
  next = {
    ...next,
    lastBusyAt,
    draining,
    registeredAt: Object.fromEntries(Object.entries(registeredAt).filter(([id]) => live.has(id))),
  };
  if (Object.keys(agentLostAt).length > 0) next = { ...next, agentLostAt };
  else if (next.agentLostAt) {
    const { agentLostAt: _gone, ...rest } = next;
    next = rest;
  }
  const alive = new Set(
    view.nodes.filter((n) => n.state === 'pending' || n.state === 'running').map((n) => n.instanceId),
  );
  const goneAgents = new Set<string>();
  for (const [id, o] of Object.entries(next.owned))
    if (!alive.has(id)) {
      const agent = agentOfNode(view.agents, id, o.privateIp);
      const withAgent = agent ? { agentId: agent.agentId } : {};
      if (agent) goneAgents.add(agent.agentId);
      // A spot node gone is taken as reclaimed unless the cloud says it was ended otherwise (a
      // terminate call of another leader, destroy-cluster, a user): only reclaims are counted.
      // A node listed as stopped was stopped by someone (the tick terminates it), not reclaimed.
      const listed = view.nodes.find((n) => n.instanceId === id);
      const stopped = listed !== undefined && isStopped(listed);
      const why = view.whyGone(id);
      const reason = stopped ? `stopped${why ? `: ${why}` : ''}` : why;
      if (o.spot && !stopped && (reason === undefined || reason === SPOT_RECLAIM_REASON)) {
        next = { ...next, spotInterruptions: (next.spotInterruptions ?? 0) + 1 };
        events.push({ kind: 'spotInterrupted', nodeId: id, ...withAgent });
      } else events.push({ kind: 'nodeGone', nodeId: id, ...withAgent, ...(reason ? { reason } : {}) });
      next = forget(next, id);
    }
  for (const a of view.agents)
    if (a.disconnected && a.runningJobIds.length > 0 && !goneAgents.has(a.agentId)) {
      const node = view.nodes.find((n) => view.agentOf(n.instanceId)?.agentId === a.agentId);
      events.push({ kind: 'agentGone', agentId: a.agentId, ...(node ? { nodeId: node.instanceId } : {}) });
    }
  const unavailable = Object.fromEntries(Object.entries(next.unavailable).filter(([, until]) => until > now));
  next = { ...next, unavailable };
  const noticed = Object.fromEntries(Object.entries(next.noticed ?? {}).filter(([id]) => live.has(id)));
  for (const n of view.notices) {
    if (!live.has(n.instanceId) || noticed[n.instanceId] !== undefined) continue;
    noticed[n.instanceId] = n.terminateAt;
    next = { ...next, draining: { ...next.draining, [n.instanceId]: next.draining[n.instanceId] ?? now } };
    events.push({
      kind: 'interruptionNotice',
      nodeId: n.instanceId,
      terminateAt: n.terminateAt,
      runningJobs: view.runningOn(n.instanceId),
    });
  }
  return { state: withNoticed(next, noticed), events };
}
