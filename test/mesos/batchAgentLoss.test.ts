import t from 'tap';
import { createLogger } from '../../src/common/log.js';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { shellJob, startBatch, startCluster, waitFor, within } from '../fixtures/mesosCluster.js';

t.test(
  'a preemptable agent killed mid-run: its tasks come back lost (not failed), re-runs complete',
  async (t) => {
    const cluster = await startCluster([
      { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
      { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:true' },
    ]);
    t.teardown(() => cluster.stop());
    const [onDemand, spot] = cluster.agentIds;
    const tb = await startBatch(cluster.master.address);
    t.teardown(() => tb.batch.shutdown());

    // Two long preemptable jobs fill the spot agent; the on-demand one stays free for re-runs.
    for (const id of ['spot-a', 'spot-b'])
      await tb.batch.issue(shellJob(id, 'sleep 30', { preemptable: true }));
    await waitFor(
      'both jobs placed on the spot agent',
      () => tb.batch.placements().filter((p) => p.agentId === spot).length === 2,
    );
    await waitFor('tasks running', async () => {
      const s = await new MesosMasterClient(cluster.master.address).state();
      return (s.frameworks[0]?.tasks ?? []).filter((x) => x.state === 'TASK_RUNNING').length === 2;
    });
    const killedAt = Date.now();
    cluster.agents[1]!.kill();
    const lost = await Promise.all(['spot-a', 'spot-b'].map((id) => tb.updateOf(id, 10_000)));
    const detectMs = Date.now() - killedAt;
    t.same(
      lost.map((u) => u.outcome),
      ['lost', 'lost'],
      'the node went away: lost, so no retry is spent',
    );
    t.match(
      lost[0]!.message,
      /TASK_UNREACHABLE \(REASON_AGENT_REMOVED\)/,
      'partition-aware: TASK_UNREACHABLE',
    );
    t.equal(tb.batch.lossCount('spot-a'), 1, 'losses are counted per job');
    t.comment(`agent death → lost: ${detectMs} ms (health check 500 ms × 4)`);
    t.ok(detectMs < 8000);

    // The leader re-issues (attempt 2); the spot agent is gone, so they run on the on-demand one.
    for (const id of ['spot-a', 'spot-b'])
      await tb.batch.issue(shellJob(id, 'exit 0', { preemptable: true, attempt: 2 }));
    await waitFor(
      'both re-runs done',
      () => tb.updates.filter((u) => u.attempt === 2 && u.outcome === 'succeeded').length === 2,
    );
    t.ok(
      tb.batch
        .placements()
        .filter((p) => p.attempt === 2)
        .every((p) => p.agentId === onDemand),
      'the re-runs went to the surviving agent',
    );
    const state = await new MesosMasterClient(cluster.master.address).state();
    t.equal(state.unreachable_slaves, 1);
    t.equal(state.slaves.length, 1, 'the dead agent left /master/state');
    t.equal(state.frameworks[0]!.unreachable_tasks.length, 2, 'its tasks are listed as unreachable');
  },
);

t.test('without PARTITION_AWARE the same death is TASK_LOST, also classified lost', async (t) => {
  const cluster = await startCluster([
    { resources: 'cpus:1;mem:1024;disk:1024', attributes: 'preemptable:true' },
  ]);
  t.teardown(() => cluster.stop());
  const tb = await startBatch(cluster.master.address, { partitionAware: false });
  t.teardown(() => tb.batch.shutdown());
  await tb.batch.issue(shellJob('victim-1', 'sleep 30', { preemptable: true }));
  await waitFor('running', () => tb.batch.placements().length === 1);
  await new Promise((r) => setTimeout(r, 200));
  cluster.agents[0]!.kill();
  const u = await tb.updateOf('victim-1', 10_000);
  t.equal(u.outcome, 'lost');
  t.match(u.message, /^TASK_LOST \(REASON_AGENT_REMOVED\)/);
});

t.test(
  'MARK_AGENT_GONE: running tasks become TASK_GONE_BY_OPERATOR → lost; the id is refused afterwards',
  async (t) => {
    const cluster = await startCluster([{ resources: 'cpus:1;mem:1024;disk:1024' }]);
    t.teardown(() => cluster.stop());
    const tb = await startBatch(cluster.master.address);
    t.teardown(() => tb.batch.shutdown());
    const agentId = cluster.agentIds[0]!;
    await tb.batch.issue(shellJob('gone-1', 'sleep 30'));
    await waitFor('placed', () => tb.batch.placements().length === 1);
    await new Promise((r) => setTimeout(r, 200));
    const client = new MesosMasterClient(cluster.master.address);
    await client.markAgentGone(agentId);
    const u = await tb.updateOf('gone-1');
    t.equal(u.outcome, 'lost');
    t.match(u.message, /TASK_GONE_BY_OPERATOR \(REASON_AGENT_REMOVED_BY_OPERATOR\)/);
    await client.markAgentGone(agentId);
    t.pass('MARK_AGENT_GONE is idempotent (200 again)');
    const refused = await client.drainAgent(agentId).then(
      () => undefined,
      (e: unknown) => e as { status?: number; body?: string },
    );
    t.same(
      [refused?.status, refused?.body],
      [400, 'Unknown agent'],
      'a gone agent is unknown to DRAIN_AGENT',
    );
    t.equal(
      await within('the gone agent to exit', cluster.agents[0]!.exited),
      0,
      'the gone agent was told to shut down, and did',
    );
  },
);

t.test(
  'nodeLost (its instance seen terminated): tasks there are lost at once, killed, and nothing goes there again',
  async (t) => {
    const cluster = await startCluster([
      { resources: 'cpus:1;mem:1024;disk:1024', attributes: 'preemptable:false' },
      { resources: 'cpus:1;mem:1024;disk:1024', attributes: 'preemptable:true' },
    ]);
    t.teardown(() => cluster.stop());
    const [onDemand, spot] = cluster.agentIds;
    const tb = await startBatch(cluster.master.address);
    t.teardown(() => tb.batch.shutdown());
    await tb.batch.issue(shellJob('doomed', 'sleep 30', { preemptable: true }));
    await waitFor('placed on the spot agent', () => tb.batch.placements().some((p) => p.agentId === spot));
    const master = new MesosMasterClient(cluster.master.address);
    await waitFor('running', async () =>
      ((await master.state()).frameworks[0]?.tasks ?? []).some((x) => x.state === 'TASK_RUNNING'),
    );
    // The agent is still connected (the master would not report anything for 75 s on AWS).
    t.same(tb.batch.nodeLost(spot!, 'lost: its node is gone'), ['doomed']);
    const u = tb.updates.find((x) => x.jobId === 'doomed');
    t.equal(u?.outcome, 'lost', 'reported lost before nodeLost returned: no retry spent');
    t.equal(u?.message, 'lost: its node is gone');
    await waitFor('the task killed on the agent (nothing runs twice)', async () => {
      const fw = (await master.state()).frameworks[0]!;
      return fw.completed_tasks.some((x) => x.state === 'TASK_KILLED');
    });
    await tb.batch.issue(shellJob('doomed', 'exit 0', { preemptable: true, attempt: 2 }));
    await waitFor('the re-run done', () =>
      tb.updates.some((x) => x.attempt === 2 && x.outcome === 'succeeded'),
    );
    t.same(
      tb.batch
        .placements()
        .filter((p) => p.attempt === 2)
        .map((p) => p.agentId),
      [onDemand],
      'the re-run went elsewhere, though the agent still offers',
    );
    t.equal(
      tb.updates.filter((x) => x.jobId === 'doomed' && x.attempt === 1).length,
      1,
      'the killed task’s own update is not reported again',
    );
  },
);

t.test('an agent lost that ran none of our tasks is no warning; one that ran them is', async (t) => {
  const cluster = await startCluster([
    { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
    { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
  ]);
  t.teardown(() => cluster.stop());
  const lines: { level: number; msg: string }[] = [];
  const log = createLogger({
    level: 'debug',
    destination: { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) },
  });
  const tb = await startBatch(cluster.master.address, { log });
  t.teardown(() => tb.batch.shutdown());
  await tb.batch.issue(shellJob('busy', 'sleep 30'));
  await waitFor('the job placed', () => tb.batch.placements().length === 1);
  const busyIndex = cluster.agentIds.indexOf(tb.batch.placements()[0]!.agentId);
  cluster.agents[1 - busyIndex]!.kill();
  await waitFor('the idle agent reported lost', () => lines.some((l) => /agent lost/.test(l.msg)));
  t.same(
    lines.filter((l) => l.level >= 40 && /agent lost/.test(l.msg)),
    [],
    'another node retired while this run had nothing there: no warning',
  );
  cluster.agents[busyIndex]!.kill();
  await tb.updateOf('busy', 15_000);
  await waitFor('the busy agent reported lost', () =>
    lines.some((l) => l.level >= 40 && /Mesos reports the agent lost/.test(l.msg)),
  );
  t.same(
    lines.filter((l) => l.level >= 40 && /agent lost/.test(l.msg)).map((l) => l.msg),
    ['Mesos reports the agent lost'],
    'the agent that ran our task: one warning',
  );
});
