/**
 * Spot risk, measured on the cluster itself: how often its spot nodes were reclaimed per spot
 * node-hour, and what that does to the cost of a job that restarts from scratch when its node goes.
 *
 * A job of runtime R on spot interrupted at λ per node-hour (a Poisson process, as EC2's reclaims
 * look from one node) takes (e^(λR) − 1)/λ of node time in expectation: the restart factor
 * (e^(λR) − 1)/(λR) times R. Spot is dearer than on-demand for it once that factor exceeds the
 * on-demand price over the spot price: at spot ≈ 0.35 of on-demand, λR > 1.83 — a 6 h job at 0.3
 * interruptions per node-hour, a 37 h job at 0.05. The factor counts every restart; the leader's
 * `--preemptableRetries` moves a job to on-demand after a few losses, which bounds the spot cost
 * but pays those losses first.
 */

/** Spot exposure the cost policy carries from tick to tick (in `ScalerState`). */
export interface SpotExposure {
  /** Spot node-seconds observed (launched and not yet gone, booting included: EC2 reclaims those too). */
  readonly nodeSeconds: number;
  /** Spot nodes reclaimed while observed. */
  readonly interruptions: number;
  /** The snapshot's running total of interruptions last tick (to count only new ones). */
  readonly seenTotal: number;
  /** Last tick (ms) and the spot nodes then: the exposure until this tick is theirs. */
  readonly at: number;
  readonly spotNodes: number;
}

/**
 * Node-hours of zero interruptions assumed before any are observed: one early reclaim does not make
 * a calm market look stormy (one in the first hour reads 0.04/h, not 1/h).
 */
export const SPOT_RISK_PRIOR_NODE_HOURS = 24;

/** The exposure after one more tick at `now`, with `spotNodes` spot nodes up and `total` interruptions counted so far. */
export function nextExposure(
  prev: SpotExposure | undefined,
  now: number,
  spotNodes: number,
  total: number,
): SpotExposure {
  if (!prev) return { nodeSeconds: 0, interruptions: 0, seenTotal: total, at: now, spotNodes };
  const dt = Math.max(0, (now - prev.at) / 1000);
  return {
    nodeSeconds: prev.nodeSeconds + dt * prev.spotNodes,
    // A total lower than last tick's is a counter that restarted: what it counts now is new.
    interruptions: prev.interruptions + (total >= prev.seenTotal ? total - prev.seenTotal : total),
    seenTotal: total,
    at: now,
    spotNodes,
  };
}

/** Interruptions per spot node-hour, shrunk towards 0 by SPOT_RISK_PRIOR_NODE_HOURS. */
export function interruptionRate(e: SpotExposure | undefined): number {
  if (!e || e.interruptions <= 0) return 0;
  return e.interruptions / (e.nodeSeconds / 3600 + SPOT_RISK_PRIOR_NODE_HOURS);
}

/** (e^(λR) − 1)/(λR): expected node time on spot over the runtime, restarts included (≥ 1). */
export function restartFactor(ratePerHour: number, runtimeSeconds: number): number {
  const x = (ratePerHour * runtimeSeconds) / 3600;
  if (x <= 1e-9) return 1;
  return Math.expm1(x) / x;
}
