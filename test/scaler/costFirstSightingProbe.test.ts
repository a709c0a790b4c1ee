import t from 'tap';
import { planScaling } from '../../src/scaler/policy.js';
import { emptyRuntimeHistory, recordCompletion } from '../../src/scaler/runtimes.js';
import { FIRST_SIGHTING_MIN_JOBS } from '../../src/scaler/cost/plan.js';
import type {
  ExistingNode,
  QueuedJob,
  RuntimeHistory,
  ScalingPlan,
  ScalerState,
} from '../../src/scaler/types.js';
import { config, GiB, jobs, node, NOW, running, snapshot } from './fixtures/scaler.js';

// m5.2xlarge: 8 cores. Four-core jobs of unknown runtime take the 5-minute default: over the
// 1680 s start window (targetTime − bootTime) six start one after another in a slot, two slots a
// node, so 100 of them are a fleet of 9 nodes and the probe's ⌈√100⌉ = 10 jobs one node.
const cfg = (over: Record<string, unknown> = {}) =>
  config({ nodeTypes: 'm5.2xlarge', maxNodes: 100, ...over });
const total = (p: ScalingPlan): number => p.launch.reduce((s, l) => s + l.count, 0);
const probeWaits = (p: ScalingPlan) =>
  p.waiting.filter((w) =>
    /its runtime is unknown: (nodes are bought for a few|waiting for the nodes booting)/.test(w.reason),
  );

function plan(o: {
  queued?: QueuedJob[];
  nodes?: ExistingNode[];
  state?: ScalerState;
  runtimes?: RuntimeHistory;
  objective?: string;
  now?: number;
}): ScalingPlan {
  return planScaling(
    snapshot({
      now: o.now ?? NOW,
      queued: o.queued ?? jobs(100, { name: 'align', cores: 4 }),
      nodes: o.nodes ?? [],
      ...(o.state ? { state: o.state } : {}),
      ...(o.runtimes ? { runtimes: o.runtimes } : {}),
    }),
    cfg(o.objective ? { objective: o.objective } : {}),
  );
}

t.test(
  'first sighting: a queue of a never-seen name of unknown runtime buys nodes for a few of its jobs, not a fleet',
  async (t) => {
    const rows: { name: string; o: Parameters<typeof plan>[0]; nodes: number; probe: boolean }[] = [
      {
        name: '100 four-core jobs, nothing known, nothing running: one node for ⌈√100⌉ = 10 of them',
        o: {},
        nodes: 1,
        probe: true,
      },
      {
        name: 'objective speed buys the fleet at once',
        o: { objective: 'speed' },
        nodes: 9,
        probe: false,
      },
      {
        name: 'a learned runtime (one completion of 5 min): the fleet, no probe',
        o: { runtimes: recordCompletion(emptyRuntimeHistory(), 'align', 300) },
        nodes: 9,
        probe: false,
      },
      {
        name: 'a declared walltime of 5 min: the fleet, no probe',
        o: { queued: jobs(100, { name: 'align', cores: 4, walltimeSeconds: 300 }) },
        nodes: 9,
        probe: false,
      },
      {
        name: `fewer than ${FIRST_SIGHTING_MIN_JOBS} jobs: bought for at once`,
        o: {
          queued: jobs(FIRST_SIGHTING_MIN_JOBS - 1, { name: 'align', cores: 4, walltimeSeconds: undefined }),
        },
        nodes: 1,
        probe: false,
      },
      {
        name: 'room on a registered node takes the probe: nothing bought',
        o: { nodes: [node('n0', { instanceType: 'm5.2xlarge' })] },
        nodes: 0,
        probe: true,
      },
    ];
    for (const row of rows) {
      const p = plan(row.o);
      t.equal(
        total(p),
        row.nodes,
        `${row.name}: ${p.launch.map((l) => `${l.count} ${l.instanceType}`).join(', ') || 'nothing'}`,
      );
      t.equal(
        probeWaits(p).length > 0,
        row.probe,
        `${row.name}: probe reason ${JSON.stringify(probeWaits(p))}`,
      );
    }
  },
);

