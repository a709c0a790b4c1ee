import t from 'tap';
import { sortNames } from '../../src/cli/stats.js';
import type { JobNameStats } from '../../src/leader/workflowStats.js';

const spread = (x: number) => ({ min: x, median: x, mean: x, max: x, total: x });
// A job that waits (much wall time, little CPU) and one that computes (the other way round).
const rows: JobNameStats[] = [
  { name: 'waits', count: 1, clock: spread(10), time: spread(0.1), memory: spread(2 ** 20) },
  { name: 'computes', count: 1, clock: spread(2), time: spread(1.9), memory: spread(2 ** 21) },
];
const order = (by: Parameters<typeof sortNames>[1]) =>
  sortNames(rows, by, undefined, false).map((r) => r.name);

t.test(
  "toil stats --sortCategory time orders by wall time (Toil's Real Time), clock by CPU time",
  async (t) => {
    t.same(order('time'), ['waits', 'computes'], 'time: the longest wall time first');
    t.same(order('clock'), ['computes', 'waits'], 'clock: the most CPU time first');
    t.same(order('memory'), ['computes', 'waits'], 'memory: the biggest peak first');
  },
);
