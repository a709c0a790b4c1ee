import t, { type Test } from 'tap';
import { placementKey } from '../../src/common/placementOrder.js';
import { planScaling } from '../../src/scaler/policy.js';
import type { ExistingNode, QueuedJob, ScalingPlan } from '../../src/scaler/types.js';
import { config, GiB, jobs, node, running, snapshot } from './fixtures/scaler.js';

/**
 * Keep-off hints (rule 10, docs/scaler.md "Keep-off hints"): the plan tells the batch system which
 * queued requests to place no more of on a registered node they are dear for, instead of leaving
 * the node's free room to the first job that fits. An on-demand r5.8xlarge ($2.016/h, 32 cores)
 * runs the 16-core 200 GiB job it was launched for, about an hour from its end.
 */
const keyOf = (q: QueuedJob): string =>
  placementKey({ cores: q.cores, memory: q.memoryBytes, disk: q.diskBytes, preemptable: q.preemptable });
const hints = (p: ScalingPlan): Record<string, string[]> =>
  Object.fromEntries((p.keepOff ?? []).map((h) => [h.nodeId, [...h.requests]]));
const launched = (p: ScalingPlan): string[] =>
  p.launch.map((l) => `${l.count} ${l.instanceType} ${l.capacityType} ${l.zone}`).sort();

const bigNode = (state: 'registered' | 'draining') => node('x-big', { instanceType: 'r5.8xlarge', state });
const bigJob = running('huge', 'x-big', {
  name: 'huge',
  cores: 16,
  memoryBytes: 200 * GiB,
  walltimeSeconds: 3660,
});
// A c5.2xlarge ($0.34/h, 8 cores) half busy: busier than the big node, so the queue is placed
// on it first.
const mid = node('c-mid', { instanceType: 'c5.2xlarge' });
const midJobs = [0, 1, 2, 3].map((i) =>
  running(`m${i}`, 'c-mid', { name: 'm', cores: 1, memoryBytes: GiB, walltimeSeconds: 3660 }),
);
// 4 cores, 1 GiB, 10 minutes: $0.252/h of the r5.8xlarge against $0.17/h of a c5.xlarge
// (1.48×): under the drain's 2× margin, over the hint's 1.1×.
const four = jobs(1, { name: 'four', cores: 4, memoryBytes: GiB, walltimeSeconds: 600 });
// 1 core, 10 hours: outlives the big job by 9 h (dear over the run, 2× and more).
const long = jobs(1, { name: 'long', cores: 1, memoryBytes: 2 * GiB, walltimeSeconds: 36_000 });
// 8 cores, 40 GiB: of the types configured beside it only an r5 holds it; not dear there.
const wide = jobs(1, { name: 'wide', cores: 8, memoryBytes: 40 * GiB, walltimeSeconds: 600 });

interface Row {
  name: string;
  nodeTypes: string;
  objective?: string;
  /** The snapshot's flags: the spot switch not honoured (Slurm), hints not honoured. */
  spotSwitchIgnored?: boolean;
  hintsIgnored?: boolean;
  withMid: boolean;
  queued: QueuedJob[];
  hints: Record<string, string[]>;
  launch: string[];
}
const planFor = (big: ExistingNode, row: Row): ScalingPlan =>
  planScaling(
    snapshot({
      nodes: row.withMid ? [big, mid] : [big],
      running: row.withMid ? [bigJob, ...midJobs] : [bigJob],
      queued: row.queued,
      ...(row.spotSwitchIgnored ? { preemptableCanStayOnSpot: false } : {}),
      ...(row.hintsIgnored ? { keepOffHonoured: false } : {}),
    }),
    config({
      nodeTypes: row.nodeTypes,
      maxNodes: 20,
      ...(row.objective ? { objective: row.objective } : {}),
    }),
  );
const hintsAndLaunchesAre = (t: Test, plan: ScalingPlan, row: Row): void => {
  t.same(hints(plan), row.hints, `${row.name}: hints`);
  t.same(launched(plan), row.launch, `${row.name}: launch`);
  for (const id of Object.keys(row.hints))
    t.ok(
      plan.notes.some((n) =>
        n.startsWith(`node ${id} (r5.8xlarge on-demand) is kept off 1 queued request(s)`),
      ),
      `${row.name}: a note says why`,
    );
};

