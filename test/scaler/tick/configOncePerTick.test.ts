import t from 'tap';
import { ManualClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/log.js';
import type { LeaderConfig } from '../../../src/leader/leaderConfig.js';
import type { LaunchRequest, LaunchResult } from '../../../src/ports/provisioner.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import {
  FakeAgents,
  MemoryTickStore,
  RecordingProvisioner,
  preemptableJobs,
  tickTestConfig,
} from '../../fixtures/leaderFakes.js';

/** A cloud that runs a hook when a launch arrives: here, a config reload landing mid-tick. */
class HookedProvisioner extends RecordingProvisioner {
  onLaunch: (() => void) | undefined;
  override async launch(request: LaunchRequest): Promise<LaunchResult> {
    this.onLaunch?.();
    return super.launch(request);
  }
}

t.test("a config reload arriving mid-tick does not change that tick's decisions", async (t) => {
  const clock = new ManualClock();
  const provisioner = new HookedProvisioner(clock);
  provisioner.refuse.add('t2.medium/us-west-2a/spot');
  const cluster = new FakeAgents();
  cluster.queued = preemptableJobs(8);
  const store = new MemoryTickStore();
  const before = tickTestConfig(
    { preemptableCompensation: 1, scaleInterval: '30s' },
    { unavailableFor: '3m' },
  );
  // What the reload brings: no on-demand compensation, a longer unavailability, a slower loop.
  const after = tickTestConfig(
    { preemptableCompensation: 0, scaleInterval: '60s' },
    { unavailableFor: '10m' },
  );
  const holder: { cfg: LeaderConfig } = { cfg: before };
  provisioner.onLaunch = () => (holder.cfg = after);
  const scaler = new ClusterScaler({
    provisioner,
    cluster,
    store,
    clock,
    log: silentLogger(),
    config: () => holder.cfg,
  });

  const t0 = clock.now();
  const { report, requeueAfterMs } = await scaler.tick();
  t.equal(holder.cfg, after, 'the reload landed during the tick (at its first launch call)');
  t.equal(report.plans, 2, 'spot refused: planned again in the same tick');
  t.same(
    provisioner.launchCalls.map((c) => c.offering.market),
    ['spot', 'on-demand'],
    "the re-plan compensated with on-demand, as the tick's config (compensation 1) says",
  );
  t.ok(report.launches.some((l) => l.capacityType === 'on-demand' && l.got > 0));
  t.equal(
    store.state!.unavailable['t2.medium/us-west-2a/spot'],
    t0 + 180_000,
    "the refused offering is unavailable for the tick's 3m, not the reloaded 10m",
  );
  t.equal(requeueAfterMs, 30_000, "the next tick is due after the tick's own scaleInterval");

  // The next tick runs with the reloaded config.
  provisioner.onLaunch = undefined;
  await clock.advance(30_000);
  const next = await scaler.tick();
  t.equal(next.requeueAfterMs, 60_000, 'the reload is in force from the next tick');
});
