import t from 'tap';
import { ManualClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/log.js';
import type { LeaderConfig } from '../../../src/leader/leaderConfig.js';
import { createLeaderMetrics } from '../../../src/leader/metrics.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import { ProvisionerError } from '../../../src/provisioner/errors.js';
import {
  FakeAgents,
  MemoryTickStore,
  RecordingProvisioner,
  preemptableJobs,
  tickTestConfig,
} from '../../fixtures/leaderFakes.js';

const config = tickTestConfig;

function setup(cfg: LeaderConfig = config()) {
  const clock = new ManualClock();
  const provisioner = new RecordingProvisioner(clock);
  const agents = new FakeAgents();
  const store = new MemoryTickStore();
  const metrics = createLeaderMetrics({ withProcessMetrics: false });
  const holder = { cfg };
  const make = () =>
    new ClusterScaler({
      provisioner,
      cluster: agents,
      store,
      clock,
      log: silentLogger(),
      metrics,
      config: () => holder.cfg,
    });
  return { clock, provisioner, agents, store, metrics, holder, tick: make(), make };
}

const spot = (p: RecordingProvisioner) => p.live().filter((n) => n.market === 'spot').length;
const onDemand = (p: RecordingProvisioner) => p.live().filter((n) => n.market === 'on-demand').length;

t.test('queued preemptable jobs launch spot nodes, within maxPreemptableNodes', async (t) => {
  const s = setup();
  s.agents.queued = preemptableJobs(8);
  const { report } = await s.tick.tick();
  t.equal(report.plans, 1);
  t.ok(spot(s.provisioner) > 0 && spot(s.provisioner) <= 4, `spot nodes: ${spot(s.provisioner)}`);
  t.equal(onDemand(s.provisioner), 0, 'no on-demand while spot is available');
  t.same(
    Object.keys(s.store.state!.owned).sort(),
    s.provisioner
      .live()
      .map((n) => n.instanceId)
      .sort(),
    'launches are persisted as owned',
  );
  t.same(s.store.state!.pendingLaunches, [], 'answered launches leave no pending record');
});

t.test(
  'spot refused for the offering → marked unavailable and on-demand compensation in the same tick',
  async (t) => {
    const s = setup();
    s.provisioner.refuse.add('t2.medium/us-west-2a/spot');
    s.agents.queued = preemptableJobs(8);
    const { report } = await s.tick.tick();
    t.equal(report.plans, 2, 'planned again in the same tick');
    t.equal(spot(s.provisioner), 0);
    t.ok(onDemand(s.provisioner) > 0, `on-demand compensation: ${onDemand(s.provisioner)} node(s)`);
    t.ok(onDemand(s.provisioner) <= 4, 'within maxNodes');
    t.match(report.errors, [{ code: 'NO_CAPACITY' }]);
    const until = s.store.state!.unavailable['t2.medium/us-west-2a/spot'];
    t.equal(until, s.clock.now() + 180_000, 'unavailable for tick.unavailableFor, persisted');
    t.same(
      s.provisioner.launchCalls.map((c) => c.offering.market),
      ['spot', 'on-demand'],
      'one refused spot call, then on-demand',
    );
  },
);

t.test(
  "'retry' errors back off on the clock and reuse the client token; 'fatal' surfaces without looping",
  async (t) => {
    const s = setup();
    s.agents.queued = preemptableJobs(2);
    s.provisioner.nextErrors = [
      new ProvisionerError('THROTTLED', 'slow down'),
      new ProvisionerError('THROTTLED', 'slow down'),
    ];
    const run = s.tick.tick();
    await s.clock.advance(500);
    await s.clock.advance(1000);
    const { report } = await run;
    const tokens = new Set(s.provisioner.launchCalls.map((c) => c.clientToken));
    t.equal(s.provisioner.launchCalls.length, 3, 'two throttled attempts, then success');
    t.equal(tokens.size, 1, 'every attempt used the same client token');
    t.same(report.errors, []);

    const f = setup();
    f.agents.queued = preemptableJobs(2);
    f.provisioner.nextErrors = [new ProvisionerError('LIMIT_EXCEEDED', 'vCPU limit')];
    const r2 = (await f.tick.tick()).report;
    t.equal(f.provisioner.launchCalls.length, 1, 'a fatal error is not retried');
    t.match(r2.errors, [{ code: 'LIMIT_EXCEEDED', message: 'vCPU limit' }]);
    t.equal(r2.plans, 1, 'and does not re-plan');
    const calls = await f.metrics.registry.getSingleMetricAsString('toil_provisioner_calls_total');
    t.match(calls, /operation="launch",result="LIMIT_EXCEEDED"} 1/);
  },
);

