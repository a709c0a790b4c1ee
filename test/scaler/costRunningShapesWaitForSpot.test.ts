import t from 'tap';
import { placementKey } from '../../src/common/placementOrder.js';
import { planScaling } from '../../src/scaler/policy.js';
import type { ExistingNode, QueuedJob, RunningJob } from '../../src/scaler/types.js';
import { config, GiB, jobs, node, NOW, running, snapshot } from './fixtures/scaler.js';

// Rule 19: the next wave of a preemptable shape already running on on-demand room waits for spot.
// An on-demand node opened for a scatter's non-preemptable split runs the split's preemptable
// tasks (they were placed before any plan saw them); the next workflow's tasks of the same shape
// arrive between two plans and would take the same on-demand room, at about three times the spot
// price, for as long as they run (drawn scatter-gather, day-long tasks: four of them on on-demand
// c5.2xlarge for 28 h). The plan names the shapes of such running jobs among the requests that
// wait for spot, so the batch system keeps new jobs of those shapes off on-demand room until a
// plan has judged them.

// Running for ten minutes, its name with no completion yet: a long job (past unknownRuntime, 5 min).
const task = {
  name: 'task',
  preemptable: true,
  cores: 2,
  memoryBytes: 2 * GiB,
  diskBytes: GiB,
  startedAt: NOW - 600_000,
};
const taskKey = placementKey({ cores: 2, memory: 2 * GiB, disk: GiB, preemptable: true });
const spotOffers = ['us-east-1a', 'us-east-1b'].map((zone) => ({
  instanceType: 'c5.large',
  zone,
  capacityType: 'spot' as const,
  pricePerHour: 0.03,
}));

interface Row {
  readonly name: string;
  readonly nodes: ExistingNode[];
  readonly running: RunningJob[];
  readonly queued?: QueuedJob[];
  readonly maxPreemptableNodes?: number;
  readonly listed: boolean;
}

t.test(
  'running shapes wait for spot: the next jobs of a preemptable shape on on-demand room wait for spot',
  async (t) => {
    const rows: Row[] = [
      {
        name: 'preemptable tasks on an on-demand node, no spot node up, spot pool has room: their shape waits for spot',
        nodes: [node('od')],
        running: [running('r1', 'od', task)],
        listed: true,
      },
      {
        name: 'a job of the shape started a minute ago, its runtime unknown: not listed (short jobs take the room there is)',
        nodes: [node('od')],
        running: [running('r1', 'od', { ...task, startedAt: NOW - 60_000 })],
        listed: false,
      },
      {
        name: 'a job of the shape started a minute ago that declares a two-hour walltime: listed',
        nodes: [node('od')],
        running: [running('r1', 'od', { ...task, startedAt: NOW - 60_000, walltimeSeconds: 7200 })],
        listed: true,
      },
      {
        name: 'the same on a draining on-demand node (it may be taken back): listed',
        nodes: [node('od', { state: 'draining' })],
        running: [running('r1', 'od', task)],
        listed: true,
      },
      {
        name: 'a spot node up could hold the shape: not listed (the batch system keeps it off on-demand room already)',
        nodes: [node('od'), node('sp', { capacityType: 'spot', pricePerHour: 0.03 })],
        running: [running('r1', 'od', task)],
        listed: false,
      },
      {
        name: 'the spot pool at maxPreemptableNodes: not listed (nothing would launch for it)',
        nodes: [node('od'), node('sp', { capacityType: 'spot', pricePerHour: 0.03 })],
        running: [
          running('r1', 'od', task),
          running('r2', 'sp', { ...task, cores: 1, memoryBytes: 3 * GiB }),
        ],
        maxPreemptableNodes: 1,
        listed: false,
      },
      {
        name: 'a static on-demand worker (billed whatever it runs): not listed',
        nodes: [node('od', { static: true })],
        running: [running('r1', 'od', task)],
        listed: false,
      },
      {
        name: 'non-preemptable work of the shape: not listed',
        nodes: [node('od')],
        running: [running('r1', 'od', { ...task, preemptable: false })],
        listed: false,
      },
      {
        name: 'a queued job of the shape the plan gives on-demand room (held anyway past its run): not listed',
        nodes: [node('od', { instanceType: 'c5.2xlarge' })],
        running: [
          running('r1', 'od', task),
          running('long', 'od', { name: 'merge', cores: 1, memoryBytes: GiB, walltimeSeconds: 36_000 }),
        ],
        queued: jobs(1, { ...task, walltimeSeconds: 600 }),
        listed: false,
      },
    ];
    for (const row of rows) {
      const plan = planScaling(
        snapshot({ nodes: row.nodes, running: row.running, queued: row.queued ?? [], offerings: spotOffers }),
        config({
          nodeTypes: 'c5.large:0.085,c5.large,c5.2xlarge',
          maxNodes: 10,
          ...(row.maxPreemptableNodes !== undefined ? { maxPreemptableNodes: row.maxPreemptableNodes } : {}),
        }),
      );
      t.equal(
        (plan.preemptableWaitsForSpot ?? []).includes(taskKey),
        row.listed,
        `${row.name}: ${JSON.stringify(plan.preemptableWaitsForSpot ?? [])}`,
      );
    }
  },
);
