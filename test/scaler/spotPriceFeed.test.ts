import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { ToilError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import type { SpotPrice } from '../../src/ports/provisioner.js';
import { SpotPriceFeed, type SpotPriceSource } from '../../src/scaler/spotPriceFeed.js';

/** A market that answers what the test says, counting calls; `fail` makes the next calls throw. */
class ScriptedSource implements SpotPriceSource {
  calls: { types: readonly string[]; zones: readonly string[] }[] = [];
  price = 0.012;
  fail: Error | undefined;
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  async spotPrices(types: readonly string[], zones: readonly string[] = []): Promise<SpotPrice[]> {
    this.calls.push({ types, zones });
    if (this.fail) throw this.fail;
    return types.flatMap((instanceType) =>
      zones.map((zone, i) => ({
        instanceType,
        zone,
        price: Math.round((this.price + i / 1000) * 1e6) / 1e6,
        at: this.clock.now() - 60_000,
      })),
    );
  }
}

const MIN = 60_000;

function setup(refreshMs = 10 * MIN) {
  const clock = new ManualClock();
  const source = new ScriptedSource(clock);
  const feed = new SpotPriceFeed({ source, clock, log: silentLogger(), refreshMs: () => refreshMs });
  return { clock, source, feed };
}

t.test('reads at start, then once per refresh period, and every price carries its age', async (t) => {
  const { clock, source, feed } = setup();
  await feed.refreshIfDue(['t2.medium'], ['us-west-2a', 'us-west-2b']);
  t.equal(source.calls.length, 1, 'read at start');
  t.same(source.calls[0], { types: ['t2.medium'], zones: ['us-west-2a', 'us-west-2b'] });
  t.same(
    feed.offerings(),
    [
      { instanceType: 't2.medium', zone: 'us-west-2a', capacityType: 'spot', pricePerHour: 0.012 },
      { instanceType: 't2.medium', zone: 'us-west-2b', capacityType: 'spot', pricePerHour: 0.013 },
    ],
    'every pair priced for the snapshot',
  );
  for (let i = 0; i < 9; i++) {
    await clock.advance(MIN);
    await feed.refreshIfDue(['t2.medium'], ['us-west-2a', 'us-west-2b']);
  }
  t.equal(source.calls.length, 1, 'not read again within 10 minutes (9 ticks)');
  const aged = feed.view()[0]!;
  t.equal(aged.ageSeconds, 540, 'age: 9 minutes');
  t.equal(aged.stale, false);
  t.equal(aged.source, 'observed');
  t.equal(aged.since, clock.now() - 9 * MIN - MIN, 'when the price took effect on the market');
  source.price = 0.02;
  await clock.advance(MIN);
  await feed.refreshIfDue(['t2.medium'], ['us-west-2a', 'us-west-2b']);
  t.equal(source.calls.length, 2, 'read again at 10 minutes');
  t.equal(feed.view()[0]!.price, 0.02, 'the new price');
  t.equal(feed.view()[0]!.ageSeconds, 0);
  t.equal(feed.status().lastRefreshAt, clock.now());
});

t.test(
  'a failed refresh keeps the last prices, says so, marks them stale, and retries within a minute',
  async (t) => {
    const { clock, source, feed } = setup();
    await feed.refreshIfDue(['c5.large'], ['us-west-2a']);
    const firstAt = clock.now();
    await clock.advance(10 * MIN);
    source.fail = new ToilError('THROTTLED', 'EC2 DescribeSpotPriceHistory: Rate exceeded', {
      disposition: 'retry',
    });
    source.price = 0.5;
    await feed.refreshIfDue(['c5.large'], ['us-west-2a']);
    t.equal(source.calls.length, 2);
    t.same(
      feed.offerings().map((o) => o.pricePerHour),
      [0.012],
      'the last price is kept',
    );
    t.match(feed.status(), {
      lastRefreshAt: firstAt,
      lastError: { code: 'THROTTLED', message: /Rate exceeded/, at: clock.now() },
    });
    t.match(feed.view()[0], { stale: true, ageSeconds: 600 }, 'stale, and its age says how old');
    t.equal(feed.failures, 1);

    await clock.advance(30_000);
    await feed.refreshIfDue(['c5.large'], ['us-west-2a']);
    t.equal(source.calls.length, 2, 'not retried after 30 s');
    await clock.advance(30_000);
    await feed.refreshIfDue(['c5.large'], ['us-west-2a']);
    t.equal(source.calls.length, 3, 'retried after a minute');
    t.equal(feed.view()[0]!.ageSeconds, 660, 'still failing: older still');
    source.fail = undefined;
    await clock.advance(MIN);
    await feed.refreshIfDue(['c5.large'], ['us-west-2a']);
    t.match(feed.view()[0], { price: 0.5, stale: false, ageSeconds: 0 });
    t.equal(feed.status().lastError, undefined, 'the error is cleared');
  },
);

t.test(
  'a changed set of types or zones is read at once; pairs no longer asked for are dropped',
  async (t) => {
    const { clock, source, feed } = setup();
    await feed.refreshIfDue(['t2.medium'], ['us-west-2a']);
    await clock.advance(MIN);
    await feed.refreshIfDue(['c5.large'], ['us-west-2a']);
    t.equal(source.calls.length, 2);
    t.same(
      feed.view().map((p) => `${p.instanceType}/${p.zone}`),
      ['c5.large/us-west-2a'],
    );
    await feed.refreshIfDue([], ['us-west-2a']);
    t.equal(source.calls.length, 2, 'no spot type: nothing to read');
    t.same(feed.offerings(), [], 'and nothing priced');
  },
);
