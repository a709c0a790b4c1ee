import type { ScalerConfig } from './config.js';
import { groupQueue } from './jobClasses.js';
import { buildOfferings, typeTable } from './offerings.js';
import { estimateRuntime } from './runtimes.js';
import type { ScalingSnapshot } from './types.js';

/**
 * The fractional lower bound on the hourly cost of new nodes for a queue on an empty cluster, in
 * the cost policy's own model: each job class needs `count / perSlot` slots (a slot holds one
 * job's resources for the window and runs `floor((targetTime − boot) / runtime) + 1` jobs back to
 * back); node counts may be fractional; a node offers its packable cores, memory and disk; work
 * that is not preemptable must be covered by on-demand capacity. This is a relaxation — it drops
 * integrality, per-node fit and limits — so no plan in that model can cost less; it is solved
 * exactly as a small LP (one row per resource and pool). It does not bound schedules outside the
 * model (e.g. starting jobs later than targetTime).
 */
export function fractionalLowerBound(snapshot: ScalingSnapshot, config: ScalerConfig): number {
  const types = typeTable(config);
  const offerings = buildOfferings(config, snapshot).filter((o) => o.available);
  const window = Math.max(config.targetTimeSeconds, config.bootTimeSeconds) - config.bootTimeSeconds;
  const GiB = 2 ** 30;
  // Demand per row: [cores, mem, disk] for all work, then for non-preemptable work.
  const demand = [0, 0, 0, 0, 0, 0];
  for (const c of groupQueue(snapshot.queued)) {
    const r = estimateRuntime(snapshot.runtimes, c, {
      unknownRuntimeSeconds: config.unknownRuntimeSeconds,
      targetTimeSeconds: config.targetTimeSeconds,
    }).seconds;
    const slots = c.count / (Math.floor(window / r) + 1);
    const v = [
      c.request.cores * slots,
      (c.request.memoryBytes / GiB) * slots,
      (c.request.diskBytes / GiB) * slots,
    ];
    for (let d = 0; d < 3; d++) {
      demand[d]! += v[d]!;
      if (!c.request.preemptable) demand[3 + d]! += v[d]!;
    }
  }
  // Columns: offerings; coverage of row r by one node of offering o.
  const columns = offerings.map((o) => {
    const p = types.byName.get(o.instanceType)!.packable;
    const cap = [p.cores, p.memoryBytes / GiB, p.diskBytes / GiB];
    const od = o.capacityType === 'on-demand';
    return { price: o.pricePerHour, coverage: [...cap, ...(od ? cap : [0, 0, 0])] };
  });
  return solveCoveringLp(demand, columns);
}

/**
 * min Σ price_j x_j  s.t.  Σ_j coverage_j[r] x_j ≥ demand[r], x ≥ 0 — solved through its dual
 * (max demand·y s.t. coverage_j·y ≤ price_j, y ≥ 0), whose slack basis is feasible, with the
 * simplex method and Bland's rule. Returns the optimal value (Infinity if infeasible).
 */
export function solveCoveringLp(
  demand: readonly number[],
  columns: readonly { price: number; coverage: readonly number[] }[],
): number {
  const rows = demand.map((d, i) => i).filter((i) => demand[i]! > 1e-12);
  if (rows.length === 0) return 0;
  const n = rows.length;
  const m = columns.length;
  // Tableau: m constraint rows over n dual variables + m slacks, then the objective row.
  const width = n + m + 1;
  const T: number[][] = [];
  for (let j = 0; j < m; j++) {
    const row = new Array<number>(width).fill(0);
    rows.forEach((r, k) => (row[k] = columns[j]!.coverage[r]!));
    row[n + j] = 1;
    row[width - 1] = columns[j]!.price;
    T.push(row);
  }
  const obj = new Array<number>(width).fill(0);
  rows.forEach((r, k) => (obj[k] = -demand[r]!));
  const basis = columns.map((_, j) => n + j);
  for (let iter = 0; iter < 10_000; iter++) {
    let enter = -1;
    for (let k = 0; k < width - 1; k++)
      if (obj[k]! < -1e-12) {
        enter = k;
        break;
      }
    if (enter < 0) return obj[width - 1]!;
    let leave = -1;
    let best = Infinity;
    for (let j = 0; j < m; j++) {
      const a = T[j]![enter]!;
      if (a > 1e-12) {
        const ratio = T[j]![width - 1]! / a;
        if (ratio < best - 1e-12 || (Math.abs(ratio - best) <= 1e-12 && basis[j]! < basis[leave]!)) {
          best = ratio;
          leave = j;
        }
      }
    }
    if (leave < 0) return Infinity; // dual unbounded: the primal is infeasible
    const pivot = T[leave]![enter]!;
    const pr = T[leave]!.map((v) => v / pivot);
    T[leave] = pr;
    for (let j = 0; j < m; j++) {
      if (j === leave) continue;
      const f = T[j]![enter]!;
      if (f !== 0) T[j] = T[j]!.map((v, k) => v - f * pr[k]!);
    }
    const f = obj[enter]!;
    for (let k = 0; k < width; k++) obj[k]! -= f * pr[k]!;
    basis[leave] = enter;
  }
  throw new Error('simplex did not converge');
}