t.test('keep-off hints: the batch system is told which work a node is dear for', async (t) => {
  const big = bigNode('registered');
  const rows: (Row & { drain: string[] })[] = [
    {
      name: 'the queue placed on the c5.2xlarge: the big node is kept off it (its first-fit room would take it)',
      nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
      withMid: true,
      queued: four,
      hints: { 'x-big': [keyOf(four[0]!)] },
      drain: [],
      launch: [],
    },
    {
      name: 'objective speed: no hint (work starts wherever there is room)',
      nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
      objective: 'speed',
      withMid: true,
      queued: four,
      hints: {},
      drain: [],
      launch: [],
    },
    {
      name: 'a batch system that cannot honour hints: no hint',
      nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
      hintsIgnored: true,
      withMid: true,
      queued: four,
      hints: {},
      drain: [],
      launch: [],
    },
    {
      name: 'a batch system that places jobs itself but honours hints (Slurm: excluded nodes): the hint stands',
      nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
      spotSwitchIgnored: true,
      withMid: true,
      queued: four,
      hints: { 'x-big': [keyOf(four[0]!)] },
      drain: [],
      launch: [],
    },
    {
      name: "no room on a node of its type: kept off by price alone (1.48×, under the drain's 2×), a c5.xlarge launched",
      nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
      withMid: false,
      queued: four,
      hints: { 'x-big': [keyOf(four[0]!)] },
      drain: [],
      launch: ['1 c5.xlarge on-demand us-east-1a'],
    },
    {
      name: 'kept for the wide job it is fit for, and kept off the 10-hour job (no drain: the wide job takes its room)',
      nodeTypes: 'r5.8xlarge,c5.large',
      withMid: false,
      queued: [...wide, ...long],
      hints: { 'x-big': [keyOf(long[0]!)] },
      drain: [],
      launch: ['1 c5.large on-demand us-east-1a'],
    },
    {
      name: 'only the 10-hour job queued: drained (dear room), and the hint says the same to the batch system',
      nodeTypes: 'r5.8xlarge,c5.large',
      withMid: false,
      queued: long,
      hints: { 'x-big': [keyOf(long[0]!)] },
      drain: ['x-big'],
      launch: ['1 c5.large on-demand us-east-1a'],
    },
  ];
  for (const row of rows) {
    const plan = planFor(big, row);
    t.same(
      plan.drain.map((d) => d.nodeId),
      row.drain,
      `${row.name}: drain ${plan.drain.map((d) => d.reason).join('; ')}`,
    );
    hintsAndLaunchesAre(t, plan, row);
  }
});

t.test(
  'keep-off hints: a draining node taken back for work it is fit for is kept off the rest',
  async (t) => {
    // The r5.8xlarge was drained (dear room) while its big job runs; a job only an r5 holds is
    // queued again, so it is taken back for that job. The batch system places first-fit, so
    // without a hint the node's room would also go to the small jobs it is dear for, and the
    // node, drained again at the next tick, stays billed until they end.
    const big = bigNode('draining');
    const rows: (Row & { undrain: string[] })[] = [
      {
        name: 'taken back for the wide job, kept off the 4-core job the c5.2xlarge takes',
        nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
        withMid: true,
        queued: [...wide, ...four],
        undrain: ['x-big'],
        hints: { 'x-big': [keyOf(four[0]!)] },
        launch: [],
      },
      {
        name: 'taken back for the wide job and the 4-core job both (no other room): no hint',
        nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
        withMid: false,
        queued: [...wide, ...four],
        undrain: ['x-big'],
        hints: {},
        launch: [],
      },
      {
        name: 'taken back for the wide job, kept off the 10-hour job (a c5.large is launched for it)',
        nodeTypes: 'r5.8xlarge,c5.large',
        withMid: false,
        queued: [...wide, ...long],
        undrain: ['x-big'],
        hints: { 'x-big': [keyOf(long[0]!)] },
        launch: ['1 c5.large on-demand us-east-1a'],
      },
      {
        name: 'only the 4-core job queued, placed on the c5.2xlarge: not taken back, no hint',
        nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
        withMid: true,
        queued: four,
        undrain: [],
        hints: {},
        launch: [],
      },
      {
        name: 'objective speed: taken back, no hint',
        nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
        objective: 'speed',
        withMid: true,
        queued: [...wide, ...four],
        undrain: ['x-big'],
        hints: {},
        launch: [],
      },
    ];
    for (const row of rows) {
      const plan = planFor(big, row);
      t.same(
        plan.undrain.map((u) => u.nodeId),
        row.undrain,
        `${row.name}: undrain`,
      );
      hintsAndLaunchesAre(t, plan, row);
    }
  },
);

