import type { LeaderBeat } from '../../ports/leaderHeartbeat.js';
import { emptyRuntimeHistory, recordCompletions } from '../runtimes.js';
import type { CapacityType, RuntimeHistory, ScalerState } from '../types.js';

/**
 * What the tick persists between leader runs (plain JSON), and the pure steps that change it.
 * Every step returns a new state: the tick swaps its state whole, and the dry run can work on a
 * copy without touching the tick's.
 */

/** A launch asked for and not yet answered: re-sent with the same token after a restart. */
export interface PendingLaunch {
  readonly clientToken: string;
  readonly instanceType: string;
  readonly zone: string;
  readonly capacityType: CapacityType;
  readonly count: number;
  readonly requestedAt: number;
  /** Spot: the bid sent as MaxPrice (a re-send must carry the same parameters). */
  readonly maxPrice?: number;
  /** The root volume asked for, for the same reason. */
  readonly rootVolumeGiB?: number;
  /** The leader's mark written in the launch's tags, for the same reason (heartbeat.ts). */
  readonly leaderBeat?: LeaderBeat;
}

/** An instance this leader (or its predecessor) launched: never static, always ours to retire. */
export interface OwnedNode {
  readonly launchedAt: number;
  readonly pricePerHour: number;
  readonly spot?: boolean;
  /**
   * Its private address once seen (agents name their node by it): how the agent of a node gone
   * from the cloud's listing is still found, to declare its jobs lost.
   */
  readonly privateIp?: string;
}

export interface TickState {
  readonly format: 1;
  /**
   * This leader's id, written on the instances it launches with its heartbeat: made on its first
   * start and kept here, so a restarted daemon or a `toil run --restart` is the same leader to the
   * other leaders of the cluster. Absent in states saved before it existed (made then).
   */
  readonly leaderId?: string;
  readonly pendingLaunches: readonly PendingLaunch[];
  readonly owned: Readonly<Record<string, OwnedNode>>;
  /** Spot instances of ours that went away without our asking (reclaimed), counted over all runs. */
  readonly spotInterruptions?: number;
  /** Nodes marked draining, with when. */
  readonly draining: Readonly<Record<string, number>>;
  /**
   * Spot nodes with an interruption notice → when they go: drained, left out of the plan (so their
   * replacement is planned at once), and never counted twice. Absent when none.
   */
  readonly noticed?: Readonly<Record<string, number>>;
  /** Offering key (type/zone/capacity) → unavailable until (ms). */
  readonly unavailable: Readonly<Record<string, number>>;
  readonly smoothing?: ScalerState;
  readonly runtimes: RuntimeHistory;
  readonly lastBusyAt: Readonly<Record<string, number>>;
  /**
   * Nodes → when a tick first found their agent registered (ms): idle time counts from here, not
   * from the launch, so boot time is not idle time. Absent in states saved before it existed.
   */
  readonly registeredAt?: Readonly<Record<string, number>>;
  /**
   * Nodes whose agent registered and has since left the cluster (gone from the batch system, or
   * disconnected) → when a tick first found it gone; dropped when it is back. Absent when none.
   */
  readonly agentLostAt?: Readonly<Record<string, number>>;
  /**
   * Dollars spent on owned nodes so far: per second from each node's launch, with the billing
   * minimum (a node up for seconds costs the minimum), as the policy prices a new node.
   */
  readonly costDollars: number;
  /**
   * When `costDollars` was last brought up to date (ms): a restarted leader counts its owned nodes'
   * cost from here, as they were billed while no leader ran. Absent in states saved before it existed.
   */
  readonly costAccruedTo?: number;
  /**
   * Dollars the static workers (launch-cluster --workers, not launched by this leader) cost while
   * this leader ran, per second at their observed price. Absent in states saved before it existed.
   */
  readonly staticWorkersCostDollars?: number;
}

/**
 * Where the tick state lives between leader runs (the daemon keeps it in its job store).
 * `save` must be durable when it resolves: a launch is saved before it is sent.
 */
export interface TickStateStore {
  load(): Promise<TickState | undefined>;
  save(state: TickState): Promise<void>;
}

export function emptyTickState(): TickState {
  return {
    format: 1,
    pendingLaunches: [],
    owned: {},
    draining: {},
    unavailable: {},
    runtimes: emptyRuntimeHistory(),
    lastBusyAt: {},
    costDollars: 0,
  };
}

