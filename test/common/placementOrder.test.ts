import t from 'tap';
import { placementOrder, type PlacementShape } from '../../src/common/placementOrder.js';

interface Job extends PlacementShape {
  readonly id: string;
}

const GiB = 2 ** 30;
const job = (id: string, cores: number, memGiB: number, preemptable = false): Job => ({
  id,
  cores,
  memory: memGiB * GiB,
  preemptable,
});

t.test('placement order: largest first, on-demand-bound jobs before spot-bound ones', async (t) => {
  // A spot agent of 8 cores and 32 GiB exists in every row.
  const spotHolds = (j: Job): boolean => j.cores <= 8 && j.memory <= 32 * GiB;
  const rows: { name: string; queue: Job[]; onDemandFirst: string[]; spotFirst: string[] }[] = [
    {
      name: 'a big job queued after small ones is placed before them (the node launched for it is not filled first)',
      queue: [job('s1', 1, 2), job('s2', 2, 4), job('big', 32, 160)],
      onDemandFirst: ['big', 's2', 's1'],
      spotFirst: [],
    },
    {
      name: 'memory decides before cores',
      queue: [job('cpu', 16, 8), job('mem', 4, 60)],
      onDemandFirst: ['mem', 'cpu'],
      spotFirst: [],
    },
    {
      name: 'equal shapes keep their queue order',
      queue: [job('a', 2, 4), job('b', 2, 4), job('c', 2, 4)],
      onDemandFirst: ['a', 'b', 'c'],
      spotFirst: [],
    },
    {
      name: 'a preemptable job no spot agent could hold takes its turn with the non-preemptable jobs',
      queue: [job('np', 2, 4), job('p-small', 2, 4, true), job('p-big', 16, 120, true)],
      onDemandFirst: ['p-big', 'np'],
      spotFirst: ['p-small'],
    },
    {
      name: 'preemptable jobs spot can hold wait for spot room, largest first',
      queue: [job('p1', 1, 1, true), job('p2', 4, 16, true), job('np', 1, 1)],
      onDemandFirst: ['np'],
      spotFirst: ['p2', 'p1'],
    },
  ];
  for (const row of rows) {
    const got = placementOrder(row.queue, (j) => j, spotHolds);
    t.same(
      { onDemandFirst: got.onDemandFirst.map((j) => j.id), spotFirst: got.spotFirst.map((j) => j.id) },
      { onDemandFirst: row.onDemandFirst, spotFirst: row.spotFirst },
      row.name,
    );
  }
  t.same(row0Unchanged(), ['s1', 's2', 'big'], 'the queue itself is not reordered');
});

function row0Unchanged(): string[] {
  const queue = [job('s1', 1, 2), job('s2', 2, 4), job('big', 32, 160)];
  placementOrder(
    queue,
    (j) => j,
    () => false,
  );
  return queue.map((j) => j.id);
}
