import t from 'tap';
import { preemptableJobs, tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * A node's idle time counts from when its agent registered, not from its launch: a node that took
 * 90 s to boot is not "idle for 90 s" the moment it registers (with idleGrace 1m it would be
 * retired on arrival, its boot paid for nothing).
 */
t.test('idle time counts from registration, so a slow boot is not idle time', async (t) => {
  const { clock, provisioner, cluster, store, scaler } = tickHarness(
    tickTestConfig(
      {
        nodeTypes: [{ type: 't2.medium', spot: true }],
        idleGrace: '1m',
        bootTimeout: '5m',
        targetTime: '10m',
      },
      {},
    ),
  );
  cluster.queued = preemptableJobs(1);
  await scaler.tick();
  const [node] = provisioner.live();
  if (!node) throw new Error('nothing launched');
  // The job is taken elsewhere meanwhile; the node boots for 90 s, then its agent registers.
  cluster.queued = [];
  for (let s = 30; s <= 90; s += 30) {
    await clock.advance(30_000);
    if (s === 90) cluster.register(node.instanceId, true);
    await scaler.tick();
  }
  const registeredAt = store.state!.registeredAt?.[node.instanceId];
  t.equal(registeredAt, clock.now(), 'registration recorded by the tick that first saw the agent');
  t.ok(registeredAt! - node.launchTime >= 90_000, 'ninety seconds after the launch');

  await clock.advance(30_000);
  await scaler.tick();
  t.same(
    [store.state!.draining[node.instanceId], provisioner.live().length],
    [undefined, 1],
    '30 s after registering (120 s after launch): kept, not idle past the 1m grace',
  );
  for (let i = 0; i < 4; i++) {
    await clock.advance(30_000);
    await scaler.tick();
  }
  t.equal(provisioner.live().length, 0, 'retired once idle past the grace since registering');
  t.notOk(store.state!.registeredAt?.[node.instanceId], 'forgotten with the node');
});
