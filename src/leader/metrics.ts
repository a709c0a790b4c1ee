import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TickMetrics } from '../scaler/tick/metrics.js';

/**
 * The leader's Prometheus metrics, in one registry per leader (tests build their own). Names follow
 * Prometheus conventions: a `toil_` prefix, base units (seconds, dollars), `_total` for counters.
 * The scaler tick's series are described where the tick writes them (src/scaler/tick/metrics.ts).
 */
export interface LeaderMetrics extends TickMetrics {
  readonly registry: Registry;
  /** Jobs lost on spot more than --preemptableRetries times, moved to on-demand. */
  readonly jobsMovedToOnDemand: Counter;
  /** Config reloads by result (applied | rejected). */
  readonly configReloads: Counter<'result'>;
  /** The cluster's cost so far, unrounded: set at each scrape from the tick state. */
  readonly clusterCost: Gauge;
}

export function createLeaderMetrics(options: { withProcessMetrics?: boolean } = {}): LeaderMetrics {
  const registry = new Registry();
  if (options.withProcessMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'toil_' });
  const registers = [registry];
  return {
    registry,
    nodes: new Gauge({
      name: 'toil_nodes',
      help: 'Worker nodes by pool, instance type and state.',
      labelNames: ['pool', 'instance_type', 'state'] as const,
      registers,
    }),
    desiredNodes: new Gauge({
      name: 'toil_desired_nodes',
      help: 'Worker nodes the last scaling plan wanted, by pool and instance type.',
      labelNames: ['pool', 'instance_type'] as const,
      registers,
    }),
    queuedJobs: new Gauge({
      name: 'toil_queued_jobs',
      help: 'Jobs issued and waiting for a node.',
      registers,
    }),
    runningJobs: new Gauge({ name: 'toil_running_jobs', help: 'Jobs running on a node.', registers }),
    planDuration: new Histogram({
      name: 'toil_plan_duration_seconds',
      help: 'Time to compute one scaling plan.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    provisionerCalls: new Counter({
      name: 'toil_provisioner_calls_total',
      help: 'Provisioner calls by operation and result.',
      labelNames: ['operation', 'result'] as const,
      registers,
    }),
    clusterHourlyCost: new Gauge({
      name: 'toil_cluster_hourly_cost_dollars',
      help: 'What the running worker nodes cost per hour, in dollars.',
      registers,
    }),
    clusterCost: new Gauge({
      name: 'toil_cluster_cost_dollars',
      help: "What the cluster's worker nodes have cost since the leader's state began, in dollars (unrounded; /status shows cents).",
      registers,
    }),
    spotInterruptions: new Counter({
      name: 'toil_spot_interruptions_total',
      help: 'Spot nodes lost to interruption.',
      registers,
    }),
    spotPrice: new Gauge({
      name: 'toil_spot_price_dollars',
      help: 'Observed spot price per hour, by instance type and zone.',
      labelNames: ['instance_type', 'zone'] as const,
      registers,
    }),
    spotPriceAge: new Gauge({
      name: 'toil_spot_price_age_seconds',
      help: 'How long ago the spot price was read, by instance type and zone.',
      labelNames: ['instance_type', 'zone'] as const,
      registers,
    }),
    spotNotices: new Counter({
      name: 'toil_spot_interruption_notices_total',
      help: 'Spot interruption notices seen (the node was drained at once).',
      registers,
    }),
    jobsMovedToOnDemand: new Counter({
      name: 'toil_jobs_moved_to_on_demand_total',
      help: 'Jobs lost on spot more than --preemptableRetries times, then run on on-demand.',
      registers,
    }),
    configReloads: new Counter({
      name: 'toil_config_reloads_total',
      help: 'Config reload attempts by result (applied or rejected).',
      labelNames: ['result'] as const,
      registers,
    }),
    nodesNeverRegistered: new Gauge({
      name: 'toil_nodes_never_registered',
      help: 'Nodes in a row that booted and never registered within bootTimeout, by offering (type/zone/market; * is the whole cluster).',
      labelNames: ['offering'] as const,
      registers,
    }),
    launchBackoff: new Gauge({
      name: 'toil_launch_backoff_seconds',
      help: 'Seconds left of a launch backoff after nodes that never registered, by offering (* holds back every launch).',
      labelNames: ['offering'] as const,
      registers,
    }),
    ticks: new Counter({
      name: 'toil_scaler_ticks_total',
      help: 'Scaler ticks by result (ok or error).',
      labelNames: ['result'] as const,
      registers,
    }),
    nodesDrained: new Counter({
      name: 'toil_nodes_drained_total',
      help: 'Worker nodes marked draining by a scaling plan (no new job lands there; it retires once empty).',
      registers,
    }),
    nodesTakenBack: new Counter({
      name: 'toil_nodes_taken_back_total',
      help: 'Draining worker nodes a later scaling plan took back (their drain undone, work lands there again).',
      registers,
    }),
  };
}
