import t from 'tap';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { shellJob, startBatch, startCluster, waitFor, within } from '../fixtures/mesosCluster.js';

t.test('drain race: once the mark is set, no task is ever launched on that agent (Toil #3079)', async (t) => {
  const cluster = await startCluster([
    { resources: 'cpus:2;mem:2048;disk:4096' },
    { resources: 'cpus:2;mem:2048;disk:4096' },
  ]);
  t.teardown(() => cluster.stop());
  const retiring = cluster.agentIds[1]!;
  const tb = await startBatch(cluster.master.address);
  t.teardown(() => tb.batch.shutdown());
  t.throws(
    () => tb.batch.isEmpty(retiring),
    { code: 'ILLEGAL_STATE' },
    'emptiness means nothing before the mark',
  );

  // A steady stream of short jobs keeps offers for both agents being accepted.
  const jobs = Array.from({ length: 40 }, (_, i) => shellJob(`stream-${i}`, 'sleep 0.1'));
  for (const j of jobs.slice(0, 8)) await tb.batch.issue(j);
  await waitFor('tasks on the agent to retire', () =>
    tb.batch.placements().some((p) => p.agentId === retiring),
  );
  tb.batch.markDraining(retiring);
  const markSeq = tb.batch.drainMarkSeq(retiring)!;
  const emptyAtMark = tb.batch.isEmpty(retiring);
  const launchedBeforeMark = tb.batch.placements().filter((p) => p.agentId === retiring).length;
  for (const j of jobs.slice(8)) await tb.batch.issue(j);
  await Promise.all(jobs.map((j) => tb.updateOf(j.jobId)));

  t.equal(emptyAtMark, false, 'a task placed before the mark counts: not empty');
  const onRetiring = tb.batch.placements().filter((p) => p.agentId === retiring);
  t.ok(
    onRetiring.every((p) => p.seq < markSeq),
    'no placement on the agent after its mark',
  );
  t.equal(onRetiring.length, launchedBeforeMark, 'not one more task went there');
  t.equal(
    cluster.master.model.launchLog.filter((l) => l.agentId === retiring).length,
    launchedBeforeMark,
    "the master's own launch log agrees",
  );
  t.equal(tb.updates.filter((u) => u.outcome === 'succeeded').length, 40, 'the other agent ran the rest');
  t.equal(tb.batch.isEmpty(retiring), true, 'empty once its tasks finished');
  const report = (await tb.batch.agents()).find((a) => a.id === retiring)!;
  t.equal(report.draining, true);
  t.same(report.runningJobIds, []);
});

t.test(
  'DRAIN_AGENT: the mark first, running tasks killed → lost, then DRAINED (or gone with mark_gone)',
  async (t) => {
    const cluster = await startCluster([
      { resources: 'cpus:1;mem:1024;disk:1024' },
      { resources: 'cpus:1;mem:1024;disk:1024' },
    ]);
    t.teardown(() => cluster.stop());
    const [a, b] = cluster.agentIds as [string, string];
    const tb = await startBatch(cluster.master.address);
    t.teardown(() => tb.batch.shutdown());
    const client = new MesosMasterClient(cluster.master.address);

    await tb.batch.issue(shellJob('long-1', 'sleep 30'));
    await tb.batch.issue(shellJob('long-2', 'sleep 30'));
    await waitFor(
      'one task on each agent',
      () => new Set(tb.batch.placements().map((p) => p.agentId)).size === 2,
    );
    await waitFor('both running', async () => {
      const s = await client.state();
      return (s.frameworks[0]?.tasks ?? []).filter((x) => x.state === 'TASK_RUNNING').length === 2;
    });
    const onA = tb.batch.placements().find((p) => p.agentId === a)!.jobId;
    await tb.batch.drain(a, { maxGracePeriodSeconds: 1 });
    t.equal(tb.batch.isMarkedDraining(a), true);
    const drained = await tb.updateOf(onA);
    t.equal(drained.outcome, 'lost', 'killed by the drain, not by the leader: lost, no retry spent');
    t.match(drained.message, /TASK_KILLED \(REASON_AGENT_DRAINING\)/);
    await waitFor('agent DRAINED once its killed task was acknowledged', async () => {
      const agent = (await client.state()).slaves.find((s) => s.id === a);
      return agent?.drain_info?.state === 'DRAINED';
    });
    const viaOperator = (await client.getAgents()).agents.find((x) => x.id === a)!;
    t.equal(viaOperator.drainState, 'DRAINED');
    t.equal(viaOperator.active, false);
    t.equal(viaOperator.deactivated, true);
    t.equal(tb.batch.isEmpty(a), true);

    // mark_gone: the agent disappears for good once empty, and its process is shut down.
    const onB = tb.batch.placements().find((p) => p.agentId === b)!.jobId;
    await tb.batch.drain(b, { maxGracePeriodSeconds: 0, markGone: true });
    const gone = await tb.updateOf(onB);
    t.equal(gone.outcome, 'lost');
    t.match(
      gone.message,
      /TASK_GONE_BY_OPERATOR/,
      'partition-aware frameworks hear GONE_BY_OPERATOR for a mark_gone drain',
    );
    await waitFor('agent b removed', async () => !(await client.state()).slaves.some((s) => s.id === b));
    t.equal(
      await within('the gone agent to exit', cluster.agents[1]!.exited),
      0,
      'the gone agent was shut down',
    );
    await client.reactivateAgent(a);
    const back = (await client.getAgents()).agents.find((x) => x.id === a)!;
    t.same(
      [back.active, back.deactivated, back.drainState],
      [true, false, undefined],
      'REACTIVATE after DRAINED',
    );
  },
);
