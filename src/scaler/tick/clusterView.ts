import type { ClusterAgent } from '../../ports/batchSystem.js';
import type { ClusterEvent, ClusterReading, RunningOnAgent } from '../../ports/cluster.js';
import {
  REBALANCE_RECOMMENDED_TAG,
  STATIC_WORKER_TAG,
  type InterruptionNotice,
  type ProvisionedNode,
} from '../../ports/provisioner.js';
import type {
  CapacityType,
  ExistingNode,
  LaunchShortfall,
  OfferingState,
  QueuedJob,
  RunningJob,
  ScalingSnapshot,
} from '../types.js';
import type { NodePrice, PriceSource } from './nodePrice.js';
import { offeringKey, type TickState } from './state.js';

/** A node as the status page shows it: with its price and how many of our tasks run on it. */
export type ObservedNode = ExistingNode & {
  /** 0 when `priceSource` is `unknown`: shown as unknown, never as free. */
  readonly pricePerHour: number;
  readonly priceSource: PriceSource;
  readonly tasks: number;
  /** What our jobs running there asked for, together (`--clusterStats` reports it per tick). */
  readonly used?: { readonly cores: number; readonly memoryBytes: number };
  /** A worker `launch-cluster --workers` started (STATIC_WORKER_TAG): the cluster's own static capacity. */
  readonly staticWorker?: true;
};

/** One tick's observation, and the snapshot the policy sees. */
export class ClusterView {
  readonly now: number;
  readonly nodes: readonly ProvisionedNode[];
  readonly agents: readonly ClusterAgent[];
  readonly queued: readonly QueuedJob[];
  readonly running: readonly RunningOnAgent[];
  /** What the batch systems reported since the last tick (none in a dry run). */
  readonly events: readonly ClusterEvent[];
  /** Spot interruption notices the cloud shows now (of any node, live or gone). */
  readonly notices: readonly InterruptionNotice[];
  /** ClusterReading.keepsPreemptableOnSpot: false when a batch system cannot honour the switch. */
  readonly keepsPreemptableOnSpot: boolean;
  /** ClusterReading.keepsOff: false when a batch system cannot honour keep-off hints. */
  readonly keepsOff: boolean;
  /**
   * Why the cloud ended nodes of ours that the listing no longer shows (read in the tick that
   * first misses them), by instance id; see whyGone.
   */
  private readonly goneReasons: ReadonlyMap<string, string>;
  private readonly agentByNode = new Map<string, ClusterAgent>();
  private readonly nodeByAgent = new Map<string, string>();

  constructor(
    now: number,
    nodes: readonly ProvisionedNode[],
    cluster: ClusterReading,
    events: readonly ClusterEvent[] = [],
    notices: readonly InterruptionNotice[] = [],
    goneReasons: ReadonlyMap<string, string> = new Map(),
  ) {
    this.goneReasons = goneReasons;
    this.now = now;
    this.nodes = nodes;
    this.agents = cluster.agents;
    this.queued = cluster.queued;
    this.running = cluster.running;
    this.keepsPreemptableOnSpot = cluster.keepsPreemptableOnSpot !== false;
    this.keepsOff = cluster.keepsOff !== false;
    this.events = events;
    this.notices = notices;
    const agents = cluster.agents;
    for (const n of nodes) {
      const agent = agentOfNode(agents, n.instanceId, n.privateIp);
      if (agent) {
        this.agentByNode.set(n.instanceId, agent);
        this.nodeByAgent.set(agent.agentId, n.instanceId);
      }
    }
  }

  agentOf(nodeId: string): ClusterAgent | undefined {
    return this.agentByNode.get(nodeId);
  }

  /** The cloud's reason a node of ours ended (EC2's StateReason code), when it was read. */
  whyGone(nodeId: string): string | undefined {
    return this.goneReasons.get(nodeId) ?? this.nodes.find((n) => n.instanceId === nodeId)?.stateReason;
  }

  /** The live node an agent runs on, by its agent id or (as batch systems name nodes) its host. */
  nodeOfAgent(agent: string): string | undefined {
    return (
      this.nodeByAgent.get(agent) ??
      this.nodeByAgent.get(this.agents.find((a) => a.hostname === agent)?.agentId ?? '')
    );
  }

  runningOn(nodeId: string): number {
    return this.agentByNode.get(nodeId)?.runningJobIds.length ?? 0;
  }

  /** The cores and memory our jobs running on the node asked for, together. */
  usedOn(nodeId: string): { cores: number; memoryBytes: number } {
    const agent = this.agentByNode.get(nodeId)?.agentId;
    let cores = 0;
    let memoryBytes = 0;
    for (const r of this.running)
      if (r.agentId === agent) {
        cores += r.cores;
        memoryBytes += r.memoryBytes;
      }
    return { cores, memoryBytes };
  }

