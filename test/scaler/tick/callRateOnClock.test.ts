import t from 'tap';
import { ManualClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/log.js';
import { ProvisionerCalls } from '../../../src/scaler/tick/calls.js';
import { TickSchema } from '../../../src/scaler/tick/config.js';

/** Starts `n` queued calls that resolve at once and records the clock time each one started. */
function startCalls(calls: ProvisionerCalls, clock: ManualClock, perSecond: number, n: number) {
  const tick = TickSchema.parse({ callsPerSecond: perSecond, concurrency: 4 });
  const startedAt: number[] = [];
  const done = Array.from({ length: n }, (_, i) =>
    calls.run(tick, `call${i}`, () => {
      startedAt.push(clock.now());
      return Promise.resolve(i);
    }),
  );
  return { startedAt, done: Promise.all(done) };
}

t.test('the calls-per-second cap spaces calls on the injected clock, not on real timers', async (t) => {
  const clock = new ManualClock();
  const t0 = clock.now();
  const calls = new ProvisionerCalls({ clock, log: silentLogger() });
  const { startedAt, done } = startCalls(calls, clock, 10, 25);

  await clock.advance(0);
  t.equal(startedAt.length, 10, 'the first second takes the cap, no more');
  await clock.advance(999);
  t.equal(startedAt.length, 10, 'a millisecond short of a second: still capped');
  await clock.advance(1);
  t.equal(startedAt.length, 20, 'the next second of clock time starts the next ten');
  await clock.advance(1000);
  t.equal(startedAt.length, 25, 'and the rest in the third');
  t.same(
    await done,
    Array.from({ length: 25 }, (_, i) => i),
    'every call returned its own result',
  );
  t.same(
    [...new Set(startedAt.map((at) => at - t0))],
    [0, 1000, 2000],
    'calls started only at whole seconds of the fake clock',
  );
});

t.test('hours of fake time pass without waiting on real time at the default cap', async (t) => {
  const clock = new ManualClock();
  const calls = new ProvisionerCalls({ clock, log: silentLogger() });
  const realStart = Date.now();
  let total = 0;
  // One burst of launches per fake minute for three fake hours, each above the cap of 10.
  for (let minute = 0; minute < 180; minute++) {
    const { startedAt, done } = startCalls(calls, clock, 10, 15);
    await clock.advance(1000);
    await done;
    total += startedAt.length;
    await clock.advance(59_000);
  }
  t.equal(total, 180 * 15, 'every call of every burst ran');
  t.ok(Date.now() - realStart < 20_000, 'no real second was waited per fake second');
});

t.test('a call waiting for the cap is aborted when the leader stops now', async (t) => {
  const clock = new ManualClock();
  const calls = new ProvisionerCalls({ clock, log: silentLogger() });
  const { startedAt, done } = startCalls(calls, clock, 1, 3);
  const settled = done.then(
    () => 'resolved',
    (e: Error) => e.message,
  );
  await clock.advance(0);
  t.equal(startedAt.length, 1, 'one call started in the first second');
  calls.abortAll();
  t.equal(await settled, 'the leader is stopping now', 'the waiting calls end with the stop');
  await clock.advance(5000);
  t.equal(startedAt.length, 1, 'and none of them starts later');
});
