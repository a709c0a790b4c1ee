import t from 'tap';
import { nodesNeverJoined } from '../../../src/cli/runAutoscaled.js';
import { ToilError } from '../../../src/common/errors.js';
import { createLogger } from '../../../src/common/log.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import { capturedLog, preemptableJobs, tickHarness, tickTestConfig } from '../../fixtures/leaderFakes.js';

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

t.test(
  'an autoscaled run stops once the fourth node in a row never joined, naming the count, the last offering and what to check',
  async (t) => {
    const cfg = tickTestConfig({ nodeTypes: ['t2.medium'], bootTimeout: '5m', targetTime: '10m' }, {});
    const { clock, cluster, scaler, store } = tickHarness(cfg);
    cluster.queued = preemptableJobs(1).map((j) => ({ ...j, preemptable: false }));
    const verdicts: (string | undefined)[] = [];
    for (let m = 0; m < 120; m++) {
      await scaler.tick();
      const stop = nodesNeverJoined(store.state!, cfg);
      if (stop && verdicts.at(-1) === undefined) verdicts.push(stop.message);
      else if (!stop) verdicts.push(undefined);
      if (stop) {
        t.ok(stop instanceof ToilError && stop.code === 'NODES_NEVER_JOINED');
        t.equal(
          stop.message,
          '4 nodes in a row booted but never joined the cluster within bootTimeout 5m00s (the last: t2.medium/us-west-2a/on-demand), so the run stops instead of launching more: check the worker image (TOIL_AWS_AMI), its user data, and that workers reach the Mesos master (embedded)',
        );
        break;
      }
      await clock.advance(60_000);
    }
    t.ok(verdicts.at(-1) !== undefined, 'the run was stopped');
    t.equal(
      verdicts.filter((v) => v === undefined).length > 20,
      true,
      'not before: three failures in a row are not enough',
    );

    // A node that joins ends the run of failures: no stop.
    const ok = tickHarness(cfg);
    ok.cluster.queued = preemptableJobs(1).map((j) => ({ ...j, preemptable: false }));
    for (let m = 0; m < 120; m++) {
      await ok.scaler.tick();
      const [node] = ok.provisioner.live();
      // The fourth node registers.
      if (node && ok.provisioner.launchCalls.length === 4) ok.cluster.register(node.instanceId, true);
      await ok.clock.advance(60_000);
    }
    t.equal(nodesNeverJoined(ok.store.state!, cfg), undefined, 'a node that joined ends the run of failures');
  },
);

t.test(
  'a restarted leader forgets the nodes that never joined: it neither sits out the backoff nor stops',
  async (t) => {
    const cfg = tickTestConfig({ nodeTypes: ['t2.medium'], bootTimeout: '5m', targetTime: '10m' }, {});
    const first = tickHarness(cfg);
    first.cluster.queued = preemptableJobs(1).map((j) => ({ ...j, preemptable: false }));
    for (let m = 0; m < 120 && !(first.store.state && nodesNeverJoined(first.store.state, cfg)); m++) {
      await first.scaler.tick();
      await first.clock.advance(60_000);
    }
    t.ok(nodesNeverJoined(first.store.state!, cfg), 'the first leader stopped for nodes that never joined');
    const launchedBefore = first.provisioner.launchCalls.length;
    // The operator fixed the image and restarted: a new scaler over the same store and cloud.
    const second = new ClusterScaler({
      provisioner: first.provisioner,
      cluster: first.cluster,
      store: first.store,
      clock: first.clock,
      log: createLogger({ level: 'debug', destination: capturedLog().destination }),
      config: () => cfg,
    });
    await second.restore();
    t.equal(nodesNeverJoined(second.persisted, cfg), undefined, 'no stop carried over');
    await second.tick();
    t.equal(
      first.provisioner.launchCalls.length,
      launchedBefore + 1,
      'a node launched at once, no backoff sat out',
    );
  },
);
