import t from 'tap';
import { ManualClock } from '../../../src/common/clock.js';
import { createLogger } from '../../../src/common/log.js';
import type { LeaderConfig } from '../../../src/leader/leaderConfig.js';
import { createLeaderMetrics } from '../../../src/leader/metrics.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import { ProvisionerError } from '../../../src/provisioner/errors.js';
import {
  FakeAgents,
  MemoryTickStore,
  RecordingProvisioner,
  capturedLog,
  preemptableJobs,
  tickTestConfig,
} from '../../fixtures/leaderFakes.js';

/**
 * Launches the cloud refuses for good ('fatal': a limit, no permission, no cluster leader) are
 * surfaced once per distinct error, back off their offering (or every launch), and never turn
 * into a call per tick.
 */
const config = (): LeaderConfig => tickTestConfig({}, { fatalBackoff: '10m' });

function setup() {
  const clock = new ManualClock();
  const provisioner = new RecordingProvisioner(clock);
  const agents = new FakeAgents();
  const store = new MemoryTickStore();
  const metrics = createLeaderMetrics({ withProcessMetrics: false });
  const { destination, lines } = capturedLog();
  const cfg = config();
  const make = () =>
    new ClusterScaler({
      provisioner,
      cluster: agents,
      store,
      clock,
      log: createLogger({ level: 'debug', destination }),
      metrics,
      config: () => cfg,
    });
  return { clock, provisioner, agents, store, metrics, tick: make(), make, lines };
}

const errorLines = (lines: { level: number; msg: string }[], re: RegExp) =>
  lines.filter((l) => l.level >= 50 && re.test(l.msg));
const calls = (p: RecordingProvisioner, market: string) =>
  p.launchCalls.filter((c) => c.offering.market === market).length;

t.test(
  'a spot limit backs off that offering only: surfaced once, on-demand takes over, no call per tick',
  async (t) => {
    const s = setup();
    s.provisioner.failing.set(
      't2.medium/us-west-2a/spot',
      () => new ProvisionerError('LIMIT_EXCEEDED', 'EC2 RunInstances failed: MaxSpotInstanceCountExceeded'),
    );
    s.agents.queued = preemptableJobs(6);
    const first = (await s.tick.tick()).report;
    t.match(first.errors, [
      { code: 'LIMIT_EXCEEDED', disposition: 'fatal', offering: 't2.medium/us-west-2a/spot' },
    ]);
    t.equal(first.plans, 1, 'a fatal error does not re-plan in the same tick');
    const dry = await s.tick.dryRun();
    t.notOk(
      dry.launch.some((l) => l.capacityType === 'spot'),
      'the plan no longer uses the refused offering',
    );
    t.same(s.store.state!.unavailable, {}, 'the backoff is not persisted (a restart tries again)');
    // Twenty ticks (10 minutes at 30 s) with the queue still full.
    for (let i = 0; i < 19; i++) {
      await s.clock.advance(30_000);
      await s.tick.tick();
    }
    t.equal(
      calls(s.provisioner, 'spot'),
      1,
      'the refused offering was asked once in 10 minutes, not every tick',
    );
    t.ok(calls(s.provisioner, 'on-demand') >= 1, 'on-demand compensation launched instead');
    t.ok(
      s.provisioner.live().some((n) => n.market === 'on-demand'),
      'on-demand nodes run the preemptable work',
    );
    t.equal(errorLines(s.lines, /launch failed for good/).length, 1, 'logged at error level once');
    t.match(s.tick.fatalErrors, [{ code: 'LIMIT_EXCEEDED', scope: 't2.medium/us-west-2a/spot', count: 1 }]);

    // After the backoff the offering is tried again; the same error is counted, not logged again.
    await s.clock.advance(60_000);
    for (let i = 0; i < 3; i++) {
      await s.clock.advance(30_000);
      await s.tick.tick();
    }
    t.equal(calls(s.provisioner, 'spot'), 2, 'asked again once the backoff ended');
    t.equal(s.tick.fatalErrors.length, 1, 'one entry per distinct error');
    t.equal(s.tick.fatalErrors[0]!.count, 2, 'its count grows');
    t.equal(errorLines(s.lines, /launch failed for good/).length, 1, 'still logged once');
    const metric = await s.metrics.registry.getSingleMetricAsString('toil_provisioner_calls_total');
    t.match(metric, /operation="launch",result="LIMIT_EXCEEDED"} 2/);
  },
);

