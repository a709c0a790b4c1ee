import t, { type Test } from 'tap';
import { createLogger } from '../../src/common/log.js';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { capturedLog } from '../fixtures/leaderFakes.js';
import {
  shellJob,
  startBatch,
  startOnDemandAndSpot,
  waitFor,
  type TestBatch,
} from '../fixtures/mesosCluster.js';

/**
 * A spot node terminated (released by the run before, or reclaimed): the master still lists its
 * agent, disconnected, until its health check gives up (75 s on Mesos' defaults; 30 s here).
 */
async function onDemandAndSpot(t: Test) {
  const cluster = await startOnDemandAndSpot({ agentPingTimeoutMs: 5000, maxAgentPingTimeouts: 6 });
  t.teardown(() => cluster.stop());
  const [onDemand, spot] = cluster.agentIds;
  const master = new MesosMasterClient(cluster.master.address);
  const terminateSpot = async (): Promise<void> => {
    cluster.agents[1]!.kill();
    await waitFor('the spot agent disconnected', async () => {
      const { agents } = await master.getAgents();
      return agents.some((a) => a.id === spot && !a.active);
    });
  };
  const startRun = async () => {
    const tb = await startBatch(cluster.master.address);
    t.teardown(() => tb.batch.shutdown());
    return tb;
  };
  return { onDemand, spot, terminateSpot, startRun };
}

// Each case has a Mesos cluster of its own, the last mostly waiting for the master's health check
// to give up: they run side by side.
t.jobs = 3;

/** Issues a preemptable job and checks it ran on the on-demand agent within `withinMs`. */
async function runsOnOnDemand(
  t: Test,
  tb: TestBatch,
  onDemand: string | undefined,
  withinMs: number,
): Promise<void> {
  const t0 = Date.now();
  await tb.batch.issue(shellJob('p-1', 'true', { preemptable: true }));
  const u = await tb.updateOf('p-1', 20_000);
  const tookMs = Date.now() - t0;
  t.equal(u.outcome, 'succeeded', 'the job ran');
  t.equal(tb.batch.placements().find((p) => p.jobId === 'p-1')?.agentId, onDemand, 'on the on-demand agent');
  t.ok(tookMs < withinMs, `without waiting for the gone agent to time out (${tookMs} ms)`);
}

t.test(
  'keepPreemptableOnSpot: a disconnected spot agent does not hold a preemptable job back from free on-demand room',
  async (t) => {
    const { onDemand, spot, terminateSpot, startRun } = await onDemandAndSpot(t);
    await terminateSpot();
    const tb = await startRun();
    // What a scaler tick does: reads the agents, and keeps preemptable work on spot (the spot
    // pool has room to launch in).
    const listed = await tb.batch.agents();
    t.ok(
      listed.some((a) => a.id === spot && !a.active),
      'the master still lists the spot agent, disconnected',
    );
    tb.batch.keepPreemptableOnSpot(true);
    await runsOnOnDemand(t, tb, onDemand, 10_000);
  },
);

t.test(
  'keepPreemptableOnSpot: a spot agent that disconnects after the agents were read does not hold a preemptable job back until the next read',
  async (t) => {
    const { onDemand, spot, terminateSpot, startRun } = await onDemandAndSpot(t);
    const tb = await startRun();
    // A scaler tick: the agents read while the spot agent is up, preemptable work kept on spot.
    const listed = await tb.batch.agents();
    t.ok(
      listed.some((a) => a.id === spot && a.active),
      'the spot agent was up when the agents were read',
    );
    tb.batch.keepPreemptableOnSpot(true);
    // The spot job holding it goes with its node.
    await tb.batch.issue(shellJob('p-hold', 'sleep 60', { preemptable: true, cores: 2 }));
    await waitFor('p-hold placed', () => tb.batch.placements().some((p) => p.jobId === 'p-hold'));
    await terminateSpot();
    await runsOnOnDemand(t, tb, onDemand, 15_000);
  },
);

t.test(
  'a spot agent that disconnects mid-run: its job is reported lost within seconds, once, not when the health check gives up',
  async (t) => {
    // The health check gives up after 20 s (Mesos: 75 s), well after the batch system's own
    // checks (every 3 s) take the agent for gone, so the job's loss must come from them (the
    // message says which); the margin is for a loaded machine, where timers run late.
    const cluster = await startOnDemandAndSpot({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 20 });
    t.teardown(() => cluster.stop());
    const [onDemand, spot] = cluster.agentIds;
    const master = new MesosMasterClient(cluster.master.address);
    const { destination, lines } = capturedLog();
    const log = createLogger({ level: 'debug', destination });
    const tb = await startBatch(cluster.master.address, { log });
    t.teardown(() => tb.batch.shutdown());
    await tb.batch.issue(shellJob('victim', 'sleep 60', { preemptable: true }));
    await waitFor('the job placed on the spot agent', () =>
      tb.batch.placements().some((p) => p.jobId === 'victim' && p.agentId === spot),
    );
    await waitFor('the job running', async () =>
      ((await master.state()).frameworks[0]?.tasks ?? []).some((x) => x.state === 'TASK_RUNNING'),
    );

    const killedAt = Date.now();
    cluster.agents[1]!.kill();
    const u = await tb.updateOf('victim', 18_000);
    const detectMs = Date.now() - killedAt;
    t.comment(`spot agent killed → its job lost: ${detectMs} ms`);
    t.equal(u.outcome, 'lost', 'lost with its node: no retry spent');
    t.match(u.message, /disconnected from the Mesos master/, 'the reason names the disconnect');
    t.equal(u.node, spot, 'on the spot agent');
    t.ok(
      detectMs < 15_000,
      `within a few of the batch system's checks, before the health check's 20 s (${detectMs} ms)`,
    );

    // What the scaler's pass does when it sees the agent gone: nothing left to declare lost.
    t.same(tb.batch.nodeLost(spot!, 'lost: its node is gone'), [], "the scaler's pass finds nothing more");
    await tb.batch.issue(shellJob('victim', 'exit 0', { preemptable: true, attempt: 2 }));
    await waitFor('the re-run done', () =>
      tb.updates.some((x) => x.jobId === 'victim' && x.attempt === 2 && x.outcome === 'succeeded'),
    );
    t.equal(
      tb.batch.placements().find((p) => p.jobId === 'victim' && p.attempt === 2)?.agentId,
      onDemand,
      'the re-run went to the surviving agent',
    );
    // The master's health check gives up later and reports the task unreachable: not a second loss.
    await waitFor(
      'the master reports the spot agent unreachable',
      async () => (await master.state()).unreachable_slaves === 1,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    t.same(
      tb.updates.filter((x) => x.jobId === 'victim').map((x) => [x.attempt, x.outcome]),
      [
        [1, 'lost'],
        [2, 'succeeded'],
      ],
      'one loss reported, one re-run',
    );
    t.equal(tb.batch.lossCount('victim'), 1, 'counted once');
    t.same(
      lines.filter((l) => l.level >= 30 && /agent/.test(l.msg)).map((l) => [l.level, l.msg]),
      [
        [
          30,
          'agent disconnected from the Mesos master for at least 3000 ms: taken for gone, its 1 task(s) of ours lost',
        ],
      ],
      "the agent taken for gone is said once (the job's loss is the leader's to warn of); the master's later FAILURE is not warned of",
    );
  },
);
