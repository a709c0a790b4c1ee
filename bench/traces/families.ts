/**
 * Trace families for the corpus (deterministic by seed): each family varies one or more of
 * arrival (all at once, bursts hours apart, Poisson), DAG shape (scatter-gather, recursive
 * split-merge, chains, diamonds, mixed), job shapes (CPU-heavy, memory-heavy up to r-type sizes,
 * mixed, a few very large), runtimes (tight, lognormal heavy tail, day-long; declared walltime or
 * unknown until learned) and the preemptable share. The seed changes every draw (sizes, counts,
 * runtimes, arrivals), not the family's character, so seed 2 is a held-out copy of seed 1's corpus.
 */
import { seededRandom } from '../../src/scaler/simulator/random.js';

export interface TraceJobDoc {
  id: string;
  name: string;
  arrival: number;
  cores: number;
  memory: number;
  disk: number;
  preemptable: boolean;
  runtime: number;
  walltime?: number;
  dependsOn?: string[];
}

export interface TraceDoc {
  name: string;
  description: string;
  jobs: TraceJobDoc[];
}

const GiB = 2 ** 30;

/** Draws for one trace: uniform, lognormal around a median, Poisson gaps, Bernoulli. */
export class Draw {
  private readonly rand: () => number;
  constructor(seed: number) {
    this.rand = seededRandom(seed);
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.rand();
  }
  int(lo: number, hi: number): number {
    return Math.floor(this.uniform(lo, hi + 1));
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.rand())) * Math.cos(2 * Math.PI * this.rand());
  }
  /** Lognormal with the given median and log-sd (heavy right tail for sigma ≥ 0.8). */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
  /** Exponential gap with the given mean. */
  gap(mean: number): number {
    return -Math.log(1 - this.rand()) * mean;
  }
}

export type Runtimes = 'tight' | 'lognormal' | 'heavy' | 'day';

/** A job factory shared by the families: runtime model, declared walltimes or not, preemptable share. */
class Builder {
  readonly jobs: TraceJobDoc[] = [];
  readonly d: Draw;
  private readonly opts: { runtimes: Runtimes; median: number; declared: boolean; preemptable: number };
  constructor(d: Draw, opts: { runtimes: Runtimes; median: number; declared: boolean; preemptable: number }) {
    this.d = d;
    this.opts = opts;
  }
  runtime(median = this.opts.median): number {
    const d = this.d;
    switch (this.opts.runtimes) {
      case 'tight':
        return median * d.uniform(0.9, 1.1);
      case 'lognormal':
        return d.lognormal(median, 0.5);
      case 'heavy':
        return d.lognormal(median, 1.1);
      case 'day':
        return median * d.uniform(0.8, 1.2);
    }
  }
  add(
    id: string,
    name: string,
    shape: { cores: number; memGiB: number; diskGiB?: number },
    o: { arrival?: number; dependsOn?: string[]; preemptable?: boolean; median?: number } = {},
  ): string {
    const runtime = Math.max(10, Math.round(this.runtime(o.median)));
    const job: TraceJobDoc = {
      id,
      name,
      arrival: Math.round(o.arrival ?? 0),
      cores: shape.cores,
      memory: Math.round(shape.memGiB * GiB),
      disk: Math.round((shape.diskGiB ?? 4) * GiB),
      preemptable: o.preemptable ?? this.d.chance(this.opts.preemptable),
      runtime,
    };
    // A declared walltime is what a user writes: an over-estimate by 10–60 %.
    if (this.opts.declared) job.walltime = Math.round(runtime * this.d.uniform(1.1, 1.6));
    if (o.dependsOn && o.dependsOn.length > 0) job.dependsOn = o.dependsOn;
    this.jobs.push(job);
    return id;
  }
}

type Shape = { cores: number; memGiB: number; diskGiB?: number };
export type ShapeKind = 'cpu' | 'memory' | 'mixed' | 'large';

/** A job's shape; `large` is CPU work with a share `largeShare` of 16–32-core, 60–180 GiB jobs. */
function shapeOf(d: Draw, kind: ShapeKind, largeShare = 0.05): Shape {
  switch (kind) {
    case 'cpu':
      return { cores: d.pick([1, 2, 4]), memGiB: d.pick([1, 2, 3]) };
    case 'memory':
      return { cores: d.pick([2, 4]), memGiB: Math.round(d.uniform(12, 30)) };
    case 'mixed':
      return d.chance(0.5) ? shapeOf(d, 'cpu') : shapeOf(d, 'memory');
    case 'large':
      return d.chance(largeShare)
        ? { cores: d.pick([16, 32]), memGiB: Math.round(d.uniform(60, 180)), diskGiB: 20 }
        : shapeOf(d, 'cpu');
  }
}

