import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  ClusterStatsRecorder,
  clusterStatsPath,
  type ClusterStatsFile,
} from '../../src/leader/clusterStats.js';
import type { ObservedNode } from '../../src/scaler/tick/clusterView.js';
import { testDir } from '../fixtures/testDir.js';

const T0 = Date.parse('2026-05-01T10:00:00Z');
const MIN = 60_000;

const node = (id: string, o: Partial<ObservedNode> = {}): ObservedNode => ({
  id,
  instanceType: 'm5.large',
  zone: 'us-west-2a',
  capacityType: 'on-demand',
  state: 'registered',
  launchedAt: T0,
  pricePerHour: 0.096,
  priceSource: 'launched',
  tasks: 0,
  ...o,
});

const TYPES: Record<string, { cores: number; memoryBytes: number }> = {
  'm5.large': { cores: 2, memoryBytes: 8 * 2 ** 30 },
};

function recorder(dir: string): ClusterStatsRecorder {
  return new ClusterStatsRecorder({
    path: join(dir, 'c-stats000.json'),
    clusterName: 'c',
    startedAt: T0,
    typeOf: (name) => TYPES[name],
    billingMinimumSeconds: 60,
  });
}

t.test(
  "a node's life: terminated by a tick, gone from the listing, or released at the end; a static worker is never ended",
  async (t) => {
    const dir = testDir(t);
    const r = recorder(dir);
    const spot = node('i-spot', { capacityType: 'spot', pricePerHour: 0.04, priceSource: 'spot-market' });
    const staticWorker = node('i-static', { static: true, launchedAt: T0 - 60 * MIN });
    r.sample(
      T0 + MIN,
      [node('i-a', { used: { cores: 1.5, memoryBytes: 2 ** 30 } }), spot, staticWorker],
      [],
      {
        queued: 3,
        running: 2,
      },
    );
    // i-a scaled in by this tick (still listed), the spot node reclaimed (gone from the listing).
    r.sample(T0 + 2 * MIN, [node('i-a'), staticWorker, node('i-b', { launchedAt: T0 + 2 * MIN })], ['i-a'], {
      queued: 0,
      running: 1,
    });
    r.sample(T0 + 3 * MIN, [staticWorker, node('i-b', { launchedAt: T0 + 2 * MIN })], [], {
      queued: 0,
      running: 0,
    });
    r.write(T0 + 4 * MIN, 'succeeded', 0.5, true);
    const f = JSON.parse(readFileSync(join(dir, 'c-stats000.json'), 'utf8')) as ClusterStatsFile;
    const byId = Object.fromEntries(f.nodes.map((n) => [n.id, n]));
    t.equal(
      byId['i-a']?.terminatedAt,
      new Date(T0 + 2 * MIN).toISOString(),
      'terminated in the tick that did it',
    );
    t.equal(
      byId['i-spot']?.terminatedAt,
      new Date(T0 + 2 * MIN).toISOString(),
      'gone: the first tick missing it',
    );
    t.equal(
      byId['i-b']?.terminatedAt,
      new Date(T0 + 4 * MIN).toISOString(),
      'released at the end of the run',
    );
    t.equal(byId['i-static']?.terminatedAt, undefined, 'a static worker is not ended by the run');
    t.match(byId['i-spot'], { market: 'spot', pricePerHour: 0.04, cores: 2, memoryBytes: 8 * 2 ** 30 });
    t.equal(byId['i-a']?.costDollars, 0.0032, '2 minutes at $0.096/h');
    t.equal(byId['i-b']?.costDollars, 0.0032, 'a node up 2 minutes');
    t.equal(byId['i-static']?.costDollars, 0.0064, 'a static worker: only the 4 minutes of the run');
    t.match(f, { format: 1, clusterName: 'c', outcome: 'succeeded', costDollars: 0.5 });
    t.same(f.samples[0], {
      time: new Date(T0 + MIN).toISOString(),
      nodes: 3,
      nodesByType: { 'on-demand/m5.large': 2, 'spot/m5.large': 1 },
      cores: { used: 1.5, total: 6 },
      memoryBytes: { used: 2 ** 30, total: 24 * 2 ** 30 },
      jobs: { queued: 3, running: 2 },
      hourlyCostDollars: 0.232,
    });
    t.equal(f.samples.length, 3);
  },
);

t.test(
  'kept nodes (--keepNodes) and an unpriced, uncatalogued type: no end, null for the unknown',
  async (t) => {
    const dir = testDir(t);
    const r = recorder(dir);
    r.sample(
      T0 + MIN,
      [node('i-x', { instanceType: 'x9.huge', priceSource: 'unknown', pricePerHour: 0 })],
      [],
      {
        queued: 0,
        running: 0,
      },
    );
    r.write(T0 + 2 * MIN, 'failed', 0, false);
    const f = JSON.parse(readFileSync(join(dir, 'c-stats000.json'), 'utf8')) as ClusterStatsFile;
    t.match(f.nodes[0], { id: 'i-x', pricePerHour: null, costDollars: null, cores: null, memoryBytes: null });
    t.equal(f.nodes[0]?.terminatedAt, undefined);
    t.same(f.samples[0]?.cores, { used: 0, total: 0 }, 'an unknown type adds nothing it cannot know');
  },
);

t.test("the file's name: Toil's <clusterName>-stats<NNN>.json, the first number not taken", async (t) => {
  const dir = testDir(t);
  t.equal(clusterStatsPath(dir, 'c'), join(dir, 'c-stats000.json'));
  writeFileSync(join(dir, 'c-stats000.json'), '{}');
  writeFileSync(join(dir, 'c-stats001.json'), '{}');
  t.equal(clusterStatsPath(dir, 'c'), join(dir, 'c-stats002.json'), 'no earlier file overwritten');
  t.equal(clusterStatsPath(join(dir, 'mine.json'), 'c'), join(dir, 'mine.json'), 'a .json path is the file');
  t.throws(() => clusterStatsPath(join(dir, 'missing'), 'c'), {
    code: 'BAD_FLAG',
    message: /^--clusterStats .*missing: .*\(ENOENT\)/,
  });
  writeFileSync(join(dir, 'plain'), '');
  t.throws(() => clusterStatsPath(join(dir, 'plain'), 'c'), {
    code: 'BAD_FLAG',
    message: /not a directory/,
  });
});
