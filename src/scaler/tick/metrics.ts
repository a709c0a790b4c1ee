import type { Counter, Gauge, Histogram } from 'prom-client';
import { bootBackoffViews } from '../cost/bootBackoff.js';
import type { ScalingPlan } from '../types.js';
import type { ObservedSpotPrice } from '../spotPriceFeed.js';
import type { ClusterView, ObservedNode } from './clusterView.js';
import type { TickState } from './state.js';

/** The Prometheus series the tick writes (the leader's registry has them; see src/leader/metrics.ts). */
export interface TickMetrics {
  /** Nodes the provisioner reports, by pool (spot|on-demand), instance type and state. */
  readonly nodes: Gauge<'pool' | 'instance_type' | 'state'>;
  /** Nodes the last plan wanted, by pool and instance type. */
  readonly desiredNodes: Gauge<'pool' | 'instance_type'>;
  readonly queuedJobs: Gauge;
  readonly runningJobs: Gauge;
  readonly planDuration: Histogram;
  /** Provisioner calls by operation and result (ok, or the error code). */
  readonly provisionerCalls: Counter<'operation' | 'result'>;
  /** What the running nodes cost per hour, in dollars. */
  readonly clusterHourlyCost: Gauge;
  readonly spotInterruptions: Counter;
  /** The observed spot price of each configured type × zone, and how old the observation is. */
  readonly spotPrice: Gauge<'instance_type' | 'zone'>;
  readonly spotPriceAge: Gauge<'instance_type' | 'zone'>;
  /** Spot interruption notices seen (each node once). */
  readonly spotNotices: Counter;
  readonly ticks: Counter<'result'>;
  /** Nodes marked draining, and draining nodes taken back: a take-back rate near the drain rate is churn. */
  readonly nodesDrained: Counter;
  readonly nodesTakenBack: Counter;
  /** Nodes in a row that booted and never registered, by offering (`*`: the whole cluster). */
  readonly nodesNeverRegistered: Gauge<'offering'>;
  /** Seconds left of a launch backoff earned by nodes that never registered, by offering (`*`: every launch). */
  readonly launchBackoff: Gauge<'offering'>;
}

/** The gauges that describe the cluster as observed (a real tick only; the dry run writes none). */
export function exportClusterGauges(
  m: TickMetrics,
  nodes: readonly ObservedNode[],
  view: ClusterView,
  spotPrices: readonly ObservedSpotPrice[],
): void {
  m.nodes.reset();
  for (const n of nodes) m.nodes.inc({ pool: n.capacityType, instance_type: n.instanceType, state: n.state });
  m.spotPrice.reset();
  m.spotPriceAge.reset();
  for (const p of spotPrices) {
    m.spotPrice.set({ instance_type: p.instanceType, zone: p.zone }, p.price);
    m.spotPriceAge.set({ instance_type: p.instanceType, zone: p.zone }, p.ageSeconds);
  }
  m.queuedJobs.set(view.queued.reduce((s, q) => s + (q.count ?? 1), 0));
  m.runningJobs.set(view.running.length);
  m.clusterHourlyCost.set(nodes.reduce((s, n) => s + n.pricePerHour, 0));
}

/** The nodes the plan wants: those kept (not retiring, not draining) plus those it launches. */
export function exportDesiredNodes(
  m: TickMetrics,
  plan: ScalingPlan,
  view: ClusterView,
  state: TickState,
): void {
  m.desiredNodes.reset();
  for (const n of view.existing(state))
    if (!plan.terminate.some((t) => t.nodeId === n.id) && n.state !== 'draining')
      m.desiredNodes.inc({ pool: n.capacityType, instance_type: n.instanceType });
  for (const l of plan.launch)
    m.desiredNodes.inc({ pool: l.capacityType, instance_type: l.instanceType }, l.count);
}

/**
 * The runs of nodes that never registered, after the plan: a monitor pages on a backoff (a broken
 * image or user data bills a node per bootTimeout and runs nothing), not on one failed boot.
 */
export function exportBootBackoffs(m: TickMetrics, plan: ScalingPlan, now: number): void {
  m.nodesNeverRegistered.reset();
  m.launchBackoff.reset();
  for (const v of bootBackoffViews(plan.state.bootFailures, now)) {
    m.nodesNeverRegistered.set({ offering: v.offering }, v.neverRegisteredInARow);
    if (v.backedOffUntil !== undefined)
      m.launchBackoff.set({ offering: v.offering }, Math.ceil((v.backedOffUntil - now) / 1000));
  }
}
