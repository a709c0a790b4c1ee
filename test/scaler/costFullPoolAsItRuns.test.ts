import t from 'tap';
import { planScaling } from '../../src/scaler/policy.js';
import type { Objective } from '../../src/scaler/config.js';
import type { RunningJob, ScalingPlan } from '../../src/scaler/types.js';
import { config, GiB, jobs, node, running, snapshot } from './fixtures/scaler.js';

const launched = (p: ScalingPlan): string[] =>
  p.launch.map((l) => `${l.count} ${l.instanceType} ${l.capacityType}`).sort();
const reasons = (p: ScalingPlan): string => p.waiting.map((w) => w.reason).join('\n');

t.test(
  'a full pool as it runs: work waits for it when its nodes run a mix worth more per dollar than a dearer node',
  async (t) => {
    // m5.2xlarge ($0.384/h) at its maxNodes 2, both busy for two hours; r5.4xlarge ($1.008/h) has
    // room. Twelve memory-heavy 2-core 16 GiB ten-minute jobs are queued (four slots of three back
    // to back): by dominant share each costs less on an r5.4xlarge (1/8 of it, $0.13/h) than alone
    // on an m5.2xlarge (16 of its 29 GiB, $0.21/h), so a hypothetical m5.2xlarge holding one of
    // them is no yardstick against an r5.4xlarge holding four. But the m5.2xlarge pool runs its
    // memory jobs beside CPU jobs: one 16 GiB job and three 2-core jobs a node are worth $0.42/h at
    // the cheapest prices, 1.09× the node's price, while the r5.4xlarge runs its four for about
    // half its price (half its cores and memory idle). Work that waits for the m5.2xlarge pool
    // starts there beside other work, so that pool, as it runs, is the yardstick.
    const m5 = (id: string) => node(id, { instanceType: 'm5.2xlarge' });
    const twoHours = { startedAt: Date.UTC(2026, 0, 1, 12) - 60_000, walltimeSeconds: 7200 };
    const mixed = (n: string): RunningJob[] => [
      running(`${n}-mem`, n, { ...twoHours, cores: 2, memoryBytes: 16 * GiB }),
      ...[1, 2, 3].map((i) => running(`${n}-cpu${i}`, n, { ...twoHours, cores: 2, memoryBytes: 2 * GiB })),
    ];
    const oneLeaf = (n: string): RunningJob[] => [
      running(`${n}-leaf`, n, { ...twoHours, cores: 4, memoryBytes: 21 * GiB }),
    ];
    const rows: {
      name: string;
      running: RunningJob[];
      queue: ReturnType<typeof jobs>;
      objective?: Objective;
      want: string[];
      waiting?: RegExp;
    }[] = [
      {
        name: 'the pool runs memory jobs beside CPU jobs: the memory jobs wait for it, no r5.4xlarge',
        running: [...mixed('m-1'), ...mixed('m-2')],
        queue: jobs(12, { cores: 2, memoryBytes: 16 * GiB, walltimeSeconds: 600 }),
        want: [],
        waiting:
          /^waiting for room on m5\.2xlarge on-demand \(at its limits\).*r5\.4xlarge on-demand costs \d+ % more per job/,
      },
      {
        name: 'the pool runs one memory-heavy job a node (cores idle): the r5.4xlarge that holds four is cheaper, opened',
        running: [...oneLeaf('m-1'), ...oneLeaf('m-2')],
        queue: jobs(12, { cores: 4, memoryBytes: 21 * GiB, walltimeSeconds: 600 }),
        want: ['1 r5.4xlarge on-demand'],
      },
      {
        name: 'objective speed pays for speed: the r5.4xlarge is opened beside the mixed pool',
        running: [...mixed('m-1'), ...mixed('m-2')],
        queue: jobs(12, { cores: 2, memoryBytes: 16 * GiB, walltimeSeconds: 600 }),
        objective: 'speed',
        want: ['1 r5.4xlarge on-demand'],
      },
    ];
    for (const row of rows) {
      const p = planScaling(
        snapshot({ nodes: [m5('m-1'), m5('m-2')], running: row.running, queued: row.queue }),
        config({
          nodeTypes: 'm5.2xlarge,r5.4xlarge',
          maxNodes: [2, 4],
          ...(row.objective ? { objective: row.objective } : {}),
        }),
      );
      t.same(launched(p), row.want, row.name);
      if (row.waiting) t.match(reasons(p), row.waiting, `${row.name}: waiting reason`);
    }
  },
);
