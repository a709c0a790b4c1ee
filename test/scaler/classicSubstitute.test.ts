import t from 'tap';
import { planScaling } from '../../src/scaler/policy.js';
import type { QueuedJob, ScalingPlan, ScalingSnapshot } from '../../src/scaler/types.js';
import { config, GiB, jobs, node, running, snapshot } from './fixtures/scaler.js';

// The corpus's r5/m5/c5 cluster (calm-rmc).
const RMC =
  'r5.2xlarge:0.504,m5.2xlarge:0.384,c5.2xlarge:0.34,r5.2xlarge,m5.2xlarge,c5.2xlarge,r5.4xlarge,m5.4xlarge,c5.4xlarge,r5.8xlarge';

const launched = (p: ScalingPlan): string[] =>
  p.launch.map((l) => `${l.count} ${l.instanceType} ${l.capacityType}`).sort();

/** Very large jobs, one of each memory size (a request each), 16 cores: an r5.8xlarge holds one at a time. */
const veryLarge = (over: Partial<QueuedJob> = {}): QueuedJob[] =>
  [150, 160, 170, 120].flatMap((m, i) =>
    jobs(1, { id: `big${i}`, name: `big${i}`, cores: 16, memoryBytes: m * GiB, ...over }),
  );

const rows: {
  name: string;
  snapshot: Partial<ScalingSnapshot>;
  config?: Record<string, unknown>;
  launched: string[];
  substituted: boolean;
}[] = [
  {
    name: "four very large jobs of distinct sizes, runtime unknown: toil-classic's one r5.8xlarge runs them one after another within targetTime, not one r5.8xlarge each",
    snapshot: { queued: veryLarge() },
    launched: ['1 r5.8xlarge on-demand'],
    substituted: true,
  },
  {
    name: 'the same with objective cost',
    snapshot: { queued: veryLarge() },
    config: { objective: 'cost' },
    launched: ['1 r5.8xlarge on-demand'],
    substituted: true,
  },
  {
    name: 'objective speed keeps its own launches (one r5.8xlarge each)',
    snapshot: { queued: veryLarge() },
    config: { objective: 'speed' },
    launched: ['4 r5.8xlarge on-demand'],
    substituted: false,
  },
  {
    name: 'hour-long declared walltimes: toil-classic needs one node each too, nothing is substituted',
    snapshot: { queued: veryLarge({ walltimeSeconds: 3600 }) },
    launched: ['4 r5.8xlarge on-demand'],
    substituted: false,
  },
  {
    name: "a node busy with a ten-hour job is not free room: toil-classic's estimate still launches the node the queue needs (re-packed as toil-classic does, the busy node would hold the queue and nothing would launch)",
    snapshot: {
      queued: veryLarge(),
      nodes: [node('n1', { instanceType: 'r5.8xlarge' })],
      running: [running('long', 'n1', { cores: 32, memoryBytes: 200 * GiB, walltimeSeconds: 36_000 })],
    },
    launched: ['1 r5.8xlarge on-demand'],
    substituted: true,
  },
];

t.test("toil-classic's launches when ours are dearer", async (t) => {
  for (const row of rows) {
    t.test(row.name, async (t) => {
      const p = planScaling(
        snapshot(row.snapshot),
        config({ region: 'us-west-2', nodeTypes: RMC, maxNodes: 20, ...row.config }),
      );
      t.same(launched(p), row.launched);
      t.equal(
        p.notes.some((n) => /toil-classic's launches are taken instead/.test(n)),
        row.substituted,
        p.notes.join('\n'),
      );
    });
  }
});
