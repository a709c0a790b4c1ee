import t from 'tap';
import type { LeaderConfig } from '../../../src/leader/leaderConfig.js';
import { tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';
import type { QueuedJob } from '../../../src/scaler/types.js';

/**
 * A launch asks for the disk the plan placed jobs by: the root volume of a type without instance
 * store is `nodeStorage` (or its `nodeStorageOverrides` entry), so a job the plan put on a node for
 * its disk finds that disk there. An instance-store type's jobs use its instance store, and its root
 * volume is sized the same way, as Toil sizes it.
 */
const GiB = 2 ** 30;

async function launchesFor(cfg: LeaderConfig, jobs: QueuedJob[]) {
  const h = tickHarness(cfg);
  h.cluster.queued = jobs;
  await h.scaler.tick();
  return h.provisioner.launchCalls.map((c) => c.offering);
}

const diskJob = (id: string, diskGiB: number): QueuedJob => ({
  id,
  name: 'big-disk',
  cores: 1,
  memoryBytes: 1 * GiB,
  diskBytes: diskGiB * GiB,
  preemptable: false,
  walltimeSeconds: 120,
});

t.test('launches ask for the root volume the plan counted on', async (t) => {
  const rows: [name: string, scaler: Record<string, unknown>, jobs: QueuedJob[], want: unknown][] = [
    [
      'the default nodeStorage: 50 GiB',
      { nodeTypes: ['t2.medium'] },
      [diskJob('a', 10)],
      [{ instanceType: 't2.medium', market: 'on-demand', rootVolumeGiB: 50 }],
    ],
    [
      'nodeStorage 200: a job of 150 GiB is placed, and its node is launched with 200 GiB',
      { nodeTypes: ['t2.medium'], nodeStorage: 200 },
      [diskJob('a', 150)],
      [{ instanceType: 't2.medium', market: 'on-demand', rootVolumeGiB: 200 }],
    ],
    [
      'nodeStorageOverrides: the type named gets its own size',
      { nodeTypes: ['t2.medium'], nodeStorage: 60, nodeStorageOverrides: { 't2.medium': 120 } },
      [diskJob('a', 100)],
      [{ instanceType: 't2.medium', market: 'on-demand', rootVolumeGiB: 120 }],
    ],
    [
      "an instance-store type's root volume is nodeStorage too, as Toil launches it (it was 50 GiB whatever was given)",
      { nodeTypes: ['m5d.large'], nodeStorage: 200 },
      [diskJob('a', 10)],
      [{ instanceType: 'm5d.large', market: 'on-demand', rootVolumeGiB: 200 }],
    ],
    [
      "an instance-store type's nodeStorageOverrides entry is its root volume",
      { nodeTypes: ['m5d.large'], nodeStorage: 60, nodeStorageOverrides: { 'm5d.large': 90 } },
      [diskJob('a', 10)],
      [{ instanceType: 'm5d.large', market: 'on-demand', rootVolumeGiB: 90 }],
    ],
  ];
  for (const [name, scaler, jobs, want] of rows) {
    const offerings = await launchesFor(tickTestConfig({ maxPreemptableNodes: 0, ...scaler }), jobs);
    t.same(
      offerings.map(({ zone: _zone, ...o }) => o),
      want,
      name,
    );
  }
});

t.test('a job needing more disk than nodeStorage gives is not placed on a node that lacks it', async (t) => {
  const offerings = await launchesFor(tickTestConfig({ nodeTypes: ['t2.medium'], maxPreemptableNodes: 0 }), [
    diskJob('a', 150),
  ]);
  t.same(offerings, [], 'nothing launched for a job no node of 50 GiB can hold');
});
