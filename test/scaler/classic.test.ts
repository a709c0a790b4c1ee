import t from 'tap';
import {
  binPack,
  MAX_PACKED_WALLTIME_SECONDS,
  Reservation,
  type ToilShape,
} from '../../src/scaler/classic/binPacking.js';
import { classicShapes, planClassic, roundHalfAwayFromZero } from '../../src/scaler/classic/plan.js';
import { memoryOverheadBytes, reserveOverhead } from '../../src/scaler/overhead.js';
import { recordCompletion, emptyRuntimeHistory } from '../../src/scaler/runtimes.js';
import type { ScalerState } from '../../src/scaler/types.js';
import { config, GiB, jobs, MiB, node, NOW, running, snapshot } from './fixtures/scaler.js';

// Toil's clusterScalerTest fixtures (toil.md §6.1); sizes as human2bytes gives them (binary).
const t2micro: ToilShape = { wallTime: 3600, memory: GiB, cores: 1, disk: 8 * GiB, preemptable: false };
const c48xl: ToilShape = { wallTime: 3600, memory: 60 * GiB, cores: 36, disk: 100 * GiB, preemptable: false };
const job = (
  wallTime: number,
  cores = 1,
  memory = 1 * MiB * 0,
  disk = 0,
  preemptable = false,
): ToilShape => ({ wallTime, cores, memory, disk, preemptable });

t.test('bin packing reproduces Toil clusterScalerTest numbers', async (t) => {
  const rows: { name: string; node: ToilShape; jobs: ToilShape[]; targetTime: number; nodes: number }[] = [
    {
      name: '1,000 one-core 300 s jobs, targetTime 3600 → 84 nodes',
      node: t2micro,
      jobs: Array(1000).fill(job(300)),
      targetTime: 3600,
      nodes: 84,
    },
    {
      name: '1,000 one-core 300 s jobs, targetTime 0 → 1,000 nodes',
      node: t2micro,
      jobs: Array(1000).fill(job(300)),
      targetTime: 0,
      nodes: 1000,
    },
    {
      name: '1,000 one-core 30,000 s jobs → 1,000 nodes',
      node: t2micro,
      jobs: Array(1000).fill(job(30_000)),
      targetTime: 3600,
      nodes: 1000,
    },
    {
      name: '1,000 zero-resource jobs → 1 node',
      node: t2micro,
      jobs: Array(1000).fill(job(300, 0)),
      targetTime: 3600,
      nodes: 1,
    },
    {
      name: 'one 1000-h job plus 500 full-node 1-h jobs do not share a node',
      node: t2micro,
      jobs: [job(3_600_000), ...Array(500).fill(job(3600))],
      targetTime: 3600,
      nodes: 501,
    },
  ];
  for (const row of rows) {
    const r = binPack([row.node], row.jobs, row.targetTime);
    t.equal(r.counts[0], row.nodes, row.name);
  }
});

t.test('packing one 1000 s job splits the first hour into [1000 s reduced][2600 s full]', async (t) => {
  const r = Reservation.openFor(c48xl, {
    wallTime: 1000,
    memory: GiB,
    cores: 2,
    disk: 2 * GiB,
    preemptable: false,
  });
  t.same(
    r.slices.map((s) => [s.time, s.cores, s.memory / GiB, s.disk / GiB]),
    [
      [1000, 34, 59, 98],
      [2600, 36, 60, 100],
    ],
  );
});

t.test(
  'a job declaring a walltime of centuries is packed over a week of slices, not one per hour',
  async (t) => {
    const centuries = job(1e9, 1); // 31 years
    const r = binPack([c48xl], [centuries, job(3e9, 1), job(600, 1)], 3600);
    t.equal(r.counts[0], 1, 'the three share one node, as three jobs longer than the plan would');
    const slices = r.reservations[0]![0]!.slices;
    t.ok(slices.length <= 7 * 24 + 2, `${slices.length} slices (a week of hours, not 833,334)`);
    t.equal(
      slices.reduce((sum, s) => sum + s.time, 0),
      MAX_PACKED_WALLTIME_SECONDS,
      'the reservation covers the plan exactly',
    );
  },
);

t.test('a job too large for every node is reported, not packed, and does not crash', async (t) => {
  const r = binPack([t2micro], [job(100, 2)], 3600);
  t.same(r.couldNotFit, [0]);
  t.equal(r.counts[0], 0);
});

