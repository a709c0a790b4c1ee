import t from 'tap';
import { placementKey } from '../../src/common/placementOrder.js';
import { planScaling } from '../../src/scaler/policy.js';
import type { Objective } from '../../src/scaler/config.js';
import type { QueuedJob, RunningJob, ScalingPlan } from '../../src/scaler/types.js';
import { config, GiB, jobs, node, NOW, running, snapshot } from './fixtures/scaler.js';

/**
 * A node a whole-node job waits for (rule 10's hints; docs/scaler.md "a node a whole-node job waits
 * for"). The r5.8xlarge pool (32 cores, 256 GiB) is at its maxNodes 2: `busy` runs a 32-core job
 * for another 40 minutes, `soon` runs one 4-core job with 5 minutes left. A queued 32-core 150 GiB
 * job fills any node that can run it and only an r5.8xlarge can; the batch system, first-fit,
 * would give `soon`'s room to the small jobs queued behind it, and `soon` would never empty.
 */
const keyOf = (q: QueuedJob): string =>
  placementKey({ cores: q.cores, memory: q.memoryBytes, disk: q.diskBytes, preemptable: q.preemptable });
const hints = (p: ScalingPlan): Record<string, string[]> =>
  Object.fromEntries((p.keepOff ?? []).map((h) => [h.nodeId, [...h.requests].sort()]));

const r58 = (id: string) => node(id, { instanceType: 'r5.8xlarge' });
const startedFor = (leftSeconds: number, ranSeconds = 600) => ({
  startedAt: NOW - ranSeconds * 1000,
  walltimeSeconds: ranSeconds + leftSeconds,
});
const busyJob: RunningJob = running('busy-32', 'busy', {
  cores: 32,
  memoryBytes: 160 * GiB,
  ...startedFor(2400),
});
const soonJob: RunningJob = running('soon-4', 'soon', { cores: 4, memoryBytes: 2 * GiB, ...startedFor(300) });

const whole = jobs(1, { name: 'whole', cores: 32, memoryBytes: 150 * GiB, walltimeSeconds: 1800 });
// Two of these fit an r5.8xlarge: not a whole-node job.
const half = jobs(1, { name: 'half', cores: 16, memoryBytes: 100 * GiB, walltimeSeconds: 1800 });
// 1 core, 20 minutes: runs past the 5 minutes until `soon` empties.
const small = jobs(20, { name: 'small', cores: 1, memoryBytes: 2 * GiB, walltimeSeconds: 1200 });
// 1 core, 2 minutes: ends before `soon` empties, so it delays nothing.
const brief = jobs(4, { name: 'brief', cores: 1, memoryBytes: 3 * GiB, walltimeSeconds: 120 });

t.test(
  'a node a whole-node job waits for is kept off the work that would run past its emptying',
  async (t) => {
    const rows: {
      name: string;
      queued: QueuedJob[];
      maxNodes: number[];
      objective?: Objective;
      hintsIgnored?: boolean;
      /** The requests `soon` is kept off (`busy`'s hints are other rules'). */
      soon: string[];
    }[] = [
      {
        name: 'the pool is full and the job fills a node: the node that empties first is kept off the small work, the other is not',
        queued: [...whole, ...small],
        maxNodes: [4, 2],
        soon: [keyOf(small[0]!)],
      },
      {
        name: 'work that ends before the node empties delays nothing: not kept off',
        queued: [...whole, ...small, ...brief],
        maxNodes: [4, 2],
        soon: [keyOf(small[0]!)],
      },
      {
        name: 'the pool has room: a node is opened for the job, no node is kept for it',
        queued: [...whole, ...small],
        maxNodes: [4, 3],
        soon: [],
      },
      {
        name: 'two of the job fit a node: room for it frees without the node emptying, no hint',
        queued: [...half, ...small],
        maxNodes: [4, 2],
        soon: [],
      },
      {
        name: 'objective speed starts work wherever there is room: no hint',
        queued: [...whole, ...small],
        maxNodes: [4, 2],
        objective: 'speed',
        soon: [],
      },
      {
        name: 'a batch system that cannot honour hints gets none',
        queued: [...whole, ...small],
        maxNodes: [4, 2],
        hintsIgnored: true,
        soon: [],
      },
    ];
    for (const row of rows) {
      const p = planScaling(
        snapshot({
          nodes: [r58('busy'), r58('soon')],
          running: [busyJob, soonJob],
          queued: row.queued,
          ...(row.hintsIgnored ? { keepOffHonoured: false } : {}),
        }),
        config({
          nodeTypes: 'c5.2xlarge,r5.8xlarge',
          maxNodes: row.maxNodes,
          ...(row.objective ? { objective: row.objective } : {}),
        }),
      );
      t.same(hints(p).soon ?? [], row.soon, row.name);
      if (row.soon.length > 0)
        t.match(
          p.notes.join('\n'),
          /node soon \(r5\.8xlarge on-demand\) is kept off 1 queued request\(s\) that would run past the time its room frees/,
          `${row.name}: note`,
        );
    }
  },
);