t.test(
  'scale-down drains before it terminates, never terminates a node with a task, ends at minNodes',
  async (t) => {
    const s = setup(config({ minNodes: [0, 0] }));
    s.agents.queued = preemptableJobs(3);
    await s.tick.tick();
    const ids = s.provisioner.live().map((n) => n.instanceId);
    t.ok(ids.length >= 1);
    for (const id of ids) s.agents.register(id, true);
    // Jobs start: the queue empties onto the nodes.
    const placedOn = ids[0]!;
    s.agents.queued = [];
    t.ok(s.agents.place('j0', placedOn, s.clock.now()));
    const timeline: number[] = [];
    let terminatedBusy = false;
    // The first retiring node's cluster manager refuses its removal once: it is not terminated then.
    const refused = `agent-${ids.at(-1)!}`;
    s.agents.refuseRemoval.add(refused);
    const removedWhileLive: string[] = [];
    s.agents.onRemove = (a) => {
      if (s.provisioner.nodes.has(a.replace(/^agent-/, ''))) removedWhileLive.push(a);
    };
    let refusedNodeOutlived = false;
    for (let step = 0; step < 20 && s.provisioner.live().length > 0; step++) {
      if (s.agents.refuseRemoval.size > 0 && s.agents.marks.has(refused)) {
        await s.clock.advance(30_000);
        await s.tick.tick();
        refusedNodeOutlived = s.provisioner.nodes.has(ids.at(-1)!);
        s.agents.refuseRemoval.clear();
      }
      await s.clock.advance(30_000);
      await s.tick.tick();
      timeline.push(s.provisioner.live().length);
      if (!s.provisioner.nodes.has(placedOn) && s.agents.running.length > 0) terminatedBusy = true;
      if (step === 6) s.agents.finish('j0');
    }
    t.notOk(terminatedBusy, 'the busy node outlived its task');
    t.equal(s.provisioner.live().length, 0, `all nodes retired; node count by tick: ${timeline.join(' ')}`);
    // Every terminated node was marked before termination.
    for (const call of s.provisioner.terminateCalls)
      for (const id of call)
        t.ok(s.agents.calls.includes(`mark agent-${id}`), `${id} marked before terminate`);
    t.notOk(s.agents.place('late', placedOn, s.clock.now()), 'a marked agent takes no new task');
    // Each agent was removed from the cluster manager while its instance still ran (Slurm: the
    // node deleted from slurmctld before its instance terminates); a refused removal kept it.
    t.same(
      [...removedWhileLive].sort(),
      s.provisioner.terminateCalls
        .flat()
        .map((id) => `agent-${id}`)
        .sort(),
      'every terminated node was removed from the cluster manager first',
    );
    t.ok(refusedNodeOutlived, 'a node whose removal was refused was not terminated in that tick');
    t.same(s.store.state!.owned, {}, 'terminated nodes are no longer owned (nothing left to release)');
    t.ok(
      s.store.state!.costDollars > 0,
      `the run's cost is accounted: $${s.store.state!.costDollars.toFixed(4)}`,
    );
  },
);

