import t, { type Test } from 'tap';
import path from 'node:path';
import fs from 'node:fs';
import { startMesosMaster } from '../../src/localcloud/mesos/masterServer.js';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { MemoryFrameworkIdStore } from '../../src/mesos/scheduler.js';
import {
  FAST_MASTER,
  shellJob,
  startBatch,
  startCluster,
  tempDir,
  waitFor,
} from '../fixtures/mesosCluster.js';

t.test(
  'a dropped stream: re-subscribe as the same framework, reconcile, and the job still completes',
  async (t) => {
    const cluster = await startCluster([{ resources: 'cpus:2;mem:2048;disk:4096' }]);
    t.teardown(() => cluster.stop());
    const tb = await startBatch(cluster.master.address);
    t.teardown(() => tb.batch.shutdown());
    const firstId = tb.scheduler.frameworkId;
    await tb.batch.issue(shellJob('survivor-1', 'sleep 1'));
    await waitFor('running', () => tb.batch.placements().length === 1);
    const t0 = Date.now();
    tb.scheduler.dropStream();
    await waitFor('re-subscribed', () => tb.scheduler.subscriptionCount >= 2, 10_000);
    t.equal(tb.scheduler.frameworkId, firstId, 'same framework id: its tasks were kept (failover_timeout)');
    const u = await tb.updateOf('survivor-1', 15_000);
    t.equal(u.outcome, 'succeeded', 'the FINISHED update reached us after the reconnection');
    t.comment(`drop → re-subscribed → job done: ${Date.now() - t0} ms`);
    const fw = (await new MesosMasterClient(cluster.master.address).state()).frameworks;
    t.equal(fw.length, 1, 'still one framework on the master');
  },
);

/**
 * A master restart with two jobs: one runs across it, one finishes while there is no master. The
 * agent (trying to reach the master every `agentReconnectMs`) and the scheduler come back in
 * either order; `frameworkFirst` asks for the scheduler to be back before the agent.
 */
async function masterRestart(t: Test, frameworkFirst: boolean): Promise<void> {
  const dir = tempDir('toil-mesos-registry-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const registryPath = path.join(dir, 'registry.json');
  const agent = { resources: 'cpus:2;mem:2048;disk:4096', reconnectMs: frameworkFirst ? 3000 : 100 };
  const cluster = await startCluster([agent], { registryPath });
  t.teardown(() => cluster.stop());
  const store = new MemoryFrameworkIdStore();
  const tb = await startBatch(cluster.master.address, { frameworkIdStore: store });
  t.teardown(() => tb.batch.shutdown());
  const frameworkId = tb.scheduler.frameworkId;
  t.equal(await store.load(), frameworkId, 'the framework id was saved through the store port');

  await tb.batch.issue(shellJob('across-1', 'sleep 2'));
  await tb.batch.issue(shellJob('short-1', 'sleep 0.5'));
  await waitFor('both running', () => tb.batch.placements().length === 2);
  await new Promise((r) => setTimeout(r, 200));
  const port = cluster.master.port;
  const t0 = Date.now();
  await cluster.master.stop();
  // short-1 finishes while there is no master at all; its update waits in the agent.
  await new Promise((r) => setTimeout(r, 800));
  cluster.master = await startMesosMaster({ ...FAST_MASTER, port, registryPath });
  if (frameworkFirst) {
    await waitFor('re-subscribed', () => tb.scheduler.subscriptionCount >= 2, 10_000);
    t.same(
      [...cluster.master.model.agents.values()].map((a) => a.lifecycle),
      ['recovered'],
      'the framework is back while the agent has not re-registered yet',
    );
  }
  const u = await Promise.all([tb.updateOf('across-1', 20_000), tb.updateOf('short-1', 20_000)]);
  t.same(
    u.map((x) => x.outcome),
    ['succeeded', 'succeeded'],
    'both jobs completed: one ran across the restart, one finished during it',
  );
  t.equal(tb.scheduler.frameworkId, frameworkId, 're-subscribed with the saved id (accepted after failover)');
  t.ok(tb.scheduler.subscriptionCount >= 2);
  t.comment(`master down 0.8 s → both jobs reported: ${Date.now() - t0} ms`);
  const state = await new MesosMasterClient(cluster.master.address).state();
  t.equal(state.slaves.length, 1, 'the agent re-registered with the new master');
  t.ok(state.slaves[0]!.reregistered_time !== undefined, 'as a re-registration (same agent id)');
  t.equal(state.slaves[0]!.id, cluster.agentIds[0]);

  // And the framework keeps working on the new master.
  await tb.batch.issue(shellJob('after-1', 'exit 0'));
  t.equal((await tb.updateOf('after-1')).outcome, 'succeeded');
}

t.test(
  'a master restart: agents re-register, the scheduler re-subscribes and reconciles, no job hangs',
  (t) => masterRestart(t, false),
);

t.test(
  'a master restart where the scheduler is back before the agent: its tasks are adopted, not killed or lost',
  (t) => masterRestart(t, true),
);
