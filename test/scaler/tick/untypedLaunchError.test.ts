import t from 'tap';
import { preemptableJobs, tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * A launch that fails with an error of no known kind (a RangeError from a bug before anything was
 * sent) is not "may have launched": it surfaces once, like any fatal error, and is not re-sent
 * every tick.
 */
t.test('a launch failing with an untyped error surfaces once and is not retried forever', async (t) => {
  const { clock, provisioner, cluster, store, lines, scaler } = tickHarness(
    tickTestConfig({ nodeTypes: [{ type: 't2.medium', spot: true }] }, { fatalBackoff: '10m' }),
  );
  provisioner.failing.set('*', () => new RangeError('Invalid array length'));
  cluster.queued = preemptableJobs(4);

  const first = (await scaler.tick()).report;
  t.match(first.errors, [{ code: 'UNTYPED_ERROR', disposition: 'fatal', message: 'Invalid array length' }]);
  t.same(store.state!.pendingLaunches, [], 'the intent is dropped: nothing was sent, nothing to re-send');
  // Twenty ticks over the next nine and a half minutes: no launch call, no pending intent.
  for (let i = 0; i < 19; i++) {
    await clock.advance(30_000);
    const { report } = await scaler.tick();
    t.same(report.errors, [], `tick ${i + 2}: no error, nothing re-sent`);
  }
  t.equal(provisioner.launchCalls.length, 1, 'one launch call in 20 ticks, not one per tick');
  t.same(store.state!.pendingLaunches, []);
  t.match(scaler.fatalErrors, [{ code: 'UNTYPED_ERROR', count: 1, scope: 't2.medium/us-west-2a/spot' }]);
  const errorLogs = lines.filter((l) => l.level >= 50);
  t.equal(errorLogs.length, 1, 'logged at error level once');
  t.match(errorLogs[0], { code: 'UNTYPED_ERROR', err: { type: 'RangeError' } }, 'with its stack');

  // After the backoff, the offering is tried again once (a restart or a fixed bug would succeed).
  await clock.advance(60_000);
  await scaler.tick();
  t.equal(provisioner.launchCalls.length, 2, 'tried again after the backoff, once');
  t.match(scaler.fatalErrors, [{ code: 'UNTYPED_ERROR', count: 2 }]);
  t.equal(lines.filter((l) => l.level >= 50).length, 1, 'the same error is counted, not logged again');
});
