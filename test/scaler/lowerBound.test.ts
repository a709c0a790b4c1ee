import t from 'tap';
import { fractionalLowerBound, solveCoveringLp } from '../../src/scaler/lowerBound.js';
import { solveConfigurationLp, type LpClass, type LpOffering } from '../../src/scaler/lp.js';
import { buildOfferings, typeTable } from '../../src/scaler/offerings.js';
import { planScaling } from '../../src/scaler/policy.js';
import { maxFit } from '../../src/scaler/shapes.js';
import { seededRandom } from '../../src/scaler/simulator/random.js';
import type { Resources } from '../../src/scaler/types.js';
import { exactCoverCost } from './fixtures/exactCover.js';
import { config, GiB, jobs, snapshot } from './fixtures/scaler.js';

t.test('the covering LP solves small cases exactly', async (t) => {
  const rows: {
    name: string;
    demand: number[];
    columns: { price: number; coverage: number[] }[];
    want: number;
  }[] = [
    { name: 'one resource, one type', demand: [10], columns: [{ price: 2, coverage: [4] }], want: 5 },
    {
      name: 'cheapest per unit wins',
      demand: [10],
      columns: [
        { price: 2, coverage: [4] },
        { price: 3, coverage: [8] },
      ],
      want: 3.75,
    },
    {
      name: 'two resources mix two types',
      demand: [10, 10],
      columns: [
        { price: 1, coverage: [2, 0] },
        { price: 1, coverage: [0, 2] },
        { price: 3, coverage: [2, 2] },
      ],
      want: 10,
    },
    { name: 'no demand costs nothing', demand: [0, 0], columns: [{ price: 1, coverage: [1, 1] }], want: 0 },
    {
      name: 'uncoverable demand is infinite',
      demand: [1, 1],
      columns: [{ price: 1, coverage: [1, 0] }],
      want: Infinity,
    },
  ];
  for (const row of rows) {
    const got = solveCoveringLp(row.demand, row.columns);
    t.ok(got === row.want || Math.abs(got - row.want) < 1e-9, `${row.name}: ${got}`);
  }
});

t.test('no plan is cheaper than the bound, and a uniform queue sits right on it', async (t) => {
  const cfg = config({ nodeTypes: 'c5.large,m5.large,r5.large', maxNodes: 10_000, bootTime: 0 });
  const s = snapshot({ queued: jobs(1000, { cores: 2, memoryBytes: GiB, walltimeSeconds: 7200 }) });
  const bound = fractionalLowerBound(s, cfg);
  t.ok(Math.abs(bound - 1000 * 0.085) < 1e-6, `bound $${bound}/h`);
  const plan = planScaling(s, cfg);
  t.ok(plan.hourlyCost.planned >= bound - 1e-9);
  t.ok(plan.hourlyCost.planned / bound <= 1.0001);
});

const GiBr = (cores: number, memGiB: number, diskGiB = 1): Resources => ({
  cores,
  memoryBytes: memGiB * GiB,
  diskBytes: diskGiB * GiB,
  gpus: 0,
});

t.test('the configuration LP counts only configurations that fit on one node at once', async (t) => {
  const node = [{ cap: GiBr(5, 10, 50), price: 1 }];
  const rows: { name: string; classes: LpClass[]; want: number }[] = [
    {
      // Pooled cores say 6/5 of a node; no node holds two of them, so two nodes are needed.
      name: 'two 3-core slots on a 5-core node',
      classes: [{ req: GiBr(3, 1), demand: 2, eligible: [true] }],
      want: 2,
    },
    {
      name: 'a 3-core and a 2-core slot share one node',
      classes: [
        { req: GiBr(3, 1), demand: 1, eligible: [true] },
        { req: GiBr(2, 1), demand: 1, eligible: [true] },
      ],
      want: 1,
    },
    {
      // Cores pair (3+2) but memory does not (6+6 > 10): the pooled-resource LP says 1.2.
      name: 'cores fit together, memory does not',
      classes: [
        { req: GiBr(3, 6), demand: 1, eligible: [true] },
        { req: GiBr(2, 6), demand: 1, eligible: [true] },
      ],
      want: 2,
    },
  ];
  for (const row of rows) {
    const r = solveConfigurationLp(row.classes, node);
    t.ok(r.exact, `${row.name}: pricing finished`);
    t.ok(Math.abs(r.lowerBound - row.want) < 1e-9, `${row.name}: ${r.lowerBound}`);
    t.ok(r.lowerBound <= exactCoverCost(row.classes, node) + 1e-9);
  }
});