/** The family the issue reported: bursts of memory-heavy jobs, 90 % preemptable, a big merge each. */
function memoryBursts(d: Draw, o: { bursts: number; apart: number; declared: boolean }): TraceJobDoc[] {
  const b = new Builder(d, { runtimes: 'lognormal', median: 1200, declared: o.declared, preemptable: 0.9 });
  for (let k = 0; k < o.bursts; k++) {
    const at = k * o.apart + d.uniform(0, 600);
    const n = d.int(150, 350);
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push(b.add(`b${k}-w${i}`, 'mem-task', { cores: 4, memGiB: Math.round(d.uniform(14, 30)) }, { arrival: at }));
    b.add(`b${k}-merge`, 'merge', { cores: 8, memGiB: Math.round(d.uniform(48, 60)), diskGiB: 20 }, {
      arrival: at,
      dependsOn: ids,
      preemptable: false,
      median: 1800,
    });
  }
  return b.jobs;
}

export function scatterGather(
  d: Draw,
  o: { width: [number, number]; shape: ShapeKind; runtimes: Runtimes; median: number; declared: boolean; preemptable: number; waves: number; apart: number; poisson?: boolean; largeShare?: number },
): TraceJobDoc[] {
  const b = new Builder(d, o);
  let t = 0;
  for (let k = 0; k < o.waves; k++) {
    const at = o.poisson ? (t += d.gap(o.apart)) : k * o.apart;
    const root = b.add(`w${k}-split`, 'split', { cores: 1, memGiB: 2 }, { arrival: at, preemptable: false, median: 60 });
    const n = d.int(o.width[0], o.width[1]);
    const shape = shapeOf(d, o.shape, o.largeShare);
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push(b.add(`w${k}-t${i}`, `task${k % 3}`, o.shape === 'mixed' || o.shape === 'large' ? shapeOf(d, o.shape, o.largeShare) : shape, { arrival: at, dependsOn: [root] }));
    b.add(`w${k}-gather`, 'gather', { cores: 2, memGiB: 8, diskGiB: 20 }, { arrival: at, dependsOn: ids, preemptable: false, median: 300 });
  }
  return b.jobs;
}

/** Recursive split to `leaves`, work at the leaves, merges back up (the sort example's shape). */
export function splitMerge(d: Draw, o: { depth: number; shape: ShapeKind; runtimes: Runtimes; median: number; declared: boolean; preemptable: number; largeShare?: number }): TraceJobDoc[] {
  const b = new Builder(d, o);
  const leafShape = shapeOf(d, o.shape, o.largeShare);
  const down = (level: number, path: string, parent?: string): string => {
    if (level === o.depth) return b.add(`leaf${path}`, 'leaf', leafShape, { dependsOn: parent ? [parent] : [] });
    const id = b.add(`split${path || '-root'}`, 'split', { cores: 1, memGiB: 2 }, { dependsOn: parent ? [parent] : [], median: 30 });
    const l = down(level + 1, `${path}0`, id);
    const r = down(level + 1, `${path}1`, id);
    return b.add(`merge${path || '-root'}`, 'merge', { cores: 1, memGiB: 4 }, { dependsOn: [l, r], median: 20 * 2 ** (o.depth - level) });
  };
  down(0, '');
  return b.jobs;
}

/** Independent chains of steps (a pipeline per sample), arriving together or as a Poisson stream. */
export function chains(d: Draw, o: { count: number; length: number; shape: ShapeKind; runtimes: Runtimes; median: number; declared: boolean; preemptable: number; meanGap: number; largeShare?: number }): TraceJobDoc[] {
  const b = new Builder(d, o);
  let t = 0;
  for (let c = 0; c < o.count; c++) {
    if (o.meanGap > 0) t += d.gap(o.meanGap);
    let prev: string | undefined;
    for (let s = 0; s < o.length; s++)
      prev = b.add(`c${c}-s${s}`, `step${s}`, shapeOf(d, o.shape, o.largeShare), { arrival: t, dependsOn: prev ? [prev] : [] });
  }
  return b.jobs;
}

