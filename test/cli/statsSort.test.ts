import t from 'tap';
import { sortNames } from '../../src/cli/stats.js';
import type { JobNameStats } from '../../src/leader/workflowStats.js';

const spread = (x: number) => ({ min: x, median: x, mean: x, max: x, total: x });
// A job that waits (much wall time, little CPU) and one that computes (the other way round).
const rows: JobNameStats[] = [
  { name: 'waits', count: 1, time: spread(10), clock: spread(0.1), memory: spread(2 ** 20) },
  { name: 'computes', count: 1, time: spread(2), clock: spread(1.9), memory: spread(2 ** 21) },
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

t.test("toil stats orders by the median unless --sortField says otherwise, as Toil's", async (t) => {
  // Many short runs (the most wall time in all) beside one long run (the longest each).
  const many: JobNameStats = {
    name: 'many',
    count: 100,
    time: { min: 0.1, median: 0.1, mean: 0.1, max: 0.1, total: 10 },
    clock: spread(1),
    memory: { min: 1, median: 1, mean: 3, max: 9, total: 300 },
  };
  const once: JobNameStats = { name: 'once', count: 1, time: spread(5), clock: spread(1), memory: spread(5) };
  const names = (field?: Parameters<typeof sortNames>[2], by: Parameters<typeof sortNames>[1] = 'time') =>
    sortNames([many, once], by, field, false).map((r) => r.name);
  t.same(names(), ['once', 'many'], 'the default: the longest median wall time first');
  t.same(names(undefined, 'memory'), ['once', 'many'], 'memory too: the biggest median peak first');
  t.same(names('total'), ['many', 'once'], '--sortField total: the most wall time in all first');
  t.same(names('max', 'memory'), ['many', 'once'], '--sortField max: the biggest peak first');
});
