import t from 'tap';
import { planScaling } from '../../src/scaler/policy.js';
import type { ExistingNode, RunningJob, ScalingPlan } from '../../src/scaler/types.js';
import { config, GiB, jobs, node, running, snapshot } from './fixtures/scaler.js';

/**
 * Keep-off hints judge a node against where the plan places the work (rule 10, docs/scaler.md
 * "Keep-off hints where the work is placed"). A stream of 1-core 2 GiB jobs runs on r5.xlarge
 * nodes ($0.252/h, 4 cores: $0.063/h a job); its backlog of 40 is placed on the busiest node
 * within targetTime. A c5.4xlarge ($0.68/h, 16 cores: $0.0425/h a job at that scale) is
 * configured but not running. The less busy r5.xlarge is no dearer than where the backlog goes.
 */
const small = { name: 'small', cores: 1, memoryBytes: 2 * GiB, walltimeSeconds: 600 } as const;
const backlog = jobs(40, small);
const busy = (id: string, type: string, n: number): { node: ExistingNode; jobs: RunningJob[] } => ({
  node: node(id, { instanceType: type }),
  jobs: Array.from({ length: n }, (_, i) => running(`${id}-${i}`, id, small)),
});
const hinted = (p: ScalingPlan): string[] => (p.keepOff ?? []).map((h) => h.nodeId).sort();

interface Row {
  name: string;
  /** The busiest node, which the plan counts on for the backlog. */
  placedOn: { type: string; running: number };
  hinted: string[];
}

t.test('keep-off hints: a node is not kept off work the plan places on nodes no cheaper', async (t) => {
  const rows: Row[] = [
    {
      name: 'backlog placed on another r5.xlarge: the r5.xlarge with room is not kept off it',
      placedOn: { type: 'r5.xlarge', running: 4 },
      hinted: [],
    },
    {
      name: 'backlog placed on a c5.4xlarge (1.48× cheaper a job): the r5.xlarge is kept off it',
      placedOn: { type: 'c5.4xlarge', running: 16 },
      hinted: ['r-b'],
    },
  ];
  for (const row of rows) {
    const a = busy('a-busiest', row.placedOn.type, row.placedOn.running);
    const b = busy('r-b', 'r5.xlarge', 3);
    const plan = planScaling(
      snapshot({ nodes: [a.node, b.node], running: [...a.jobs, ...b.jobs], queued: backlog }),
      config({ nodeTypes: 'r5.xlarge,c5.4xlarge', maxNodes: 20, targetTime: '2h' }),
    );
    t.same(hinted(plan), row.hinted, `${row.name}: hints`);
    t.same(plan.launch, [], `${row.name}: nothing launched (the backlog starts within targetTime)`);
    t.same(plan.drain, [], `${row.name}: nothing drained`);
  }
});
