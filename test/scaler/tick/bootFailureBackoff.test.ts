import t from 'tap';
import { preemptableJobs, tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * Workers that boot but never join (a broken image or user data, a security group between them
 * and the master): the leader replaced each after bootTimeout, for as long as it ran, billing a
 * fresh node every few minutes and running nothing. Now the offering, then every launch, backs off.
 */
t.test(
  'a leader whose nodes never register backs off instead of launching one per bootTimeout, and says why',
  async (t) => {
    const { clock, provisioner, cluster, scaler, lines, store } = tickHarness(
      tickTestConfig({ nodeTypes: ['t2.medium'], bootTimeout: '5m', targetTime: '10m' }, {}),
    );
    cluster.queued = preemptableJobs(1).map((j) => ({ ...j, preemptable: false }));
    const hours = 3;
    for (let m = 0; m < hours * 60; m++) {
      await scaler.tick();
      await clock.advance(60_000);
    }
    const launched = provisioner.launchCalls.reduce((s, l) => s + l.count, 0);
    // Replaced at once, one node per bootTimeout + a tick would be 30 in three hours.
    t.ok(launched >= 5 && launched <= 8, `launched ${launched} nodes in ${hours} h, backing off between`);
    t.ok(provisioner.live().length <= 1, 'at most the one being tried is running');
    const log = lines.map((l) => JSON.stringify(l)).join('\n');
    t.match(
      log,
      /never registered within bootTimeout 5m00s \(launched 6m00s ago\); 2 nodes of t2\.medium\/us-west-2a\/on-demand in a row never registered: none is launched there until/,
      'the terminate line says the offering is backed off',
    );
    t.ok(
      (store.state!.smoothing?.bootFailures?.['*']?.count ?? 0) >= 4,
      'the cluster-wide run counted every failure',
    );
    t.match(log, /check the image, the user data and that workers reach the master/);
  },
);
