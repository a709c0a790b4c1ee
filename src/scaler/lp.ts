import { maxFit } from './shapes.js';
import type { Resources } from './types.js';

/** The optimum of a covering LP and the dual prices of its rows. */
export interface CoveringSolution {
  readonly value: number;
  /** Dual price of each demand row (0 for rows with no demand); empty when infeasible. */
  readonly duals: readonly number[];
  /** An optimal x per column (empty when infeasible). */
  readonly x: readonly number[];
}

/**
 * min Σ price_j x_j  s.t.  Σ_j coverage_j[r] x_j ≥ demand[r], x ≥ 0 — solved through its dual
 * (max demand·y s.t. coverage_j·y ≤ price_j, y ≥ 0), whose slack basis is feasible, with the
 * simplex method and Bland's rule. Returns the optimal value (Infinity if infeasible) and y.
 */
export function solveCoveringLpWithDuals(
  demand: readonly number[],
  columns: readonly { price: number; coverage: readonly number[] }[],
): CoveringSolution {
  const rows = demand.map((d, i) => i).filter((i) => demand[i]! > 1e-12);
  if (rows.length === 0) return { value: 0, duals: demand.map(() => 0), x: columns.map(() => 0) };
  const n = rows.length;
  const m = columns.length;
  // Tableau: m constraint rows over n dual variables + m slacks, then the objective row.
  const width = n + m + 1;
  const T: number[][] = [];
  for (let j = 0; j < m; j++) {
    const row = new Array<number>(width).fill(0);
    rows.forEach((r, k) => (row[k] = columns[j]!.coverage[r] ?? 0));
    row[n + j] = 1;
    row[width - 1] = columns[j]!.price;
    T.push(row);
  }
  const obj = new Array<number>(width).fill(0);
  rows.forEach((r, k) => (obj[k] = -demand[r]!));
  const basis = columns.map((_, j) => n + j);
  for (let iter = 0; iter < 20_000; iter++) {
    let enter = -1;
    for (let k = 0; k < width - 1; k++)
      if (obj[k]! < -1e-12) {
        enter = k;
        break;
      }
    if (enter < 0) {
      const duals = demand.map(() => 0);
      basis.forEach((b, j) => {
        if (b < n) duals[rows[b]!] = T[j]![width - 1]!;
      });
      // The primal x_j is the reduced cost of column j's slack in the optimal dual tableau.
      return { value: obj[width - 1]!, duals, x: columns.map((_, j) => Math.max(0, obj[n + j]!)) };
    }
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
    if (leave < 0) return { value: Infinity, duals: [], x: [] }; // dual unbounded: the primal is infeasible
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

/** A work class for the configuration LP: a request, the slots it needs, where it may go. */
export interface LpClass {
  readonly req: Resources;
  readonly demand: number;
  /** Per offering (same order as the offerings given): may this class use it? */
  readonly eligible: readonly boolean[];
}

export interface LpOffering {
  readonly cap: Resources;
  readonly price: number;
}

/** One node configuration: an offering and how many slots of each class one node holds. */
export interface Pattern {
  readonly offering: number;
  readonly counts: readonly number[];
}

export interface ConfigurationLpResult {
  /** A valid lower bound on every covering by whole-node configurations (Infinity if none). */
  readonly lowerBound: number;
  /** The restricted LP's value (an upper bound on the LP optimum; equal when `exact`). */
  readonly value: number;
  /** Patterns with positive weight in the restricted LP's solution. */
  readonly solution: readonly { pattern: Pattern; x: number }[];
  /** Pricing proved no column improves: `lowerBound === value`. */
  readonly exact: boolean;
}

/**
 * The configuration LP (Gilmore–Gomory): min Σ price·x over node configurations (which slots of
 * which classes one node of an offering holds at once, within its cores, memory, disk and GPUs)
 * such that every class gets its slots. Solved by column generation: start from one single-class
 * configuration per (offering, class), price new configurations with the LP's dual prices by an
 * exact knapsack search, stop when none has negative reduced cost. Any plan that places every
 * slot on whole nodes is a feasible point of this LP, so its optimum bounds every such plan from
 * below. When the search budget runs out before optimality, Farley's bound (the restricted value
 * divided by the largest dual value per dollar any configuration can reach, itself bounded from
 * above) is returned, which is still valid.
 */
export function solveConfigurationLp(
  classes: readonly LpClass[],
  offerings: readonly LpOffering[],
  opts: { maxIterations?: number; searchBudget?: number } = {},
): ConfigurationLpResult {
  const maxIterations = opts.maxIterations ?? 200;
  const budget = opts.searchBudget ?? 20_000;
  const demand = classes.map((c) => c.demand);
  const patterns: Pattern[] = [];
  const seen = new Set<string>();
  const addPattern = (p: Pattern): boolean => {
    const key = `${p.offering}:${p.counts.join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    patterns.push(p);
    return true;
  };
  offerings.forEach((o, j) =>
    classes.forEach((c, i) => {
      if (!c.eligible[j] || c.demand <= 1e-12) return;
      const k = maxFit(o.cap, c.req);
      if (k < 1) return;
      const counts = classes.map(() => 0);
      counts[i] = Number.isFinite(k) ? k : Math.ceil(c.demand);
      addPattern({ offering: j, counts });
    }),
  );
  let lowerBound = 0;
  for (let iter = 0; ; iter++) {
    const columns = patterns.map((p) => ({ price: offerings[p.offering]!.price, coverage: p.counts }));
    const sol = solveCoveringLpWithDuals(demand, columns);
    if (!Number.isFinite(sol.value))
      return { lowerBound: Infinity, value: Infinity, solution: [], exact: true };
    let worstRatio = 1;
    let added = 0;
    offerings.forEach((o, j) => {
      const best = bestConfiguration(classes, j, o.cap, sol.duals, budget);
      if (o.price > 0) worstRatio = Math.max(worstRatio, best.upper / o.price);
      else if (best.upper > 1e-12) worstRatio = Infinity;
      if (best.value > o.price + 1e-9 && best.counts)
        if (addPattern({ offering: j, counts: best.counts })) added++;
    });
    lowerBound = Math.max(lowerBound, sol.value / worstRatio);
    if (added === 0 || iter + 1 >= maxIterations) {
      const exact = worstRatio <= 1 + 1e-9;
      return {
        lowerBound: exact ? sol.value : lowerBound,
        value: sol.value,
        solution: patterns.map((pattern, k) => ({ pattern, x: sol.x[k]! })).filter((e) => e.x > 1e-9),
        exact,
      };
    }
  }
}

/**
 * The configuration of one node of an offering with the largest dual value (a multi-dimensional
 * knapsack, searched depth first with a fractional bound, within `budget` steps). `upper` bounds
 * the best value from above: equal to `value` when the search finished, else a relaxation.
 */
function bestConfiguration(
  classes: readonly LpClass[],
  offering: number,
  cap: Resources,
  duals: readonly number[],
  budget: number,
): { value: number; upper: number; counts?: number[] } {
  const idx = classes
    .map((c, i) => i)
    .filter(
      (i) => classes[i]!.eligible[offering] && (duals[i] ?? 0) > 1e-12 && maxFit(cap, classes[i]!.req) >= 1,
    );
  if (idx.length === 0) return { value: 0, upper: 0 };
  const dims = (r: Resources): number[] => [r.cores, r.memoryBytes, r.diskBytes, r.gpus ?? 0];
  const capD = dims(cap);
  // Value per unit of each dimension (Infinity when a class uses none of it).
  const density = (i: number, d: number): number => {
    const use = dims(classes[i]!.req)[d]!;
    return use > 0 ? duals[i]! / use : Infinity;
  };
  const relax = (free: number[], from: number): number => {
    let ub = Infinity;
    for (let d = 0; d < 4; d++) {
      let best = 0;
      for (let k = from; k < idx.length; k++) best = Math.max(best, density(idx[k]!, d));
      ub = Math.min(ub, best === Infinity ? Infinity : free[d]! * best);
    }
    // Each class alone is capped by how many copies fit.
    let sum = 0;
    for (let k = from; k < idx.length; k++) {
      const i = idx[k]!;
      sum +=
        duals[i]! *
        maxFit(
          { cores: free[0]!, memoryBytes: free[1]!, diskBytes: free[2]!, gpus: free[3]! },
          classes[i]!.req,
        );
    }
    return Math.min(ub, sum);
  };
  // Most valuable per dominant share first, so good configurations are found early.
  idx.sort((a, b) => {
    const share = (i: number): number =>
      Math.max(...dims(classes[i]!.req).map((u, d) => (capD[d]! > 0 ? u / capD[d]! : u > 0 ? Infinity : 0)));
    return duals[b]! / share(b) - duals[a]! / share(a);
  });
  const root = relax(capD, 0);
  let bestValue = 0;
  let bestCounts: number[] | undefined;
  const counts = classes.map(() => 0);
  let steps = 0;
  let cut = false;
  const search = (k: number, free: number[], value: number): void => {
    if (++steps > budget) {
      cut = true;
      return;
    }
    if (value > bestValue + 1e-12) {
      bestValue = value;
      bestCounts = [...counts];
    }
    if (k >= idx.length) return;
    if (value + relax(free, k) <= bestValue + 1e-12) return;
    const i = idx[k]!;
    const use = dims(classes[i]!.req);
    const most = maxFit(
      { cores: free[0]!, memoryBytes: free[1]!, diskBytes: free[2]!, gpus: free[3]! },
      classes[i]!.req,
    );
    const top = Number.isFinite(most) ? most : 0;
    for (let a = top; a >= 0 && !cut; a--) {
      counts[i] = a;
      search(
        k + 1,
        free.map((f, d) => f - a * use[d]!),
        value + a * duals[i]!,
      );
    }
    counts[i] = 0;
  };
  search(0, capD, 0);
  return { value: bestValue, upper: cut ? Math.max(root, bestValue) : bestValue, counts: bestCounts };
}