t.test(
  'keep-off hints: a node held by the one big job it was opened for is kept off work a cheaper type holds',
  async (t) => {
    // Priced by share alone: a 4-core 1 GiB job pays $0.252/h of the r5.8xlarge against $0.17/h
    // of a c5.xlarge with room (1.48×, over the hint's 1.1×). While the node runs a job no c5
    // holds (the job it was opened for), or runs nothing, the small work goes where a node would
    // be opened for it anyway, and the big node ends with its big job.
    interface TypeRow {
      name: string;
      nodes: ExistingNode[];
      running: ReturnType<typeof running>[];
      queued: QueuedJob[];
      maxNodes?: string;
      objective?: string;
      hintsIgnored?: boolean;
      hints: Record<string, string[]>;
      drain: string[];
      launch: string[];
    }
    const big = bigNode('registered');
    const smallOnBig = running('small', 'x-big', {
      name: 'small',
      cores: 2,
      memoryBytes: 2 * GiB,
      walltimeSeconds: 3660,
    });
    // 8 cores 100 GiB: no c5 holds one, two fit the r5.8xlarge.
    const half = { name: 'half', cores: 8, memoryBytes: 100 * GiB, walltimeSeconds: 3660 };
    const halfOne = running('half-1', 'x-big', half);
    const halfTwo = running('half-2', 'x-big', half);
    const rows: TypeRow[] = [
      {
        name: 'busy with its big job, the 4-core job queued and a c5.xlarge with room: kept off, a c5.xlarge launched',
        nodes: [big],
        running: [bigJob],
        queued: four,
        hints: { 'x-big': [keyOf(four[0]!)] },
        drain: [],
        launch: ['1 c5.xlarge on-demand us-east-1a'],
      },
      {
        name: 'idle after its big job (what it was opened for is gone): no hint, its room counted for the 4-core job',
        nodes: [big],
        running: [],
        queued: four,
        hints: {},
        drain: [],
        launch: [],
      },
      {
        name: 'busy with two memory jobs no c5 holds, each a half of it (a pool of such jobs, not one opened for): no hint',
        nodes: [big],
        running: [halfOne, halfTwo],
        queued: four,
        hints: {},
        drain: [],
        launch: [],
      },
      {
        name: 'busy with small jobs a c5 holds only (no job it was opened for): no hint, its room counted for the 4-core job',
        nodes: [big],
        running: [smallOnBig],
        queued: four,
        hints: {},
        drain: [],
        launch: [],
      },
      {
        name: 'the c5 pools at their limits: the big node is the cheapest room with room, no hint',
        nodes: [big],
        running: [bigJob],
        queued: four,
        maxNodes: '20,0,0',
        hints: {},
        drain: [],
        launch: [],
      },
      {
        name: 'a c5.2xlarge with room (the type the work would open): no hint there',
        nodes: [mid],
        running: midJobs,
        queued: four,
        hints: {},
        drain: [],
        launch: [],
      },
      {
        name: 'the wide job only an r5 holds: not kept off the big node',
        nodes: [big],
        running: [bigJob],
        queued: wide,
        hints: {},
        drain: [],
        launch: [],
      },
      {
        name: 'objective speed: no hint, the 4-core job takes the big node room',
        nodes: [big],
        running: [bigJob],
        queued: four,
        objective: 'speed',
        hints: {},
        drain: [],
        launch: [],
      },
      {
        name: 'a batch system that cannot honour hints: no hint, the 4-core job counted on the big node room',
        nodes: [big],
        running: [bigJob],
        queued: four,
        hintsIgnored: true,
        hints: {},
        drain: [],
        launch: [],
      },
    ];
    for (const row of rows) {
      const plan = planScaling(
        snapshot({
          nodes: row.nodes,
          running: row.running,
          queued: row.queued,
          ...(row.hintsIgnored ? { keepOffHonoured: false } : {}),
        }),
        config({
          nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
          maxNodes: row.maxNodes ?? 20,
          ...(row.objective ? { objective: row.objective } : {}),
        }),
      );
      t.same(hints(plan), row.hints, `${row.name}: hints`);
      t.same(
        plan.drain.map((d) => d.nodeId),
        row.drain,
        `${row.name}: drain ${plan.drain.map((d) => d.reason).join('; ')}`,
      );
      t.same(launched(plan), row.launch, `${row.name}: launch`);
      for (const id of Object.keys(row.hints))
        t.ok(
          plan.notes.some((n) =>
            n.startsWith(
              `node ${id} (r5.8xlarge on-demand) is kept off 1 queued request(s) of a type it would not be opened for`,
            ),
          ),
          `${row.name}: a note says why`,
        );
    }
  },
);
