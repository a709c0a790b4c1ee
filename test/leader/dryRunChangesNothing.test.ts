import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { createLeaderMetrics } from '../../src/leader/metrics.js';
import type { ClusterAgent } from '../../src/ports/batchSystem.js';
import { MemoryTickStore, RecordingProvisioner, tickTestConfig } from '../fixtures/leaderFakes.js';

/**
 * The dry run (`GET /scaler/plan`) looks and changes nothing: not the tick state, not /status, not
 * /metrics, even when the cluster moved since the last tick (a node of ours vanished, a node got
 * busy) and a real tick would record all of that.
 */
t.test(
  'GET /scaler/plan twice leaves /status, /metrics and persisted tick state byte-identical',
  async (t) => {
    const clock = new ManualClock();
    const provisioner = new RecordingProvisioner(clock);
    const store = new MemoryTickStore();
    const config = tickTestConfig({ minNodes: 2, nodeTypes: [{ type: 't2.medium', spot: true }] });
    const http = { ...config, http: { ...config.http, port: 0 } };
    // Every live node has an agent; the first one runs a job of ours.
    const agents = async (): Promise<ClusterAgent[]> =>
      provisioner.live().map((n, i) => ({
        agentId: `agent-${n.instanceId}`,
        hostname: n.privateIp ?? n.instanceId,
        instanceId: n.instanceId,
        preemptable: n.market === 'spot',
        runningJobIds: i === 0 ? ['busy-job'] : [],
      }));
    const daemon = new LeaderDaemon({
      clock,
      log: silentLogger(),
      metrics: createLeaderMetrics({ withProcessMetrics: false }),
      config: () => http,
      provisioner,
      tickStore: store,
      newBatchSystem: () => {
        throw new Error('no workflow is submitted in this test');
      },
      idleClusterAgents: agents,
      runWorkflow: async () => ({ status: 'succeeded', jobsRun: 0 }),
      readiness: [],
    });
    const firstTick = daemon.events.next('tick');
    const url = await daemon.start();
    t.teardown(() => daemon.stop());
    await firstTick;
    t.equal(provisioner.live().length, 2, 'the first tick launched minNodes');

    // The cluster moves between ticks: a spot node of ours is reclaimed, time passes.
    provisioner.nodes.delete(provisioner.live()[1]!.instanceId);
    await clock.advance(5_000);

    const look = async () => ({
      status: await (await fetch(`${url}/status`)).text(),
      metrics: await (await fetch(`${url}/metrics`)).text(),
      persisted: JSON.stringify(daemon.scaler.persisted),
      stored: JSON.stringify(store.state),
      saves: store.saves,
    });
    const before = await look();
    const plans: { launch: { count: number; capacityType: string }[] }[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${url}/scaler/plan`);
      t.equal(res.status, 200);
      const plan = (await res.json()) as (typeof plans)[number];
      plans.push(plan);
    }
    const after = await look();

    t.match(
      plans[0]!.launch,
      [{ count: 1, capacityType: 'spot' }],
      'the dry run sees the lost node and plans its replacement',
    );
    t.same(plans[1], plans[0], 'the second look plans the same');
    t.equal(after.status, before.status, '/status is byte-identical');
    t.equal(after.metrics, before.metrics, '/metrics is byte-identical');
    t.equal(after.persisted, before.persisted, 'the tick state in memory is byte-identical');
    t.equal(after.stored, before.stored, 'the persisted tick state is byte-identical');
    t.equal(after.saves, before.saves, 'nothing was written');
    t.match(
      before.status,
      /"spotInterruptions":0/,
      'the reclaimed node is counted by the next tick, not by a look',
    );
  },
);
