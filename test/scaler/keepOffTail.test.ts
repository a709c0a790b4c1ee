import t from 'tap';
import { placementKey } from '../../src/common/placementOrder.js';
import { planScaling } from '../../src/scaler/policy.js';
import type { QueuedJob, RuntimeHistory, ScalingPlan } from '../../src/scaler/types.js';
import { config, GiB, jobs, node, running, snapshot } from './fixtures/scaler.js';

/**
 * Rule 21, a long tail kept off a dear node (docs/scaler.md): a queued job of a name whose recent
 * runtimes have a long tail is kept off a registered on-demand node that costs more per hour than
 * the cheapest node of its own, and more per job than the cheapest offering, when the part of it
 * expected to outlive the node's own jobs costs more there than the whole job does on the cheapest
 * offering. The cluster: two m5.2xlarge ($0.384/h, 8 cores, 32 GiB), its pool at its limit, both
 * busy; an r5.8xlarge ($2.016/h, 32 cores, 256 GiB) running one 200 GiB job with an hour to go
 * and room for the queue's 4-core 2 GiB job ($0.252/h of it against $0.192/h of an m5.2xlarge).
 */
const keyOf = (q: QueuedJob): string =>
  placementKey({ cores: q.cores, memory: q.memoryBytes, disk: q.diskBytes, preemptable: q.preemptable });
const hints = (p: ScalingPlan): Record<string, string[]> =>
  Object.fromEntries((p.keepOff ?? []).map((h) => [h.nodeId, [...h.requests]]));
const launched = (p: ScalingPlan): string[] =>
  p.launch.map((l) => `${l.count} ${l.instanceType} ${l.capacityType}`).sort();

const big = node('x-big', { instanceType: 'r5.8xlarge' });
const small = ['m-1', 'm-2'].map((id) => node(id, { instanceType: 'm5.2xlarge' }));
const memJob = running('mem-0', 'x-big', {
  name: 'mem',
  cores: 2,
  memoryBytes: 200 * GiB,
  walltimeSeconds: 3660,
});
const smallJobs = small.flatMap((n) =>
  [0, 1].map((i) =>
    running(`${n.id}-${i}`, n.id, { name: 'other', cores: 4, memoryBytes: 2 * GiB, walltimeSeconds: 3660 }),
  ),
);
const task = jobs(1, { name: 'task', cores: 4, memoryBytes: 2 * GiB });
const history = (recent: number[]): RuntimeHistory => ({
  byName: {
    task: { count: recent.length, sumSeconds: recent.reduce((a, b) => a + b, 0), recent },
  },
  total: { count: recent.length, sumSeconds: recent.reduce((a, b) => a + b, 0) },
});
// Six runs of ten minutes and one of eleven hours: mean 6,171 s; the r5.8xlarge is held about an
// hour more by its own job, and a run of the name is expected to outlive that by 5,200 s. At
// $2.016/h against the $0.384/h of an m5.2xlarge alone that is $2.36 more, where the whole job on
// its cheapest offering (half an m5.2xlarge) costs $0.33.
const heavyTail = [600, 600, 600, 600, 600, 600, 40_000];

interface Row {
  name: string;
  recent: number[];
  queued?: QueuedJob[];
  objective?: string;
  /** Room for another m5.2xlarge under its limit. */
  smallPoolRoom?: boolean;
  hintsIgnored?: boolean;
  hints: Record<string, string[]>;
  launch: string[];
}

const planFor = (row: Row): ScalingPlan =>
  planScaling(
    snapshot({
      nodes: [big, ...small],
      running: [memJob, ...smallJobs],
      queued: row.queued ?? task,
      runtimes: history(row.recent),
      ...(row.hintsIgnored ? { keepOffHonoured: false } : {}),
    }),
    config({
      nodeTypes: 'm5.2xlarge,r5.8xlarge',
      maxNodes: [row.smallPoolRoom ? 3 : 2, 2],
      region: 'us-east-1',
      ...(row.objective ? { objective: row.objective } : {}),
    }),
  );

t.test('a long tail is kept off a dear node: the queued job waits for the cheap pool', async (t) => {
  const rows: Row[] = [
    {
      name: 'a heavy-tailed name, the m5.2xlarge pool at its limit: kept off the r5.8xlarge, nothing launched',
      recent: heavyTail,
      hints: { 'x-big': [keyOf(task[0]!)] },
      launch: [],
    },
    {
      name: 'the m5.2xlarge pool with room: kept off the r5.8xlarge, an m5.2xlarge launched for it',
      recent: heavyTail,
      smallPoolRoom: true,
      hints: { 'x-big': [keyOf(task[0]!)] },
      launch: ['1 m5.2xlarge on-demand'],
    },
    {
      name: 'a tight name that ends within the node’s own job: it takes the room (no hint)',
      recent: [500, 550, 600, 650, 700],
      hints: {},
      launch: [],
    },
    {
      name: 'fewer than five runtimes say nothing of a tail (no hint)',
      recent: [600, 600, 600, 40_000],
      hints: {},
      launch: [],
    },
    {
      name: 'a memory-heavy job the r5.8xlarge runs cheaper per job than an m5.2xlarge: no hint',
      recent: heavyTail,
      queued: jobs(1, { name: 'task', cores: 2, memoryBytes: 28 * GiB }),
      hints: {},
      launch: [],
    },
    {
      name: 'objective speed: no hint (work starts wherever there is room)',
      recent: heavyTail,
      objective: 'speed',
      hints: {},
      launch: [],
    },
    {
      name: 'a batch system that cannot honour hints: no hint',
      recent: heavyTail,
      hintsIgnored: true,
      hints: {},
      launch: [],
    },
  ];
  for (const row of rows) {
    const plan = planFor(row);
    t.same(hints(plan), row.hints, `${row.name}: hints`);
    t.same(launched(plan), row.launch, `${row.name}: launch`);
    const noted = plan.notes.some((n) =>
      n.startsWith(
        'node x-big (r5.8xlarge on-demand) is kept off 1 queued request(s) of a name whose runtimes have a long tail',
      ),
    );
    t.equal(noted, Object.keys(row.hints).length > 0, `${row.name}: a note says why, when kept off`);
  }
});

t.test('a draining dear node is not taken back for a long tail it would keep billed', async (t) => {
  const rows = [
    {
      name: 'a heavy-tailed name: the r5.8xlarge stays draining and is kept off it',
      recent: heavyTail,
      undrain: [],
    },
    {
      name: 'a tight name: the r5.8xlarge is taken back for it',
      recent: [500, 550, 600, 650, 700],
      undrain: ['x-big'],
    },
  ];
  for (const row of rows) {
    const plan = planScaling(
      snapshot({
        nodes: [{ ...big, state: 'draining' }, ...small],
        running: [memJob, ...smallJobs],
        queued: task,
        runtimes: history(row.recent),
      }),
      config({ nodeTypes: 'm5.2xlarge,r5.8xlarge', maxNodes: [2, 2], region: 'us-east-1' }),
    );
    t.same(
      plan.undrain.map((u) => u.nodeId),
      row.undrain,
      `${row.name}: taken back`,
    );
    t.same(launched(plan), [], `${row.name}: nothing launched (the m5.2xlarge pool is at its limit)`);
    // A draining node takes no work, so no hint is needed either way.
    t.same(hints(plan), {}, `${row.name}: no hints`);
  }
});