t.test(
  "the run's cost bills each node the billing minimum (60 s), as the policy prices a node, then per second",
  async (t) => {
    const billed = async (upForMs: number) => {
      const s = setup();
      s.agents.queued = preemptableJobs(2);
      await s.tick.tick();
      const perHour = Object.values(s.store.state!.owned).reduce((sum, o) => sum + o.pricePerHour, 0);
      t.ok(perHour > 0, 'nodes were launched');
      await s.clock.advance(upForMs);
      await s.tick.tick();
      await s.tick.releaseOwned();
      return { cost: s.tick.persisted.costDollars, perHour };
    };
    const short = await billed(5_000);
    t.ok(
      Math.abs(short.cost - (short.perHour * 60) / 3600) < 1e-12,
      `nodes up for 5 s cost their 60 s minimum: $${short.cost} (at $${short.perHour}/h)`,
    );
    const long = await billed(90_000);
    t.ok(
      Math.abs(long.cost - (long.perHour * 90) / 3600) < 1e-12,
      `nodes up for 90 s cost 90 s: $${long.cost} (at $${long.perHour}/h)`,
    );
  },
);

t.test("a restarted leader's cost so far counts its adopted nodes' time while no leader ran", async (t) => {
  const s = setup();
  s.agents.queued = preemptableJobs(2);
  await s.tick.tick();
  const perHour = Object.values(s.store.state!.owned).reduce((sum, o) => sum + o.pricePerHour, 0);
  t.ok(perHour > 0, 'nodes were launched');
  for (const id of Object.keys(s.store.state!.owned)) s.agents.register(id, true);
  await s.clock.advance(90_000);
  await s.tick.tick();
  // Killed here: the nodes bill on for 5 min before the next leader restores the state.
  await s.clock.advance(300_000);
  const next = s.make();
  const { adopted } = await next.restore();
  t.equal(adopted.length, Object.keys(s.store.state!.owned).length, 'the next leader adopted every node');
  await s.clock.advance(10_000);
  await next.tick();
  t.same(
    s.provisioner.live().map((n) => n.instanceId),
    adopted,
    'the same nodes run: none ended, none launched',
  );
  const upSeconds = 90 + 300 + 10;
  t.ok(
    Math.abs(next.persisted.costDollars - (perHour * upSeconds) / 3600) < 1e-12,
    `nodes up for ${upSeconds} s cost ${upSeconds} s: $${next.persisted.costDollars} (at $${perHour}/h)`,
  );
});

t.test('a maxNodes change is in effect at the next tick', async (t) => {
  const s = setup(config({ maxNodes: 1, maxPreemptableNodes: 1 }));
  s.agents.queued = preemptableJobs(12);
  await s.tick.tick();
  t.equal(s.provisioner.live().length, 1, 'held at maxNodes 1');
  s.holder.cfg = config({ maxNodes: 3, maxPreemptableNodes: 3 });
  await s.clock.advance(30_000);
  await s.tick.tick();
  t.equal(s.provisioner.live().length, 3, 'raised to 3 within one tick');
});

t.test('a lost launch reply is re-sent with its token next tick: adopted, not launched twice', async (t) => {
  // One try per call, so the reply is still missing when the tick ends.
  const s = setup(config({}, { maxAttempts: 1 }));
  s.agents.queued = preemptableJobs(4);
  s.provisioner.loseNextResponse = true;
  await s.tick.tick();
  const launched = s.provisioner.live().map((n) => n.instanceId);
  t.ok(launched.length > 0, 'the cloud launched them');
  t.equal(s.store.state!.pendingLaunches.length, 1, 'the unanswered intent is kept');
  await s.clock.advance(30_000);
  const { report } = await s.tick.tick();
  t.same([...report.launched].sort(), [...launched].sort(), 'adopted by re-sending the token');
  t.equal(s.provisioner.live().length, launched.length, 'nothing launched twice');
  t.same(Object.keys(s.store.state!.owned).sort(), [...launched].sort());
});