t.test('rounding goes half away from zero, also for large numbers', async (t) => {
  const rows: [number, number][] = [
    [0.5, 1],
    [1.5, 2],
    [2.5, 3],
    [-0.5, -1],
    [-2.5, -3],
    [1.4, 1],
    [1e15 + 0.5, 1e15 + 1],
  ];
  for (const [x, want] of rows) t.equal(roundHalfAwayFromZero(x), want, `${x} → ${want}`);
});

t.test('overhead accounting (Toil overhead rows)', async (t) => {
  const oneG = reserveOverhead({ cores: 1, memoryBytes: GiB, diskBytes: 8 * GiB });
  t.notOk(GiB <= oneG.memoryBytes, '1G node rejects a 1G job');
  t.notOk(GiB - 100 * MiB <= oneG.memoryBytes, '1G node rejects a 1G−100M job');
  t.ok(GiB - 384 * MiB <= oneG.memoryBytes, '1G node accepts a 1G−384M job');
  const big = reserveOverhead({ cores: 36, memoryBytes: 60 * GiB, diskBytes: 100 * GiB });
  t.notOk(60 * GiB <= big.memoryBytes, 'a job needing 100% of 60G does not fit');
  t.notOk(0.98 * 60 * GiB <= big.memoryBytes, '98% does not fit');
  t.ok(0.9 * 60 * GiB <= big.memoryBytes, '90% fits');
  t.notOk(100 * GiB <= big.diskBytes, '100G disk does not fit a 100G node');
  t.notOk(93 * GiB <= big.diskBytes, '93G does not fit');
  t.ok(90 * GiB <= big.diskBytes, '90G fits');
  t.equal(memoryOverheadBytes(512 * MiB), 255 * MiB, 'below 1 GiB a flat 255 MiB');
});

t.test('a 62.5 Gi job picks r5.4xlarge over r5.2xlarge (Toil #4147)', async (t) => {
  const cfg = config({ nodeTypes: 'r5.2xlarge,r5.4xlarge', policy: 'toil-classic' });
  const plan = planClassic(snapshot({ queued: jobs(1, { memoryBytes: 62.5 * GiB, cores: 1 }) }), cfg);
  t.same(
    plan.launch.map((l) => [l.instanceType, l.count]),
    [['r5.4xlarge', 1]],
  );
});

t.test('node shapes sort spot first, then smallest memory; the user order does not matter', async (t) => {
  const cfg = config({ nodeTypes: 'r5.large,c5.large,m5.large:0.05,t2.large' });
  t.same(
    classicShapes(cfg).map((s) => `${s.instanceType.name}${s.preemptable ? ':spot' : ''}`),
    ['m5.large:spot', 'c5.large', 't2.large', 'r5.large'],
  );
  const collide = config({ nodeTypes: 'c5.large,t2.medium' });
  t.same(
    classicShapes(collide).map((s) => s.instanceType.name),
    ['c5.large'],
    'identical shapes collide and only one survives, as in Toil',
  );
});

t.test('preemptable jobs use the smallest spot type; others skip spot', async (t) => {
  const cfg = config({ nodeTypes: 'c5.xlarge,c5.large:0.05', policy: 'toil-classic' });
  const plan = planClassic(
    snapshot({ queued: [...jobs(1, { preemptable: true, name: 'a' }), ...jobs(1, { name: 'b' })] }),
    cfg,
  );
  t.ok(plan.launch.some((l) => l.instanceType === 'c5.large' && l.capacityType === 'spot'));
  t.ok(
    plan.launch.some((l) => l.instanceType === 'c5.xlarge' && l.capacityType === 'on-demand'),
    'on-demand job on the on-demand type',
  );
});

t.test('maxNodes caps and minNodes floors per node type', async (t) => {
  const cfg = config({ nodeTypes: 'c5.large,c5.large:0.5', maxNodes: [2, 3], policy: 'toil-classic' });
  const runtimes = recordCompletion(recordCompletion(emptyRuntimeHistory(), 'job', 30_000), 'p', 30_000);
  const plan = planClassic(
    snapshot({
      queued: [...jobs(1000, { cores: 2 }), ...jobs(1000, { name: 'p', preemptable: true, cores: 2 })],
      runtimes,
    }),
    cfg,
  );
  t.same(plan.launch.map((l) => [l.capacityType, l.count]).sort(), [
    ['on-demand', 2],
    ['spot', 3],
  ]);
  const floor = planClassic(
    snapshot(),
    config({ nodeTypes: 'c5.large', minNodes: 2, policy: 'toil-classic' }),
  );
  t.same(
    floor.launch.map((l) => l.count),
    [2],
    'minNodes with an empty queue',
  );
});