t.test(
  'no permission (or no cluster leader) pauses every launch: one call per backoff, not per tick',
  async (t) => {
    for (const code of ['NOT_AUTHORISED', 'CLUSTER_NOT_FOUND'] as const) {
      const s = setup();
      s.provisioner.failing.set('*', () => new ProvisionerError(code, `EC2 RunInstances failed: ${code}`));
      s.agents.queued = preemptableJobs(6);
      await s.tick.tick();
      t.equal(s.tick.launchesPausedUntil, s.clock.now() + 600_000, `${code}: launches paused`);
      for (let i = 0; i < 19; i++) {
        await s.clock.advance(30_000);
        await s.tick.tick();
      }
      t.equal(s.provisioner.launchCalls.length, 1, `${code}: one launch call in 10 minutes of ticks`);
      t.match(s.tick.fatalErrors, [{ code, scope: 'all', count: 1 }]);
      t.equal(errorLines(s.lines, /every launch paused/).length, 1, `${code}: logged once`);
      // Fixed by the operator: the next try after the pause succeeds and launching resumes.
      s.provisioner.failing.clear();
      await s.clock.advance(90_000);
      await s.tick.tick();
      t.equal(s.provisioner.launchCalls.length, 2, `${code}: tried again once the pause ended`);
      t.ok(s.provisioner.live().length > 0, `${code}: and nodes launched`);
    }
  },
);

t.test('tick reports say which plan of a tick failed and which launched', async (t) => {
  const s = setup();
  s.provisioner.refuse.add('t2.medium/us-west-2a/spot');
  s.agents.queued = preemptableJobs(6);
  const { report } = await s.tick.tick();
  t.equal(report.seq, 1);
  t.match(report.errors, [
    { plan: 1, code: 'NO_CAPACITY', disposition: 'unavailable', offering: 't2.medium/us-west-2a/spot' },
  ]);
  t.match(report.launches, [
    { plan: 2, offering: 't2.medium/us-west-2a/on-demand', capacityType: 'on-demand' },
  ]);
  t.ok(report.launches[0]!.got >= 1);
  t.same(
    s.tick.recentReports.map((r) => r.seq),
    [1],
    'kept in the recent history',
  );
  await s.clock.advance(30_000);
  const quiet = (await s.tick.tick()).report;
  t.equal(quiet.launches.length + quiet.errors.length, 0, 'a tick that changes nothing');
  t.same(
    s.tick.recentReports.map((r) => r.seq),
    [1],
    'is not kept in the history',
  );
});

t.test(
  'a restarted leader does not inherit a fatal backoff: the fixed cause is tried again at once',
  async (t) => {
    const s = setup();
    s.provisioner.failing.set(
      '*',
      () => new ProvisionerError('NOT_AUTHORISED', 'EC2 RunInstances failed: AuthFailure'),
    );
    s.agents.queued = preemptableJobs(4);
    await s.tick.tick();
    t.equal(s.provisioner.launchCalls.length, 1);
    // The operator fixes the permission and restarts the leader.
    s.provisioner.failing.clear();
    const restarted = s.make();
    await restarted.restore();
    await s.clock.advance(1000);
    await restarted.tick();
    t.equal(s.provisioner.launchCalls.length, 2, 'launched again by the restarted leader');
    t.ok(s.provisioner.live().length > 0, 'and nodes came up');
  },
);