/** Diamonds: a fan-out of a few branches that join, repeated in sequence. */
export function diamonds(d: Draw, o: { count: number; depth: number; fan: number; shape: ShapeKind; runtimes: Runtimes; median: number; declared: boolean; preemptable: number; meanGap: number; largeShare?: number }): TraceJobDoc[] {
  const b = new Builder(d, o);
  let t = 0;
  for (let c = 0; c < o.count; c++) {
    if (o.meanGap > 0) t += d.gap(o.meanGap);
    let top = b.add(`d${c}-top`, 'top', { cores: 1, memGiB: 2 }, { arrival: t, median: 60 });
    for (let k = 0; k < o.depth; k++) {
      const mid: string[] = [];
      for (let f = 0; f < o.fan; f++) mid.push(b.add(`d${c}-${k}-${f}`, `branch${f % 2}`, shapeOf(d, o.shape, o.largeShare), { arrival: t, dependsOn: [top] }));
      top = b.add(`d${c}-${k}-join`, 'join', { cores: 2, memGiB: 4 }, { arrival: t, dependsOn: mid, median: 120 });
    }
  }
  return b.jobs;
}

/** Independent jobs (no DAG) arriving all at once or as a Poisson stream. */
export function independent(d: Draw, o: { count: number; shape: ShapeKind; runtimes: Runtimes; median: number; declared: boolean; preemptable: number; meanGap: number; largeShare?: number }): TraceJobDoc[] {
  const b = new Builder(d, o);
  let t = 0;
  for (let i = 0; i < o.count; i++) {
    if (o.meanGap > 0) t += d.gap(o.meanGap);
    b.add(`j${i}`, `kind${i % 4}`, shapeOf(d, o.shape, o.largeShare), { arrival: t });
  }
  return b.jobs;
}

/** A mix: a scatter-gather, a split-merge tree and chains arriving at different times. */
export function mixed(d: Draw, o: { declared: boolean; preemptable: number }): TraceJobDoc[] {
  const parts: [string, number, TraceJobDoc[]][] = [
    ['sg', 0, scatterGather(d, { width: [80, 160], shape: 'cpu', runtimes: 'lognormal', median: 400, declared: o.declared, preemptable: o.preemptable, waves: 1, apart: 0 })],
    ['sm', d.uniform(1800, 5400), splitMerge(d, { depth: 5, shape: 'mixed', runtimes: 'heavy', median: 600, declared: o.declared, preemptable: o.preemptable })],
    ['ch', d.uniform(3600, 9000), chains(d, { count: 12, length: 4, shape: 'memory', runtimes: 'lognormal', median: 900, declared: o.declared, preemptable: o.preemptable, meanGap: 300 })],
  ];
  return offsetParts(parts);
}

/**
 * Parts of one trace, each `[prefix, start, jobs]`: ids prefixed, arrivals shifted, and names
 * prefixed too unless the parts are copies of one workflow (`sameNames`: a job's name is what
 * runtimes are learned by, and a workflow run again runs the same tools).
 */
export function offsetParts(parts: readonly (readonly [string, number, TraceJobDoc[]])[], sameNames = false): TraceJobDoc[] {
  return parts.flatMap(([p, at, jobs]) =>
    jobs.map((j) => ({ ...j, id: `${p}-${j.id}`, name: sameNames ? j.name : `${p}-${j.name}`, arrival: j.arrival + at, ...(j.dependsOn ? { dependsOn: j.dependsOn.map((x) => `${p}-${x}`) } : {}) })),
  );
}

export interface FamilySpec {
  readonly name: string;
  readonly description: string;
  readonly make: (d: Draw) => TraceJobDoc[];
}

