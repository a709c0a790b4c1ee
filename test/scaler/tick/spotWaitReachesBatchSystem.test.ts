import t from 'tap';
import { placementKey } from '../../../src/common/placementOrder.js';
import { createLogger } from '../../../src/common/log.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import { localClusterWithLeader } from '../../fixtures/ec2Local.js';
import { FakeAgents, MemoryTickStore, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * A run's first wave: a non-preemptable job and a preemptable one queued, no worker up. The tick
 * launches an on-demand node for the first and a spot node for the second, and tells the batch
 * system, with the spot switch, that the preemptable request waits for spot: without it the batch
 * system would give that job the on-demand node if it registered first, and run it there at the
 * on-demand price for as long as it runs (docs/scaler.md, "Preemptable work waits for the spot
 * node launched for it"). Once a spot agent that could hold it is up, the list is empty again (the
 * switch alone keeps it on spot). One leader's scaler on the local EC2 endpoint, stepped clock.
 */
const GiB = 2 ** 30;

t.test(
  'the requests that wait for the spot nodes being launched reach the batch system with the spot switch',
  async (t) => {
    const { clock, provisioner } = await localClusterWithLeader(t, 'spotwait');
    const agents = new FakeAgents();
    const shape = { cores: 1, memoryBytes: GiB, diskBytes: GiB, walltimeSeconds: 3600, count: 1 };
    agents.queued = [
      { ...shape, id: 'merge-0', name: 'merge', preemptable: false },
      { ...shape, id: 'leaf-0', name: 'leaf', preemptable: true },
    ];
    const scaler = new ClusterScaler({
      provisioner,
      cluster: agents,
      store: new MemoryTickStore(),
      clock,
      log: createLogger({ level: 'silent' }),
      config: () => tickTestConfig({ nodeTypes: 'c5.large:0.05,c5.large', maxNodes: 4 }),
    });
    await scaler.restore();
    const first = await scaler.tick();
    const launched = first.report.plan.launch
      .map((l) => `${l.count} ${l.instanceType} ${l.capacityType}`)
      .sort();
    t.same(launched, ['1 c5.large on-demand', '1 c5.large spot'], 'an on-demand node and a spot node');
    const leafKey = placementKey({ cores: 1, memory: GiB, disk: GiB, preemptable: true });
    t.same(
      agents.spotSwitch.at(-1),
      { on: true, waitFor: [leafKey], onDemand: [] },
      'the switch is on, and the preemptable request waits for spot though no spot agent is up',
    );

    // Both nodes register; the spot agent could hold the leaf now.
    t.equal(first.report.launched.length, 2, 'both launched on the local endpoint');
    for (const id of first.report.launched)
      agents.register(id, scaler.nodes.find((n) => n.id === id)?.capacityType === 'spot');
    await clock.advance(30_000);
    await scaler.tick();
    t.same(
      agents.spotSwitch.at(-1),
      { on: true, waitFor: [], onDemand: [] },
      'a spot agent up that could hold it: the switch alone keeps it on spot',
    );
  },
);