t.test('a restarted tick adopts what its predecessor launched: no duplicate, no orphan', async (t) => {
  const s = setup();
  s.agents.queued = preemptableJobs(4);
  await s.tick.tick();
  const before = s.provisioner.live().map((n) => n.instanceId);
  // The leader was killed after writing the intent of one more launch, before the reply.
  const first = s.provisioner.launchCalls[0]!;
  s.store.state = {
    ...s.store.state!,
    pendingLaunches: [
      {
        clientToken: first.clientToken,
        instanceType: first.offering.instanceType,
        zone: first.offering.zone,
        capacityType: first.offering.market,
        count: first.count,
        requestedAt: s.clock.now(),
      },
    ],
  };
  const gone = 'i-deadbeef';
  s.store.state = {
    ...s.store.state,
    owned: { ...s.store.state.owned, [gone]: { launchedAt: 0, pricePerHour: 1 } },
  };
  const restarted = s.make();
  const { adopted, forgotten } = await restarted.restore();
  t.same([...adopted].sort(), [...before].sort(), 'every live instance adopted');
  t.same(forgotten, [gone], 'an owned id the cloud no longer has is forgotten');
  t.equal(s.provisioner.live().length, before.length, 'nothing launched twice');
  for (const id of before) s.agents.register(id, true);
  await s.clock.advance(30_000);
  await restarted.tick();
  t.equal(s.provisioner.live().length, before.length, 'the next tick counts them instead of launching more');
  const plan = await restarted.dryRun();
  t.equal(plan.launch.length, 0, 'the dry run wants nothing more');
  t.equal(Object.keys(restarted.persisted.owned).length, before.length, 'adopted as owned, not static');
});

t.test('SIGTERM semantics: after stopLaunching a tick launches nothing but still retires', async (t) => {
  const s = setup();
  s.tick.stopLaunching();
  s.agents.queued = preemptableJobs(5);
  await s.tick.tick();
  t.equal(s.provisioner.launchCalls.length, 0);
});

t.test('a spot node of ours that vanishes is counted as a spot interruption, once', async (t) => {
  const s = setup();
  s.agents.queued = preemptableJobs(4);
  await s.tick.tick();
  const spotNodes = s.provisioner.live().filter((n) => n.market === 'spot');
  t.ok(spotNodes.length >= 1, `${spotNodes.length} spot node(s) launched`);
  const reclaimed = spotNodes[0]!;
  // The cloud reclaims it (we never asked): it leaves the list of running instances.
  s.provisioner.nodes.set(reclaimed.instanceId, { ...reclaimed, state: 'terminated' });
  await s.clock.advance(30_000);
  await s.tick.tick();
  await s.clock.advance(30_000);
  await s.tick.tick();
  const metric = (await s.metrics.registry.getSingleMetric('toil_spot_interruptions_total')!.get()).values[0];
  t.equal(metric?.value, 1, 'toil_spot_interruptions_total is 1');
  t.equal(s.store.state!.spotInterruptions, 1, 'persisted count');
  t.notOk(reclaimed.instanceId in s.store.state!.owned, 'no longer owned');
});

t.test('nodes we terminate ourselves are not spot interruptions', async (t) => {
  const s = setup();
  s.agents.queued = preemptableJobs(2);
  await s.tick.tick();
  for (const n of s.provisioner.live()) s.agents.register(n.instanceId, n.market === 'spot');
  s.agents.queued = [];
  for (let i = 0; i < 6; i++) {
    await s.clock.advance(30_000);
    await s.tick.tick();
  }
  t.equal(s.provisioner.live().length, 0, 'idle nodes retired');
  t.equal(s.store.state!.spotInterruptions ?? 0, 0, 'none counted');
});

t.test('learned runtimes are persisted and loaded by a restarted tick', async (t) => {
  const s = setup();
  s.agents.complete('sort', 12);
  s.agents.complete('sort', 14);
  await s.tick.tick();
  const saved = s.store.state!.runtimes;
  t.ok(JSON.stringify(saved).includes('sort'), 'runtimes of "sort" persisted');
  const restarted = s.make();
  await restarted.restore();
  t.same(restarted.persisted.runtimes, saved, 'a restarted tick loads the same runtimes');
  s.agents.complete('sort', 16);
  await restarted.tick();
  t.not(JSON.stringify(s.store.state!.runtimes), JSON.stringify(saved), 'and keeps learning from there');
});