/** The corpus's trace families (the shipped sort, scatter and day-long traces come on top). */
export const FAMILIES: readonly FamilySpec[] = [
  { name: 'mem-bursts', description: 'bursts of 150–350 memory-heavy jobs (4 cores, 14–30 GiB, ~20 min lognormal, 90 % preemptable) and a big non-preemptable merge, 3 bursts 3 h apart', make: (d) => memoryBursts(d, { bursts: 3, apart: 3 * 3600, declared: false }) },
  { name: 'mem-bursts-declared', description: 'as mem-bursts, 2 bursts 5 h apart, with declared walltimes', make: (d) => memoryBursts(d, { bursts: 2, apart: 5 * 3600, declared: true }) },
  { name: 'scatter-cpu-once', description: 'one scatter of 600–1,000 CPU jobs (~6 min lognormal), all preemptable', make: (d) => scatterGather(d, { width: [600, 1000], shape: 'cpu', runtimes: 'lognormal', median: 360, declared: false, preemptable: 1, waves: 1, apart: 0 }) },
  { name: 'scatter-mem-bursts', description: 'four scatters of 100–250 memory-heavy jobs 2 h apart, heavy-tailed runtimes, 70 % preemptable', make: (d) => scatterGather(d, { width: [100, 250], shape: 'memory', runtimes: 'heavy', median: 900, declared: false, preemptable: 0.7, waves: 4, apart: 7200 }) },
  { name: 'scatter-poisson', description: 'scatters of 20–80 mixed jobs arriving as a Poisson stream (mean 20 min apart), 50 % preemptable', make: (d) => scatterGather(d, { width: [20, 80], shape: 'mixed', runtimes: 'lognormal', median: 600, declared: false, preemptable: 0.5, waves: 12, apart: 1200, poisson: true }) },
  { name: 'split-merge-cpu', description: 'recursive split to 128 leaves of CPU work, declared walltimes, all preemptable', make: (d) => splitMerge(d, { depth: 7, shape: 'cpu', runtimes: 'tight', median: 500, declared: true, preemptable: 1 }) },
  { name: 'split-merge-mem', description: 'recursive split to 64 leaves of memory-heavy work, heavy tail, none preemptable', make: (d) => splitMerge(d, { depth: 6, shape: 'memory', runtimes: 'heavy', median: 1200, declared: false, preemptable: 0 }) },
  { name: 'chains-stream', description: '60 four-step chains of mixed shapes arriving as a Poisson stream (mean 4 min), 60 % preemptable', make: (d) => chains(d, { count: 60, length: 4, shape: 'mixed', runtimes: 'lognormal', median: 600, declared: false, preemptable: 0.6, meanGap: 240 }) },
  { name: 'chains-long', description: '16 three-step chains of multi-hour CPU jobs at once, declared walltimes, none preemptable', make: (d) => chains(d, { count: 16, length: 3, shape: 'cpu', runtimes: 'tight', median: 3 * 3600, declared: true, preemptable: 0, meanGap: 0 }) },
  { name: 'diamonds', description: '30 diamonds (3 levels of 6 branches) arriving every ~10 min, mixed shapes, 80 % preemptable', make: (d) => diamonds(d, { count: 30, depth: 3, fan: 6, shape: 'mixed', runtimes: 'lognormal', median: 480, declared: false, preemptable: 0.8, meanGap: 600 }) },
  { name: 'independent-heavy-tail', description: '800 independent CPU jobs at once with a heavy runtime tail (median 5 min), 100 % preemptable', make: (d) => independent(d, { count: 800, shape: 'cpu', runtimes: 'heavy', median: 300, declared: false, preemptable: 1 , meanGap: 0 }) },
  { name: 'independent-poisson-mem', description: '400 memory-heavy jobs arriving as a Poisson stream (mean 45 s), 30 % preemptable', make: (d) => independent(d, { count: 400, shape: 'memory', runtimes: 'lognormal', median: 1500, declared: false, preemptable: 0.3, meanGap: 45 }) },
  { name: 'few-very-large', description: '300 CPU jobs and a few very large ones (16–32 cores, 60–180 GiB) at once, 50 % preemptable', make: (d) => independent(d, { count: 300, shape: 'large', runtimes: 'lognormal', median: 1200, declared: false, preemptable: 0.5, meanGap: 0 }) },
  { name: 'day-long-mixed', description: '24 jobs of about a day, mixed shapes, none preemptable (a day-long job on spot at 0.3 interruptions per node-hour never finishes)', make: (d) => independent(d, { count: 24, shape: 'mixed', runtimes: 'day', median: 80_000, declared: false, preemptable: 0, meanGap: 0 }) },
  { name: 'mixed-dag', description: 'a scatter-gather, a split-merge tree and chains arriving hours apart, 70 % preemptable', make: (d) => mixed(d, { declared: false, preemptable: 0.7 }) },
  { name: 'tight-on-demand', description: '500 identical 2-core 10-minute jobs at once, declared walltimes, none preemptable', make: (d) => independent(d, { count: 500, shape: 'cpu', runtimes: 'tight', median: 600, declared: true, preemptable: 0, meanGap: 0 }).map((j) => ({ ...j, cores: 2, memory: 3 * GiB })) },
];

/** One family's trace for a seed (the family's index is mixed in, so families draw differently). */
export function generateTrace(family: FamilySpec, seed: number): TraceDoc {
  const index = FAMILIES.indexOf(family);
  const d = new Draw(seed * 1_000_003 + (index + 1) * 7919);
  return { name: family.name, description: family.description, jobs: family.make(d) };
}
