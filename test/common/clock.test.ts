import t from 'tap';
import { ManualClock, RealClock } from '../../src/common/clock.js';

t.test('a manual clock wakes sleepers in time order and only when advanced past them', async (t) => {
  const clock = new ManualClock(1_000);
  const woke: string[] = [];
  void clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
  void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
  await clock.advance(50);
  t.same(woke, [], 'nothing wakes early');
  await clock.advance(300);
  t.same(woke, ['a@1100', 'b@1300'], 'each wakes at its own time, earliest first');
  t.equal(clock.now(), 1_350);
});

t.test('a loop on a manual clock runs one step per interval', async (t) => {
  const clock = new ManualClock(0);
  const ticks: number[] = [];
  const ac = new AbortController();
  const loop = (async () => {
    for (;;) {
      ticks.push(clock.now());
      await clock.sleep(60_000, ac.signal);
    }
  })().catch((e: unknown) => e);
  await clock.advance(3_600_000);
  t.equal(ticks.length, 61, 'an hour of 60 s ticks, plus the first');
  ac.abort();
  const err = await loop;
  t.equal((err as Error).name, 'AbortError', 'abort rejects the pending sleep');
  t.equal(clock.pendingSleepers, 0);
});

t.test('the wall clock sleeps past Node’s timer limit instead of waking at once', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const ac = new AbortController();
  let woke = false;
  const sleeping = new RealClock().sleep(30 * 24 * 3_600_000, ac.signal).then(
    () => (woke = true),
    (e: unknown) => e,
  );
  await new Promise((r) => setTimeout(r, 150));
  t.equal(woke, false, 'a 30-day sleep has not ended after 150 ms');
  ac.abort();
  t.equal(((await sleeping) as Error).name, 'AbortError', 'and an abort still ends it');
  t.same(warnings, [], 'no TimeoutOverflowWarning');
});

t.test('the wall clock chains timers for a sleep longer than one timer takes', async (t) => {
  const clock = new RealClock(20);
  const start = performance.now();
  await clock.sleep(90);
  t.ok(
    performance.now() - start >= 89,
    `slept the whole 90 ms in 20 ms pieces (${Math.round(performance.now() - start)} ms)`,
  );
});
