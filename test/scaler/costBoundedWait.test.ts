import t from 'tap';
import { planScaling } from '../../src/scaler/policy.js';
import { boundedWait } from '../../src/scaler/cost/newNodes.js';
import type { Objective } from '../../src/scaler/config.js';
import type { Offering, ScalingPlan } from '../../src/scaler/types.js';
import { config, jobs, snapshot } from './fixtures/scaler.js';

const launched = (p: ScalingPlan): string[] =>
  p.launch.map((l) => `${l.count} ${l.instanceType} ${l.capacityType}`).sort();
const reasons = (p: ScalingPlan): string => p.waiting.map((w) => w.reason).join('\n');

t.test('bounded wait: work waits for a full pool only while its room comes soon enough', async (t) => {
  // c5.large ($0.085/h) at its maxNodes 10; m5.large ($0.096/h) has room. 2-core jobs take a whole
  // node of either. Per job m5.large costs 12.9 % more, and as a new node it also pays its 2-min
  // boot over the 30 min its slot is busy with 10-minute jobs (6.7 %): 20.5 % over waiting, far
  // over balanced's 2 %. A wait past targetTime is weighed by the work's length (30 min for
  // ten-minute jobs run back to back, 24 h for a day-long one): 20.5 % ÷ 2 % of 30 min is 5h07m.
  const cfg = (extra: Record<string, unknown> = {}) =>
    config({ nodeTypes: 'c5.large,m5.large', maxNodes: [10, 1000], ...extra });
  const rows: {
    name: string;
    queue: ReturnType<typeof jobs>;
    extra?: Record<string, unknown>;
    want: string[];
    waiting?: RegExp;
    notes?: RegExp;
  }[] = [
    {
      // 2000 jobs: 667 slots of 3 jobs, 10 on c5.large; the other 657 × 30 min over 10 nodes is
      // 32h51m past targetTime. 102 slots (5h06m) can wait; the other 555 open m5.large.
      name: '10-minute jobs 33 h behind a full pool open the dearer pool for all but the 5 h the bound allows',
      queue: jobs(2000, { cores: 2, walltimeSeconds: 600 }),
      want: ['10 c5.large on-demand', '555 m5.large on-demand'],
      waiting:
        /^waiting for room on c5\.large on-demand \(at its limits\), the last of it expected to start in 5h36m/,
      notes:
        /cannot wait for room on c5\.large on-demand \(at its limits\), the last of it expected to start in 33h21m .*m5\.large on-demand costs 20 % more per job, worth a wait of up to 5h07m past targetTime/,
    },
    {
      // 150 jobs: 50 slots, 40 wait: 2 h past targetTime, within 5h07m.
      name: 'a wait of 2 h past targetTime for ten-minute work within the bound: it waits, and says until when',
      queue: jobs(150, { cores: 2, walltimeSeconds: 600 }),
      want: ['10 c5.large on-demand'],
      waiting:
        /waiting for room on c5\.large on-demand \(at its limits\), the last of it expected to start in 2h30m \(its 10 node\(s\) run the work planned within targetTime 30m00s, then 2h00m of this and earlier waiting work\); m5\.large on-demand costs 20 % more per job/,
    },
    {
      // 40 day-long jobs: 30 wait 72 h past targetTime; m5.large is 13.1 % dearer (its boot is
      // nothing over a day): worth up to 157 h for 24-hour work. Weighed by targetTime alone the
      // bound would be 3h17m and the day-long jobs would buy m5.large.
      name: 'day-long jobs wait 72 h: little to a day-long job',
      queue: jobs(40, { cores: 2, walltimeSeconds: 86_400 }),
      want: ['10 c5.large on-demand'],
      waiting:
        /expected to start in 72h30m .*costs 13 % more per job, worth a wait of up to 157h\d\dm past targetTime for work 24h00m long/,
    },
    {
      name: 'objective cost pays no premium: the 2000 ten-minute jobs wait however long',
      queue: jobs(2000, { cores: 2, walltimeSeconds: 600 }),
      extra: { objective: 'cost' },
      want: ['10 c5.large on-demand'],
      waiting:
        /waiting for room on c5\.large on-demand \(at its limits\), the last of it expected to start in 33h21m.*objective cost pays no premium to go faster/,
    },
  ];
  for (const row of rows) {
    const p = planScaling(snapshot({ queued: row.queue }), cfg(row.extra));
    t.same(launched(p), row.want, row.name);
    if (row.waiting) t.match(reasons(p), row.waiting, `${row.name}: waiting reason`);
    if (row.notes) t.match(p.notes.join('\n'), row.notes, `${row.name}: note`);
  }
});

