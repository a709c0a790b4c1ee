/**
 * Drawn trace families (`npm run bench -- corpus --families drawn`): workloads no rule of the policy
 * was tuned on. Where the fixed families (families.ts) keep their character from seed to seed,
 * each drawn family takes its character at random, deterministic by seed and index: the arrival
 * (at once, bursts hours apart, a Poisson stream), the DAG shape (scatter-gather, split-merge,
 * chains, diamonds, independent jobs, a mix), the job shapes, the runtime model and median, declared
 * walltimes or not, the preemptable share (0–100 %) and the sizes, from ranges wider than the fixed
 * families use. The traces come from families.ts's generators; the drawn parameters travel with
 * each case, so a case can be read and drawn again.
 */
import {
  chains,
  diamonds,
  Draw,
  independent,
  mixed,
  offsetParts,
  scatterGather,
  splitMerge,
  type Runtimes,
  type ShapeKind,
  type TraceDoc,
  type TraceJobDoc,
} from './families.js';

export const DAGS = ['scatter-gather', 'split-merge', 'chains', 'diamonds', 'independent', 'mixed'] as const;
export const ARRIVALS = ['once', 'bursts', 'poisson'] as const;
export type Dag = (typeof DAGS)[number];
export type Arrival = (typeof ARRIVALS)[number];

/** What a drawn family was drawn as: enough to read the case and to tell families apart. */
export interface DrawnParams {
  readonly dag: Dag;
  readonly arrival: Arrival;
  /** Job shapes, runtime model and median: left out for `mixed`, whose parts keep their own. */
  readonly shape?: ShapeKind;
  /** For `large`: the share of 16–32-core, 60–180 GiB jobs among CPU jobs. */
  readonly largeShare?: number;
  readonly runtimes?: Runtimes;
  /** Median runtime in seconds. */
  readonly median?: number;
  readonly declared: boolean;
  /** Chance that a job (other than a DAG's fixed non-preemptable split or gather) is preemptable. */
  readonly preemptable: number;
  /** The DAG's sizes: widths, counts, lengths, depths, fan-outs. */
  readonly size: Readonly<Record<string, number>>;
  /** Copies of the workflow (bursts, or a Poisson stream of whole workflows), if more than one. */
  readonly parts?: number;
  /** Seconds between bursts, or the mean gap of the Poisson stream (of jobs, chains or workflows). */
  readonly gap?: number;
  readonly jobs: number;
}

export interface DrawnFamily {
  readonly name: string;
  readonly params: DrawnParams;
  readonly trace: TraceDoc;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** The Draw of drawn family `index` for `seed`: apart from every fixed family's draws. */
export function drawnDraw(seed: number, index: number): Draw {
  return new Draw((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b) ^ 0x5eed) >>> 0);
}