t.test(
  'first sighting: the probe is counted per name over its requests, and takes its smallest jobs',
  async (t) => {
    // 16 one-core jobs and 4 that need 100 GiB (an r5.4xlarge's worth), one name: ⌈√20⌉ = 5 jobs,
    // the smallest five, so no memory-heavy node is bought for the probe.
    const p = planScaling(
      snapshot({
        queued: [
          ...jobs(16, { name: 'call', cores: 1, id: 'call-small' }),
          ...jobs(4, { name: 'call', cores: 2, memoryBytes: 100 * GiB, id: 'call-big' }),
        ],
      }),
      config({ nodeTypes: 'c5.2xlarge,r5.4xlarge', maxNodes: 100 }),
    );
    t.same(
      p.launch.map((l) => `${l.count} ${l.instanceType}`),
      ['1 c5.2xlarge'],
      'one small node for the five smallest jobs',
    );
    const waits = probeWaits(p);
    t.same(
      waits.map((w) => [w.jobName, w.count]).sort(),
      [
        ['call', 11],
        ['call', 4],
      ],
      'the other 15 wait, the big ones among them',
    );
  },
);

t.test(
  'first sighting: the rest wait while nodes boot, then for the first jobs to end, never past bootTimeout',
  async (t) => {
    const first = plan({});
    t.equal(total(first), 1);
    t.same(Object.keys(first.state.firstSeenAt ?? {}), ['align'], 'the sighting is kept in the plan state');
    const booting = node('probe', {
      instanceType: 'm5.2xlarge',
      state: 'booting',
      launchedAt: NOW,
      registeredAt: undefined,
    });

    const rows: {
      name: string;
      o: Parameters<typeof plan>[0];
      nodes: (n: number) => boolean;
      reason: RegExp | undefined;
    }[] = [
      {
        name: 'a minute later, the probe node still booting: nothing more bought',
        o: { now: NOW + 60_000, nodes: [booting], state: first.state },
        nodes: (n) => n === 0,
        reason: /waiting for the nodes booting for the first of its name before buying more/,
      },
      {
        name: 'a probe node that never boots: past bootTimeout (15 min) the fleet is bought',
        o: {
          now: NOW + 16 * 60_000,
          nodes: [{ ...booting, id: 'other', launchedAt: NOW + 15 * 60_000 }],
          state: first.state,
        },
        nodes: (n) => n >= 8,
        reason: undefined,
      },
      {
        name: 'no node booting (the probe launch was refused): the fleet is bought',
        o: { now: NOW + 60_000, state: first.state },
        nodes: (n) => n >= 9,
        reason: undefined,
      },
    ];
    for (const row of rows) {
      const p = plan(row.o);
      t.ok(row.nodes(total(p)), `${row.name}: launched ${total(p)}`);
      const w = probeWaits(p);
      if (row.reason) t.match(w[0]?.reason, row.reason, row.name);
      else t.same(w, [], `${row.name}: no probe wait`);
    }

    // Once its jobs run, the probe of running jobs waits for the first to end.
    const registered = { ...booting, state: 'registered' as const, registeredAt: NOW + 120_000 };
    const p = planScaling(
      snapshot({
        now: NOW + 180_000,
        queued: jobs(98, { name: 'align', cores: 4 }),
        nodes: [registered],
        running: [0, 1].map((i) =>
          running(`align-r${i}`, 'probe', { name: 'align', cores: 4, startedAt: NOW + 130_000 }),
        ),
        state: first.state,
      }),
      cfg(),
    );
    t.equal(total(p), 0, 'nothing bought while the first jobs run');
    t.match(
      p.waiting.find((w) => w.jobName === 'align')?.reason,
      /waiting up to 4m10s more for the first of its running jobs to end/,
    );
  },
);