t.test('spot work waiting for a spot pool at its limits is told when room is expected', async (t) => {
  // 100 preemptable ten-minute 2-core jobs: 34 slots of 3 jobs; maxPreemptableNodes 5 takes 5 on
  // spot c5.large, 29 wait: 29 × 30 min over 5 nodes is 2h54m past targetTime. On-demand costs
  // several times the spot price per job, so they wait (no on-demand is bought for them).
  const p = planScaling(
    snapshot({
      queued: jobs(100, { cores: 2, preemptable: true, walltimeSeconds: 600 }),
      offerings: [{ instanceType: 'c5.large', zone: 'us-east-1a', capacityType: 'spot', pricePerHour: 0.03 }],
    }),
    config({ nodeTypes: 'c5.large:0.05,c5.large', maxNodes: 100, maxPreemptableNodes: 5 }),
  );
  t.same(launched(p), ['5 c5.large spot']);
  t.match(
    reasons(p),
    /^the spot pool is at its limits \(maxPreemptableNodes 5, 5 spot node\(s\)\); runs on spot nodes as they free up: the last of it expected to start in 3h24m \(its 5 node\(s\) run the work planned within targetTime 30m00s, then 2h54m of this and earlier waiting work\)$/,
  );
});

t.test('spot work waiting for a spot type at its maxNodes is told which limit, with its count', async (t) => {
  const p = planScaling(
    snapshot({
      queued: jobs(100, { cores: 2, preemptable: true, walltimeSeconds: 600 }),
      offerings: [{ instanceType: 'c5.large', zone: 'us-east-1a', capacityType: 'spot', pricePerHour: 0.03 }],
    }),
    config({ nodeTypes: 'c5.large:0.05,c5.large', maxNodes: [5, 100] }),
  );
  t.same(launched(p), ['5 c5.large spot']);
  t.match(
    reasons(p),
    /^the spot pool is at its limits \(maxNodes 5 for c5\.large:0\.05, 5 node\(s\)\); runs on spot nodes as they free up: /,
  );
});

t.test('boundedWait: the queue ahead, the pool size and the objective set the bound', async (t) => {
  const offering = (instanceType: string, nodeTypeIndex: number, pricePerHour: number): Offering => ({
    key: `${instanceType}/us-east-1a/on-demand`,
    instanceType,
    zone: 'us-east-1a',
    capacityType: 'on-demand',
    pricePerHour,
    available: true,
    nodeTypeIndex,
  });
  const full = offering('c5.large', 0, 0.085);
  const dearer = offering('m5.large', 1, 0.096);
  const work = { slots: 40, busy: 1800, cls: { name: 'job' } };
  const ctx = {
    nodes: 10,
    perNode: 1,
    ahead: 0,
    targetSeconds: 1800,
    premium: 0.02,
    objective: 'balanced' as Objective,
  };
  // q 0.2: bound 1800 × 0.2 ÷ 0.02 = 18,000 s past targetTime; 10 nodes absorb 100 slots of 30 min.
  const rows: {
    name: string;
    over: Partial<typeof ctx>;
    waits: boolean;
    mayWaitSlots: number;
    work: number;
  }[] = [
    {
      name: 'nothing ahead: 40 slots take 2 h of the pool',
      over: {},
      waits: true,
      mayWaitSlots: 100,
      work: 72_000,
    },
    {
      name: '33h20m of work ahead on 10 nodes: the same 40 slots end 5h20m past targetTime, over the bound',
      over: { ahead: 120_000 },
      waits: false,
      mayWaitSlots: 33,
      work: 72_000,
    },
    {
      name: 'two jobs per node: each slot takes half a node, 1 h',
      over: { perNode: 2 },
      waits: true,
      mayWaitSlots: 200,
      work: 36_000,
    },
    {
      name: 'a pool with no node never frees room',
      over: { nodes: 0 },
      waits: false,
      mayWaitSlots: 0,
      work: 72_000,
    },
    {
      name: 'no premium (objective cost): always waits',
      over: { premium: 0, objective: 'cost', ahead: 1e9 },
      waits: true,
      mayWaitSlots: Infinity,
      work: 72_000,
    },
  ];
  for (const row of rows) {
    const v = boundedWait(work, full, dearer, 0.2, { ...ctx, ...row.over });
    t.equal(v.waits, row.waits, `${row.name}: waits`);
    t.equal(v.mayWaitSlots, row.mayWaitSlots, `${row.name}: slots that may wait`);
    t.equal(v.work, row.work, `${row.name}: node-seconds`);
    t.equal(v.pool, 0, `${row.name}: the full pool's node type`);
  }
});