/** Drawn family `index` (0-based) of `seed`: its parameters and its trace. */
export function drawnFamily(seed: number, index: number): DrawnFamily {
  const d = drawnDraw(seed, index);
  const dag = d.pick(DAGS);
  const arrival = d.pick(ARRIVALS);
  const shape = d.pick(['cpu', 'memory', 'mixed', 'large'] as const);
  const largeShare = shape === 'large' ? r2(d.uniform(0.02, 0.3)) : undefined;
  const runtimes = d.pick(['tight', 'lognormal', 'heavy', 'day'] as const);
  const day = runtimes === 'day';
  // Log-uniform from 30 s to 3 h, or about a day.
  const median = Math.round(day ? d.uniform(40_000, 100_000) : Math.exp(d.uniform(Math.log(30), Math.log(3 * 3600))));
  const declared = d.chance(0.5);
  const share = d.uniform(0, 1);
  const preemptable = share < 0.25 ? 0 : share < 0.5 ? 1 : r2(d.uniform(0, 1));
  // About 400 job-hours of work at most (the fixed families' largest), so a case on the four-node
  // cluster stays a few seconds of simulation and within its 30 days; day-long chains stay short.
  const budget = Math.max(20, Math.floor(1_500_000 / median));
  const atMost = (n: number, dayCap: number): number => (day ? Math.min(n, dayCap) : n);
  const fit = (n: number, perUnit: number): number => Math.max(1, Math.min(n, Math.floor(budget / perUnit)));
  const common = { shape, largeShare, runtimes, median, declared, preemptable };

  let size: Record<string, number>;
  let parts = 1;
  let gap: number | undefined;
  // Copies of one workflow, bursts hours apart or a Poisson stream; `poissonGap` for the stream.
  const copies = (n: [number, number], poissonGap: [number, number]): void => {
    if (arrival === 'once') return;
    parts = d.int(n[0], n[1]);
    gap = Math.round(arrival === 'bursts' ? d.uniform(3600, 6 * 3600) : d.uniform(poissonGap[0], poissonGap[1]));
  };
  const repeat = (make: () => TraceJobDoc[]): TraceJobDoc[] => {
    if (parts === 1) return make();
    let t = 0;
    const all: [string, number, TraceJobDoc[]][] = [];
    for (let k = 0; k < parts; k++) {
      if (k > 0) t += arrival === 'bursts' ? gap! + d.uniform(0, 600) : d.gap(gap!);
      all.push([`p${k}`, Math.round(t), make()]);
    }
    return offsetParts(all, true);
  };
  // A stream of jobs, chains or diamonds: a Poisson gap between them, or bursts of copies.
  const streamGap = (range: [number, number]): number => {
    if (arrival === 'poisson') return (gap = Math.round(d.uniform(range[0], range[1])));
    copies([2, 4], [0, 0]);
    return 0;
  };

  let jobs: TraceJobDoc[];
  switch (dag) {
    case 'scatter-gather': {
      const waves = arrival === 'once' ? 1 : arrival === 'bursts' ? d.int(2, 5) : atMost(d.int(4, 20), 4);
      // Up to about 1,500 tasks in all, so a case stays a few seconds of simulation.
      const lo = fit(d.int(5, Math.max(5, Math.floor(600 / waves))), waves * 1.75);
      const hi = Math.round(lo * d.uniform(1, 2.5));
      gap = arrival === 'once' ? undefined : Math.round(arrival === 'bursts' ? d.uniform(3600, 6 * 3600) : d.uniform(300, 3600));
      size = { widthLo: lo, widthHi: hi, waves };
      jobs = scatterGather(d, { ...common, width: [lo, hi], waves, apart: gap ?? 0, poisson: arrival === 'poisson' });
      break;
    }
    case 'split-merge': {
      copies([2, 4], [600, 3600]);
      const depth = Math.max(2, Math.min(d.int(3, 8), parts > 1 ? 6 : 8, Math.floor(Math.log2(budget / parts))));
      size = { depth };
      jobs = repeat(() => splitMerge(d, { ...common, depth }));
      break;
    }
    case 'chains': {
      const meanGap = streamGap([30, 1800]);
      const length = atMost(d.int(2, 8), 3);
      const count = fit(Math.ceil(d.int(4, 120) / parts), length * parts);
      size = { count, length };
      jobs = repeat(() => chains(d, { ...common, count, length, meanGap }));
      break;
    }
    case 'diamonds': {
      const meanGap = streamGap([60, 1800]);
      const depth = atMost(d.int(1, 4), 2);
      const fan = d.int(2, 10);
      const count = fit(Math.ceil(d.int(2, 40) / parts), depth * fan * parts);
      size = { count, depth, fan };
      jobs = repeat(() => diamonds(d, { ...common, count, depth, fan, meanGap }));
      break;
    }
    case 'independent': {
      const meanGap = streamGap([5, 600]);
      const count = fit(Math.ceil(d.int(20, 1200) / parts), parts);
      size = { count };
      jobs = repeat(() => independent(d, { ...common, count, meanGap }));
      break;
    }
    case 'mixed': {
      copies([2, 3], [3600, 4 * 3600]);
      size = {};
      jobs = repeat(() => mixed(d, { declared, preemptable }));
      break;
    }
  }
  const params: DrawnParams = {
    dag,
    arrival,
    ...(dag === 'mixed' ? {} : { shape, ...(largeShare !== undefined ? { largeShare } : {}), runtimes, median }),
    declared,
    preemptable,
    size,
    ...(parts > 1 ? { parts } : {}),
    ...(gap !== undefined ? { gap } : {}),
    jobs: jobs.length,
  };
  const name = `drawn${String(index + 1).padStart(2, '0')}-${dag}-${arrival}`;
  const description = `drawn family ${index + 1} of seed ${seed}: ${JSON.stringify(params)}`;
  return { name, params, trace: { name, description, jobs } };
}

/** `count` drawn families of `seed`. */
export function drawnFamilies(seed: number, count: number): DrawnFamily[] {
  return Array.from({ length: count }, (_, i) => drawnFamily(seed, i));
}
