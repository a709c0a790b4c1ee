import t from 'tap';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { shellJob, startBatch, startCluster, waitFor } from '../fixtures/mesosCluster.js';

/**
 * A run started right after another released its spot node: the master still lists that node's
 * agent, disconnected, until its health check gives up (75 s on Mesos' defaults; 30 s here).
 */
t.test(
  'keepPreemptableOnSpot: a disconnected spot agent does not hold a preemptable job back from free on-demand room',
  async (t) => {
    const cluster = await startCluster(
      [
        { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
        { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:true' },
      ],
      { agentPingTimeoutMs: 5000, maxAgentPingTimeouts: 6 },
    );
    t.teardown(() => cluster.stop());
    const [onDemand, spot] = cluster.agentIds;
    cluster.agents[1]!.kill();
    const master = new MesosMasterClient(cluster.master.address);
    await waitFor('the spot agent disconnected', async () => {
      const { agents } = await master.getAgents();
      return agents.some((a) => a.id === spot && !a.active);
    });

    const tb = await startBatch(cluster.master.address);
    t.teardown(() => tb.batch.shutdown());
    // What a scaler tick does: reads the agents, and keeps preemptable work on spot (the spot
    // pool has room to launch in).
    const listed = await tb.batch.agents();
    t.ok(
      listed.some((a) => a.id === spot && !a.active),
      'the master still lists the spot agent, disconnected',
    );
    tb.batch.keepPreemptableOnSpot(true);
    const t0 = Date.now();
    await tb.batch.issue(shellJob('p-1', 'true', { preemptable: true }));
    const u = await tb.updateOf('p-1', 20_000);
    const tookMs = Date.now() - t0;
    t.equal(u.outcome, 'succeeded', 'the job ran');
    t.equal(
      tb.batch.placements().find((p) => p.jobId === 'p-1')?.agentId,
      onDemand,
      'on the on-demand agent',
    );
    t.ok(tookMs < 10_000, `without waiting for the gone agent (${tookMs} ms)`);
  },
);