t.test('the bound never exceeds the exact optimum on random small instances', async (t) => {
  const rand = seededRandom(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let tighter = 0;
  const instances = 300;
  for (let n = 0; n < instances; n++) {
    const offerings: LpOffering[] = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({
      cap: GiBr(pick([2, 4, 8]), pick([4, 8, 16, 32]), pick([10, 50])),
      price: Math.round((0.05 + rand()) * 1000) / 1000,
    }));
    const classes: LpClass[] = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({
      req: GiBr(pick([0.5, 1, 2, 3]), pick([0.5, 1, 3, 6, 10]), pick([1, 5, 20])),
      demand: 1 + Math.floor(rand() * 4),
      eligible: offerings.map(() => rand() < 0.8),
    })).filter((c) => c.eligible.some((e, j) => e && maxFit(offerings[j]!.cap, c.req) >= 1));
    if (classes.length === 0) continue;
    const exact = exactCoverCost(classes, offerings);
    const lp = solveConfigurationLp(classes, offerings);
    t.ok(lp.lowerBound <= exact + 1e-9, `instance ${n}: bound ${lp.lowerBound} ≤ optimum ${exact}`);
    // The pooled-resource LP (one row per class count and per resource) is never tighter.
    const pooled = solveCoveringLp(
      [
        ...classes.map((c) => c.demand),
        ...[0, 1, 2].map((d) => classes.reduce((s, c) => s + c.demand * dim(c.req, d), 0)),
      ],
      offerings.map((o, j) => ({
        price: o.price,
        coverage: [
          ...classes.map((c) => (c.eligible[j] ? maxFit(o.cap, c.req) : 0)),
          ...[0, 1, 2].map((d) => dim(o.cap, d)),
        ],
      })),
    );
    t.ok(
      lp.lowerBound >= pooled - 1e-9,
      `instance ${n}: configuration LP ${lp.lowerBound} ≥ pooled ${pooled}`,
    );
    if (lp.lowerBound > pooled + 1e-6) tighter++;
  }
  t.ok(tighter > instances / 10, `strictly tighter than the pooled LP on ${tighter} of ${instances}`);
});

t.test('fractionalLowerBound never exceeds the exact optimum of small queues', async (t) => {
  const cfg = config({
    nodeTypes: 'c5.large,m5.large,r5.large,c5.xlarge,m5.xlarge:0.1',
    maxNodes: 100,
    bootTime: 0,
  });
  const rand = seededRandom(11);
  for (let n = 0; n < 40; n++) {
    const queued = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => ({
      ...jobs(1 + Math.floor(rand() * 4), {
        name: `j${i}`,
        cores: [0.5, 1, 2, 3][Math.floor(rand() * 4)]!,
        memoryBytes: [1, 2, 3, 6][Math.floor(rand() * 4)]! * GiB,
        preemptable: rand() < 0.5,
        // Longer than targetTime: one slot per job, so the slot demand is integral.
        walltimeSeconds: 7200,
      })[0]!,
    }));
    const s = snapshot({
      queued,
      offerings: [
        { instanceType: 'm5.xlarge', zone: 'us-east-1a', capacityType: 'spot', pricePerHour: 0.07 },
      ],
    });
    const bound = fractionalLowerBound(s, cfg);
    const offerings = buildOfferings(cfg, s).filter((o) => o.available);
    const table = typeTable(cfg);
    const exact = exactCoverCost(
      queued.map((q) => ({
        req: q,
        demand: q.count!,
        eligible: offerings.map(
          (o) =>
            (o.capacityType === 'on-demand' || q.preemptable) &&
            maxFit(table.byName.get(o.instanceType)!.packable, q) >= 1,
        ),
      })),
      offerings.map((o) => ({ cap: table.byName.get(o.instanceType)!.packable, price: o.pricePerHour })),
    );
    t.ok(bound <= exact + 1e-9, `queue ${n}: bound ${bound} ≤ optimum ${exact}`);
    const plan = planScaling(s, cfg);
    t.same(plan.waiting, [], `queue ${n}: the plan runs everything`);
    t.ok(plan.hourlyCost.planned >= bound - 1e-9, `queue ${n}: plan ${plan.hourlyCost.planned} ≥ bound`);
  }
});

function dim(r: Resources, d: number): number {
  return d === 0 ? r.cores : d === 1 ? r.memoryBytes / GiB : r.diskBytes / GiB;
}
