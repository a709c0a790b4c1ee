import t from 'tap';
import { placementKey } from '../../src/common/placementOrder.js';
import { planScaling } from '../../src/scaler/policy.js';
import {
  interruptionRate,
  nextExposure,
  restartFactor,
  SPOT_RISK_PRIOR_NODE_HOURS,
  type SpotExposure,
} from '../../src/scaler/spotRisk.js';
import type { QueuedJob, ScalingPlan } from '../../src/scaler/types.js';
import { config, GiB, jobs, node, NOW, snapshot } from './fixtures/scaler.js';

const HOUR = 3_600_000;

t.test('restartFactor: (e^(λR) − 1)/(λR), the expected node time on spot over the runtime', async (t) => {
  const rows: [string, number, number, number][] = [
    ['no interruptions: the runtime itself', 0, 36_000, 1],
    ['a 15-minute job at 0.3/h', 0.3, 900, 1.038],
    ['a 2 h job at 0.3/h', 0.3, 7200, 1.372],
    ['a 6.1 h job at 0.3/h: about on-demand ÷ spot at spot = 0.35 of it', 0.3, 6.1 * 3600, 2.86],
    ['a day at 0.05/h', 0.05, 86_400, 1.934],
  ];
  for (const [name, rate, seconds, want] of rows)
    t.ok(
      Math.abs(restartFactor(rate, seconds) - want) < 0.005,
      `${name}: ${restartFactor(rate, seconds).toFixed(3)} ≈ ${want}`,
    );
});

t.test('nextExposure and interruptionRate: spot node time and reclaims measured tick by tick', async (t) => {
  let e = nextExposure(undefined, NOW, 4, 7);
  t.same(
    { nodeSeconds: e.nodeSeconds, interruptions: e.interruptions, seenTotal: e.seenTotal },
    { nodeSeconds: 0, interruptions: 0, seenTotal: 7 },
    'the first tick sets the baseline: interruptions counted before it (another run) are not this exposure',
  );
  t.equal(interruptionRate(e), 0, 'nothing observed: no risk');
  e = nextExposure(e, NOW + HOUR, 2, 9);
  t.equal(e.nodeSeconds, 4 * 3600, 'the interval is charged to the nodes up at its start');
  t.equal(e.interruptions, 2, 'only the reclaims since the last tick count');
  t.equal(interruptionRate(e), 2 / (4 + SPOT_RISK_PRIOR_NODE_HOURS), 'shrunk by the prior node-hours');
  const restarted = nextExposure(e, NOW + 2 * HOUR, 2, 1);
  t.equal(
    restarted.interruptions,
    3,
    'a total lower than last seen is a restarted counter: all of it is new',
  );
  const one: SpotExposure = { nodeSeconds: 3600, interruptions: 1, seenTotal: 1, at: NOW, spotNodes: 1 };
  t.ok(interruptionRate(one) < 0.05, 'one reclaim in the first node-hour does not read as a stormy market');
});

// A spot market reclaimed 30 times in 100 node-hours (0.24/h with the prior): the measured state.
const stormy: SpotExposure = {
  nodeSeconds: 100 * 3600,
  interruptions: 30,
  seenTotal: 30,
  at: NOW - 60_000,
  spotNodes: 2,
};
const calm: SpotExposure = {
  nodeSeconds: 100 * 3600,
  interruptions: 1,
  seenTotal: 1,
  at: NOW - 60_000,
  spotNodes: 2,
};
const cfg = config({
  nodeTypes: 'c5.2xlarge:0.34,c5.2xlarge',
  targetTime: 1800,
  maxNodes: 10,
});
const spotPrices = [
  { instanceType: 'c5.2xlarge', zone: 'us-east-1a', capacityType: 'spot' as const, pricePerHour: 0.119 },
];
const key = (q: QueuedJob): string =>
  placementKey({ cores: q.cores, memory: q.memoryBytes, disk: q.diskBytes, preemptable: q.preemptable });
const launched = (p: ScalingPlan): string[] =>
  p.launch.map((l) => `${l.count} ${l.instanceType} ${l.capacityType}`);
/** The cost plan for this queue on a spot market measured as `exposure`. */
const planOn = (
  queued: QueuedJob[],
  exposure: SpotExposure,
  over: Partial<Parameters<typeof snapshot>[0]> = {},
): ScalingPlan =>
  planScaling(
    snapshot({
      queued,
      offerings: spotPrices,
      state: { smoothed: {}, spotExposure: exposure },
      spotInterruptions: exposure.seenTotal,
      ...over,
    }),
    cfg,
    'cost',
  );
// 8 cores each: one job fills a c5.2xlarge.
const day = jobs(2, {
  name: 'day',
  cores: 8,
  memoryBytes: 8 * GiB,
  preemptable: true,
  walltimeSeconds: 12 * 3600,
});