  existing(state: TickState): ExistingNode[] {
    return this.nodes
      .filter((n) => n.state === 'pending' || n.state === 'running')
      .map((n) => {
        const agent = this.agentByNode.get(n.instanceId);
        const owned = state.owned[n.instanceId];
        const draining = state.draining[n.instanceId] !== undefined;
        return {
          id: n.instanceId,
          instanceType: n.instanceType,
          zone: n.zone,
          capacityType: n.market,
          state: draining ? 'draining' : agent ? 'registered' : 'booting',
          launchedAt: owned?.launchedAt ?? n.launchTime,
          // When a tick first saw its agent; a reading before any tick did, at the launch.
          ...(agent
            ? { registeredAt: state.registeredAt?.[n.instanceId] ?? owned?.launchedAt ?? n.launchTime }
            : {}),
          ...(state.agentLostAt?.[n.instanceId] !== undefined
            ? { agentLostAt: state.agentLostAt[n.instanceId] }
            : {}),
          // Nodes no leader of ours launched (launch-cluster -w N) are static.
          ...(owned ? {} : { static: true }),
          ...(state.lastBusyAt[n.instanceId] !== undefined
            ? { lastBusyAt: state.lastBusyAt[n.instanceId] }
            : {}),
          ...(owned ? { pricePerHour: owned.pricePerHour } : {}),
          ...(rebalanceRecommended(n) ? { rebalanceRecommended: true } : {}),
        } satisfies ExistingNode;
      });
  }

  /** The live nodes with their price (what we priced at launch, else `priceOf`'s) and our tasks on each. */
  observedNodes(state: TickState, priceOf: (node: ExistingNode) => NodePrice): ObservedNode[] {
    const tagged = new Set(
      this.nodes.filter((n) => n.tags[STATIC_WORKER_TAG] !== undefined).map((n) => n.instanceId),
    );
    return this.existing(state).map((n) => ({
      ...n,
      ...(n.pricePerHour !== undefined
        ? { pricePerHour: n.pricePerHour, priceSource: 'launched' as const }
        : priceOf(n)),
      tasks: this.runningOn(n.id),
      used: this.usedOn(n.id),
      ...(n.static === true && tagged.has(n.id) ? { staticWorker: true as const } : {}),
    }));
  }

  /**
   * What the policy sees. `spot.prices`: observed spot prices, merged with the unavailable
   * offerings. The nodes in `state.noticed` (an interruption notice: about to be reclaimed) are
   * left out, and the jobs running there planned as queued work, so their replacement is planned
   * now.
   */
  snapshot(
    state: TickState,
    lastShortfall: readonly LaunchShortfall[] = [],
    spotPrices: readonly OfferingState[] = [],
  ): ScalingSnapshot {
    const doomed = new Set(Object.keys(state.noticed ?? {}));
    const running: RunningJob[] = [];
    const requeued: QueuedJob[] = [];
    for (const r of this.running) {
      const nodeId = this.nodeByAgent.get(r.agentId);
      if (!nodeId) continue;
      const { agentId: _a, ...rest } = r;
      if (doomed.has(nodeId)) {
        const { startedAt: _s, ...job } = rest;
        requeued.push(job);
      } else running.push({ ...rest, nodeId });
    }
    const byKey = new Map<string, OfferingState>();
    for (const p of spotPrices) byKey.set(offeringKey(p.instanceType, p.zone, p.capacityType), p);
    for (const [key, until] of Object.entries(state.unavailable)) {
      const [instanceType = '', zone = '', capacityType = 'on-demand'] = key.split('/');
      byKey.set(key, {
        ...byKey.get(key),
        instanceType,
        zone,
        capacityType: capacityType as CapacityType,
        unavailableUntil: until,
      });
    }
    return {
      now: this.now,
      queued: requeued.length > 0 ? [...this.queued, ...requeued] : this.queued,
      running,
      nodes: this.existing(state).filter((n) => !doomed.has(n.id)),
      offerings: [...byKey.values()],
      runtimes: state.runtimes,
      lastShortfall,
      ...(state.smoothing ? { state: state.smoothing } : {}),
      ...(this.keepsPreemptableOnSpot ? {} : { preemptableCanStayOnSpot: false }),
      ...(this.keepsOff ? {} : { keepOffHonoured: false }),
      ...(state.spotInterruptions ? { spotInterruptions: state.spotInterruptions } : {}),
    };
  }
}

/**
 * A node's agent: the one reporting its instance id, else (an agent that does not say it) the one
 * whose host is the node's private address.
 */
export function agentOfNode(
  agents: readonly ClusterAgent[],
  instanceId: string,
  privateIp: string | undefined,
): ClusterAgent | undefined {
  return (
    agents.find((a) => a.instanceId === instanceId) ??
    (privateIp ? agents.find((a) => a.instanceId === undefined && a.hostname === privateIp) : undefined)
  );
}

/** The node has told us (by its tag) that EC2 recommends rebalancing it. */
export function rebalanceRecommended(node: ProvisionedNode): boolean {
  return node.tags[REBALANCE_RECOMMENDED_TAG] !== undefined;
}