t.test('spot deficit 5 × compensation 0.5 → 3 more on-demand nodes, a tick later', async (t) => {
  const cfg = config({
    nodeTypes: 'c5.large:0.5,c5.large',
    preemptableCompensation: 0.5,
    policy: 'toil-classic',
  });
  const plan = planClassic(
    snapshot({ lastShortfall: [{ instanceType: 'c5.large', capacityType: 'spot', count: 5 }] }),
    cfg,
  );
  t.same(
    plan.launch.map((l) => [l.capacityType, l.count]),
    [['on-demand', 3]],
  );
  const none = planClassic(snapshot(), cfg);
  t.same(none.launch, [], 'no shortfall, no compensation');
});

t.test('betaInertia 0.5 smooths 0 → 100 nodes as 50, 75, … and converges to 100', async (t) => {
  const cfg = config({ nodeTypes: 'c5.large', maxNodes: 1000, betaInertia: 0.5, policy: 'toil-classic' });
  // 100 two-core jobs, each longer than targetTime: one node each.
  const queue = jobs(100, { cores: 2, name: 'long' });
  const history = recordCompletion(emptyRuntimeHistory(), 'long', 10_000);
  let state: ScalerState | undefined;
  const targets: number[] = [];
  for (let i = 0; i < 12; i++) {
    const plan = planClassic(snapshot({ queued: queue, runtimes: history, state }), cfg);
    state = plan.state;
    targets.push(plan.launch.reduce((s, l) => s + l.count, 0));
  }
  t.same(targets.slice(0, 4), [50, 75, 88, 94]);
  t.equal(targets[targets.length - 1], 100);
});

t.test('cold start: with no history every job is 1 s, so one node absorbs a scatter (#1874)', async (t) => {
  const cfg = config({ nodeTypes: 'c5.4xlarge', maxNodes: 100, policy: 'toil-classic' });
  const plan = planClassic(snapshot({ queued: jobs(1000, { name: 'scatter' }) }), cfg);
  t.same(
    plan.launch.map((l) => l.count),
    [1],
  );
});

t.test(
  'scale-down: victims sorted by running tasks; idle ones terminated at once; static kept',
  async (t) => {
    const cfg = config({ nodeTypes: 'c5.large', policy: 'toil-classic' });
    const plan = planClassic(
      snapshot({
        nodes: [node('busy'), node('idle'), node('static', { static: true })],
        running: [running('r1', 'busy', { walltimeSeconds: 1 })],
        runtimes: recordCompletion(emptyRuntimeHistory(), 'job', 100),
      }),
      cfg,
    );
    // Target 1 (the running job packs into one node) against 3 nodes: the two non-static ones are
    // victims, the idle one first; only the idle one can go at once.
    t.same(
      plan.drain.map((d) => d.nodeId),
      ['idle', 'busy'],
    );
    t.same(
      plan.terminate.map((d) => d.nodeId),
      ['idle'],
    );
    t.ok(!plan.drain.some((d) => d.nodeId === 'static'), 'static node never a victim');
  },
);

t.test(
  'a node that never registered counts as capacity for ever (Toil has no boot timeout); the plan names it',
  async (t) => {
    const cfg = config({ nodeTypes: 'c5.large', policy: 'toil-classic' });
    const rows = [
      {
        name: 'booting 4 h (past bootTimeout 15 m): no launch, the queue waits on it',
        launchedAgo: 4 * 3_600_000,
      },
      { name: 'booting 5 m (within bootTimeout): no launch, nothing said', launchedAgo: 300_000 },
    ];
    for (const row of rows) {
      const plan = planClassic(
        snapshot({
          queued: jobs(1, { name: 'merge' }),
          nodes: [
            node('i-lost', { state: 'booting', launchedAt: NOW - row.launchedAgo, registeredAt: undefined }),
          ],
        }),
        cfg,
      );
      t.same(plan.launch, [], `${row.name}: counted as capacity, no replacement`);
      t.same(plan.terminate, [], `${row.name}: not terminated`);
      if (row.launchedAgo > cfg.bootTimeoutSeconds * 1000) {
        t.same(
          plan.waiting.map((w) => [w.jobName, w.count]),
          [['merge', 1]],
          row.name,
        );
        t.match(
          plan.waiting[0]!.reason,
          /counts 1 node\(s\) that never registered: i-lost \(c5\.large on-demand, launched 4h.*\) as capacity and launches nothing \(Toil has no boot timeout\)/,
          row.name,
        );
        t.match(plan.notes.join('\n'), /i-lost/, row.name);
      } else {
        t.same(plan.waiting, [], row.name);
        t.same(plan.notes, [], row.name);
      }
    }
  },
);