t.test(
  'spot risk: a preemptable class restarts would make dearer on spot is planned on on-demand',
  async (t) => {
    const spotNode = node('s1', { instanceType: 'c5.2xlarge', capacityType: 'spot' });
    // The spot node up is busy: it holds none of them now.
    const short = jobs(2, {
      name: 'short',
      cores: 8,
      memoryBytes: 8 * GiB,
      preemptable: true,
      walltimeSeconds: 1800,
    });
    const rows: {
      name: string;
      queued: QueuedJob[];
      exposure: SpotExposure;
      want: string[];
      hinted: boolean;
    }[] = [
      // 12 h at 0.24/h: factor (e^2.9 − 1)/2.9 ≈ 5.8 > 0.34/0.119 = 2.86.
      {
        name: '12 h jobs on stormy spot go on-demand',
        queued: day,
        exposure: stormy,
        want: ['2 c5.2xlarge on-demand'],
        hinted: true,
      },
      // 30 min at 0.24/h: factor 1.06: spot.
      {
        name: '30-minute jobs on stormy spot stay on spot',
        queued: short,
        exposure: stormy,
        want: ['2 c5.2xlarge spot'],
        hinted: false,
      },
      // 12 h at 1/124 per hour: factor 1.05: spot.
      {
        name: '12 h jobs on calm spot stay on spot',
        queued: day,
        exposure: calm,
        want: ['2 c5.2xlarge spot'],
        hinted: false,
      },
    ];
    for (const row of rows) {
      const p = planOn(row.queued, row.exposure, {
        nodes: [spotNode],
        running: [
          {
            id: 'busy',
            name: 'other',
            nodeId: 's1',
            startedAt: NOW - 60_000,
            cores: 8,
            memoryBytes: GiB,
            diskBytes: GiB,
            preemptable: true,
            walltimeSeconds: 36_000,
          },
        ],
      });
      t.same(launched(p), row.want, `${row.name}: launches`);
      const hint = (p.keepOff ?? []).find((h) => h.nodeId === 's1');
      t.equal(
        hint?.requests.includes(key(row.queued[0]!)) ?? false,
        row.hinted,
        `${row.name}: kept off the spot node`,
      );
      t.same(
        p.preemptableOnOnDemand ?? [],
        row.hinted ? [key(row.queued[0]!)] : [],
        `${row.name}: placed on on-demand room only`,
      );
      t.equal(
        p.notes.some((n) =>
          n.includes("preemptable 'day' job(s) planned on on-demand and kept off spot nodes"),
        ),
        row.hinted,
        `${row.name}: the note says why`,
      );
      t.ok(
        p.state.spotExposure !== undefined && p.state.spotExposure.nodeSeconds > row.exposure.nodeSeconds,
        `${row.name}: exposure carried on`,
      );
    }
  },
);

t.test(
  'spot risk: a request some queued job of which is cheaper on spot stays on spot (the batch system places by request)',
  async (t) => {
    // The same 8-core request, one 12 h job and one of 30 min (walltimes declared per job).
    const alike = [
      ...jobs(1, {
        name: 'task',
        cores: 8,
        memoryBytes: 8 * GiB,
        preemptable: true,
        walltimeSeconds: 12 * 3600,
      }),
      ...jobs(1, {
        id: 'task-1',
        name: 'task',
        cores: 8,
        memoryBytes: 8 * GiB,
        preemptable: true,
        walltimeSeconds: 1800,
      }),
    ];
    const p = planOn(alike, stormy);
    t.same(p.preemptableOnOnDemand ?? [], [], 'no request placed on on-demand only');
    t.ok(
      p.launch.every((l) => l.capacityType === 'spot'),
      `launched on spot only: ${launched(p).join(', ')}`,
    );
    t.notOk(
      p.notes.some((n) => n.includes('kept off spot nodes')),
      'no note',
    );
  },
);

t.test(
  'spot risk: an on-demand node running a job spot risk put there is not drained for running preemptable work',
  async (t) => {
    const od = node('od1', { instanceType: 'c5.2xlarge' });
    const job = {
      id: 'day-0',
      name: 'day',
      nodeId: 'od1',
      startedAt: NOW - 3_600_000,
      cores: 8,
      memoryBytes: 8 * GiB,
      diskBytes: GiB,
      preemptable: true,
      walltimeSeconds: 12 * 3600,
    };
    const stormyPlan = planOn([], stormy, { nodes: [od], running: [job] });
    t.same(stormyPlan.drain, [], 'stormy spot: kept, its job is on-demand work');
    const calmPlan = planOn([], calm, { nodes: [od], running: [job] });
    t.same(
      calmPlan.drain.map((d) => d.nodeId),
      ['od1'],
      'calm spot: drained as before (preemptable work spot runs for a third)',
    );
  },
);

t.test('spot risk: an unknown runtime is not priced (the default says nothing of the tail)', async (t) => {
  const unknown = jobs(2, { name: 'fresh', cores: 8, memoryBytes: 8 * GiB, preemptable: true });
  const p = planOn(unknown, stormy);
  t.ok(p.launch.length > 0 && p.launch.every((l) => l.capacityType === 'spot'), 'launched on spot only');
});

t.test(
  'spot risk: not where keep-off hints are not honoured (the jobs would land on spot anyway)',
  async (t) => {
    const p = planOn(day, stormy, { keepOffHonoured: false });
    t.same(launched(p), ['2 c5.2xlarge spot']);
  },
);
