import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { leaderStateStores } from '../../src/main/leaderState.js';
import { fakeDaemonDeps, tickTestConfig } from '../fixtures/leaderFakes.js';
import { waitFor } from '../fixtures/waitFor.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The status page's plots survive a restart: the history is kept beside the leader's other state
 * (a file store here, as `jobStore: file:` configures), written at most once a minute and at stop,
 * and a new leader on the same state goes on from it.
 */
async function daemonOn(root: string, clock: ManualClock): Promise<LeaderDaemon> {
  const objects = new FileObjectStore(root);
  if (!(await objects.exists())) await objects.create();
  const { historyStore } = leaderStateStores(objects);
  const config = tickTestConfig({ minNodes: 1 });
  return new LeaderDaemon({
    ...fakeDaemonDeps(clock, { ...config, http: { ...config.http, port: 0 } }),
    historyStore,
    newBatchSystem: () => {
      throw new Error('no workflow in this test');
    },
    runWorkflow: () => Promise.reject(new Error('no workflow in this test')),
  });
}

const TICK_MS = 30_000; // tickTestConfig's scaleInterval

t.test('a stopped leader’s plot history is where the next one starts', async (t) => {
  const root = testDir(t, {});
  const clock = new ManualClock();
  const first = await daemonOn(root, clock);
  await first.start();
  for (let i = 0; i < 4; i++) await clock.advance(TICK_MS);
  const before = first.history.samples();
  t.ok(before.length >= 4, `${before.length} samples before the stop`);
  t.ok(
    before.some((s) => Object.values(s.nodes).some((n) => n > 0)),
    'they show the node minNodes keeps',
  );
  await first.stop();

  const second = await daemonOn(root, clock);
  await second.start();
  // Stopped inside the test: tap removes the test's directory before teardowns run, and a leader
  // still writing its history there would make that removal fail (ENOTEMPTY).
  try {
    t.same(second.history.samples().slice(0, before.length), before, 'the old samples, oldest first');
    await clock.advance(TICK_MS);
    const after = second.history.samples();
    t.ok(after.length > before.length, 'and new ones after them');
    t.ok(after.at(-1)!.at > before.at(-1)!.at, 'in time order');
  } finally {
    await second.stop();
  }
});

t.test('a leader killed without a stop loses at most the last minute of it', async (t) => {
  const root = testDir(t, {});
  const clock = new ManualClock();
  const crashed = await daemonOn(root, clock);
  await crashed.start();
  // Five minutes of ticks, then no stop(): as a kill -9 leaves the store.
  for (let i = 0; i < 10; i++) await clock.advance(TICK_MS);
  const seen = crashed.history.samples();
  // The last write may still be on its way to the disk, as it may be at a kill.
  const { historyStore } = leaderStateStores(new FileObjectStore(root));
  await waitFor(
    'a sample at most a minute older than the newest in the store',
    async () => ((await historyStore.load()).at(-1)?.at ?? 0) >= seen.at(-1)!.at - 60_000,
  );
  const next = await daemonOn(root, clock);
  await next.start();
  try {
    const kept = next.history.samples().filter((s) => s.at <= seen.at(-1)!.at);
    t.ok(kept.length > 0, 'samples from before the crash');
    t.same(kept, seen.slice(0, kept.length), 'the same samples');
    t.ok(
      seen.at(-1)!.at - kept.at(-1)!.at <= 60_000,
      `the newest kept is ${(seen.at(-1)!.at - kept.at(-1)!.at) / 1000} s older than the newest seen`,
    );
  } finally {
    // Inside the test, as above; the abandoned leader too, so no server of it outlives the file.
    await next.stop();
    await crashed.stop();
  }
});

t.test(
  '/status/history?since= gives the samples from that time; a time that does not parse is a 400',
  async (t) => {
    const root = testDir(t, {});
    const clock = new ManualClock();
    const leader = await daemonOn(root, clock);
    const url = await leader.start();
    try {
      for (let i = 0; i < 4; i++) await clock.advance(TICK_MS);
      const all = (await (await fetch(`${url}/status/history`)).json()) as { at: string }[];
      t.ok(all.length >= 4, `${all.length} samples`);
      const since = all[2]!.at;
      const newer = (await (await fetch(`${url}/status/history?since=${since}`)).json()) as { at: string }[];
      t.same(
        newer.map((s) => s.at),
        all.slice(2).map((s) => s.at),
        'the samples at and after it',
      );
      for (const bad of ['abc', 'yesterday', '']) {
        const r = await fetch(`${url}/status/history?since=${bad}`);
        t.equal(r.status, 400, `since=${bad}`);
        t.same(await r.json(), {
          error: `since ${bad}: expected an ISO 8601 time (e.g. 2026-05-01T10:00:00Z), the samples at and after it`,
        });
      }
    } finally {
      await leader.stop();
    }
  },
);

t.test('/status/history gives $/h as /status does, to the hundredth of a cent', async (t) => {
  const root = testDir(t, {});
  const clock = new ManualClock();
  const leader = await daemonOn(root, clock);
  const url = await leader.start();
  try {
    for (let i = 0; i < 3; i++) await clock.advance(TICK_MS);
    const status = (await (await fetch(`${url}/status`)).json()) as { hourlyCostDollars: number };
    const samples = (await (await fetch(`${url}/status/history`)).json()) as { hourlyCost: number }[];
    t.not(
      status.hourlyCostDollars,
      Math.round(status.hourlyCostDollars * 100) / 100,
      `the node minNodes keeps costs $${status.hourlyCostDollars}/h, not a whole number of cents`,
    );
    // Rounded to cents, the page plotted $0.05/h for a $0.0464/h node, and $0.00/h for a $0.0031/h spot one.
    t.equal(samples.at(-1)?.hourlyCost, status.hourlyCostDollars, 'the newest sample plots that $/h');
  } finally {
    await leader.stop();
  }
});
