import t from 'tap';
import { preemptableJobs, tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * A daemon left idle logs its plan once, not once per tick: `scaling plan` at info only when the
 * plan changes, `scaling plan unchanged` at debug otherwise.
 */
t.test('the scaling plan is logged at info only when it changes; an unchanged plan at debug', async (t) => {
  const { clock, cluster, lines, scaler } = tickHarness(
    tickTestConfig({ nodeTypes: [{ type: 't2.medium', spot: true }] }),
  );
  const planLines = () => lines.filter((l) => /^scaling plan/.test(String(l.msg)));

  // Ten idle ticks: one info line (the first plan), nine debug heartbeats.
  for (let i = 0; i < 10; i++) {
    await scaler.tick();
    await clock.advance(60_000);
  }
  t.same(
    planLines().map((l) => [l.level, l.msg]),
    [[30, 'scaling plan'], ...Array.from({ length: 9 }, () => [20, 'scaling plan unchanged'])],
    'idle: the plan at info once, then debug',
  );

  // Work arrives: the plan changes (a launch), so it is logged at info again.
  cluster.queued = preemptableJobs(2);
  await scaler.tick();
  const changed = planLines().at(-1)!;
  t.equal(changed.level, 30, 'a changed plan is logged at info');
  t.match(changed, { msg: 'scaling plan', launch: [/×t2\.medium\/spot\/us-west-2a$/] });
  t.equal(
    planLines().filter((l) => l.level === 30).length,
    2,
    'eleven ticks, two plans worth reading: two info lines',
  );
});
