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
      name: 'no other room: the plan counts on the big node for it (1.48× is under the 2× margin), no hint',
      nodeTypes: 'r5.8xlarge,c5.xlarge,c5.2xlarge',
      withMid: false,
      queued: four,
      hints: {},
      drain: [],
      launch: [],
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
