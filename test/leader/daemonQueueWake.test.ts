import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import {
  daemonTestConfig,
  fakeDaemonDeps,
  queueOnlyBatchSystem,
  settleDaemon,
  sortAttempt,
  startDaemonHoldingRuns,
} from '../fixtures/leaderFakes.js';

/**
 * A job issued by a submitted workflow wakes the scaler after `tick.queueDebounce`, not at the next
 * `scaleInterval`: on a ManualClock the first launch call comes exactly one debounce after the
 * issue, with the scale interval (10 minutes here) far from over. A burst of issues is one tick.
 */
const DEBOUNCE_MS = 700;
const SCALE_INTERVAL_MS = 600_000;

/** The daemon's fakes on a ManualClock: one on-demand type, the debounce and interval above. */
function fakes() {
  const clock = new ManualClock();
  const config = daemonTestConfig(
    { nodeTypes: ['t2.medium'], scaleInterval: `${SCALE_INTERVAL_MS / 1000}s` },
    { queueDebounce: `${DEBOUNCE_MS}ms` },
  );
  return { clock, deps: fakeDaemonDeps(clock, config) };
}

t.test(
  'a queued job wakes the scaler after tick.queueDebounce, without waiting for scaleInterval',
  async (t) => {
    const { clock, deps } = fakes();
    const { daemon, batchSystem: tracked } = await startDaemonHoldingRuns(t, deps, queueOnlyBatchSystem);
    const settle = settleDaemon;
    await settle();
    // The loop's first tick ran with nothing queued, and it now sleeps for scaleInterval.
    await clock.advance(60_000);
    await settle();
    t.equal(deps.provisioner.launchCalls.length, 0, 'nothing to launch while nothing is queued');

    daemon.submit({ workflowFile: 'wf.ts', jobStore: 'file:js', args: [] });
    await settle();
    const batchSystem = tracked();
    const issuedAt = clock.now();
    // A burst of three issues: one wake-up, one debounce after the first.
    for (let i = 1; i <= 3; i++) await batchSystem.issue(sortAttempt(`job-${i}`));
    await settle();

    await clock.advance(DEBOUNCE_MS - 1);
    await settle();
    t.equal(deps.provisioner.launchCalls.length, 0, 'no launch before the debounce has passed');
    await clock.advance(1);
    await settle();
    t.equal(deps.provisioner.launchCalls.length, 1, 'one launch call, made by the tick the queue woke');
    t.equal(
      clock.now() - issuedAt,
      DEBOUNCE_MS,
      `launched ${clock.now() - issuedAt} ms after the issue: the debounce, not the scale interval`,
    );
    t.ok(clock.now() - issuedAt < SCALE_INTERVAL_MS - 60_000, 'well before the next scheduled tick');
    t.match(deps.provisioner.launchCalls[0], {
      offering: { instanceType: 't2.medium', market: 'on-demand' },
      count: 1,
    });
  },
);

t.test(
  'a queue change while a tick runs: the next tick follows that one at once, not a scaleInterval later',
  async (t) => {
    const { clock, deps } = fakes();
    const list = deps.provisioner.listNodes.bind(deps.provisioner);
    let hold: Promise<void> | undefined;
    deps.provisioner.listNodes = async (options) => {
      await hold;
      return list(options);
    };
    const { daemon, batchSystem } = await startDaemonHoldingRuns(t, deps, queueOnlyBatchSystem);
    let ticks = 0;
    daemon.events.on('tick', () => ticks++);
    await settleDaemon();
    await clock.advance(60_000);
    daemon.submit({ workflowFile: 'wf.ts', jobStore: 'file:js', args: [] });
    await settleDaemon();

    // A tick starts (woken by an earlier change) and stays in its listing while the job is issued.
    let release: () => void = () => {};
    hold = new Promise((r) => (release = r));
    await batchSystem().issue(sortAttempt('job-early'));
    await clock.advance(DEBOUNCE_MS);
    const before = ticks;
    await batchSystem().issue(sortAttempt('job-during'));
    await clock.advance(DEBOUNCE_MS);
    t.equal(ticks, before, 'the tick is still running');
    hold = undefined;
    release();
    await settleDaemon();
    await clock.advance(0);
    await settleDaemon();
    t.equal(ticks, before + 2, 'the held tick ended and the next followed it, with no time passing');
    t.equal(
      daemon.scaler.jobs.queued,
      2,
      'the tick that followed saw the job issued while the held one ran (its reading had one)',
    );
  },
);
