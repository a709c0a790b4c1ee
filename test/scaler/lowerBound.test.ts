import t from 'tap';
import { fractionalLowerBound, solveCoveringLp } from '../../src/scaler/lowerBound.js';
import { planScaling } from '../../src/scaler/policy.js';
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