export const offeringKey = (type: string, zone: string, capacity: CapacityType): string =>
  `${type}/${zone}/${capacity}`;

/**
 * The state with the node owned. A launched node is billed at least the billing minimum however
 * soon it goes, so that much of its cost is counted here, at once; `accrueCost` adds the rest.
 */
export function own(state: TickState, id: string, node: OwnedNode, billingMinimumSeconds: number): TickState {
  const entry: OwnedNode = {
    launchedAt: node.launchedAt,
    pricePerHour: node.pricePerHour,
    ...(node.spot ? { spot: true } : {}),
  };
  const minimum = state.owned[id] ? 0 : (node.pricePerHour * billingMinimumSeconds) / 3600;
  return { ...state, owned: { ...state.owned, [id]: entry }, costDollars: state.costDollars + minimum };
}

/** Drops every record of the node (owned, draining, last busy, its interruption notice). */
export function forget(state: TickState, id: string): TickState {
  const { [id]: _o, ...owned } = state.owned;
  const { [id]: _d, ...draining } = state.draining;
  const { [id]: _b, ...lastBusyAt } = state.lastBusyAt;
  const next = { ...state, owned, draining, lastBusyAt };
  if (state.registeredAt) next.registeredAt = dropKey(state.registeredAt, id);
  if (state.agentLostAt) next.agentLostAt = dropKey(state.agentLostAt, id);
  return withNoticed(next, dropKey(state.noticed ?? {}, id));
}

/** The state with these interruption notices (the field is left out when there are none). */
export function withNoticed(state: TickState, noticed: Readonly<Record<string, number>>): TickState {
  const { noticed: _n, ...rest } = state;
  return Object.keys(noticed).length > 0 ? { ...rest, noticed } : rest;
}

function dropKey<V>(record: Readonly<Record<string, V>>, key: string): Record<string, V> {
  const { [key]: _k, ...rest } = record;
  return rest;
}

export function addPending(state: TickState, pending: PendingLaunch): TickState {
  return { ...state, pendingLaunches: [...state.pendingLaunches, pending] };
}

export function dropPending(state: TickState, clientToken: string): TickState {
  return { ...state, pendingLaunches: state.pendingLaunches.filter((p) => p.clientToken !== clientToken) };
}

export function markDrainingSince(state: TickState, id: string, since: number): TickState {
  return { ...state, draining: { ...state.draining, [id]: state.draining[id] ?? since } };
}

export function unmarkDraining(state: TickState, id: string): TickState {
  const { [id]: _gone, ...draining } = state.draining;
  return { ...state, draining };
}

export function learnRuntimes(
  state: TickState,
  completions: readonly { name: string; seconds: number }[],
): TickState {
  if (completions.length === 0) return state;
  return { ...state, runtimes: recordCompletions(state.runtimes, completions) };
}

/**
 * Adds what the owned nodes cost between two instants (ms): per second, from the end of each
 * node's billing minimum (counted when it was owned).
 */
export function accrueCost(
  state: TickState,
  from: number,
  to: number,
  billingMinimumSeconds: number,
): TickState {
  const ms = Object.values(state.owned).reduce((sum, o) => {
    const billedFrom = Math.max(from, o.launchedAt + billingMinimumSeconds * 1000);
    return sum + o.pricePerHour * Math.max(0, to - billedFrom);
  }, 0);
  return { ...state, costDollars: state.costDollars + ms / 3_600_000 };
}

/** Adds what the given static workers cost between two instants (ms), per second, no minimum. */
export function accrueStaticWorkersCost(
  state: TickState,
  workers: readonly { readonly pricePerHour: number }[],
  from: number,
  to: number,
): TickState {
  const ms = workers.reduce((sum, w) => sum + w.pricePerHour * Math.max(0, to - from), 0);
  if (ms === 0) return state;
  return { ...state, staticWorkersCostDollars: (state.staticWorkersCostDollars ?? 0) + ms / 3_600_000 };
}

/** What the run's nodes cost: the nodes it launched, and the static workers while it ran. */
export function runCostDollars(state: TickState): number {
  return state.costDollars + (state.staticWorkersCostDollars ?? 0);
}
