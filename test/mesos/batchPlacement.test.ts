import t, { type Test } from 'tap';
import { placementKey } from '../../src/common/placementOrder.js';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { shellJob, startBatch, startCluster, waitFor, type AgentSpec } from '../fixtures/mesosCluster.js';

/** A local cluster of these agents and a batch system on it, both stopped at the test's end. */
async function placing(t: Test, agents: AgentSpec[]) {
  const cluster = await startCluster(agents);
  t.teardown(() => cluster.stop());
  const tb = await startBatch(cluster.master.address);
  t.teardown(() => tb.batch.shutdown());
  const placedOn = (jobId: string): string | undefined =>
    tb.batch.placements().find((p) => p.jobId === jobId)?.agentId;
  return { agents: cluster.agentIds, master: cluster.master.address, tb, placedOn };
}

t.test('placement on a real local cluster: non-preemptable jobs never on a preemptable agent', async (t) => {
  const {
    agents: [onDemand, spot],
    master,
    tb,
  } = await placing(t, [
    { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
    { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptible:True' },
  ]);

  const jobs = [
    ...Array.from({ length: 6 }, (_, i) => shellJob(`np-${i}`, 'sleep 0.2')),
    ...Array.from({ length: 4 }, (_, i) => shellJob(`p-${i}`, 'sleep 0.2', { preemptable: true })),
  ];
  const t0 = Date.now();
  for (const j of jobs) await tb.batch.issue(j);
  const updates = await Promise.all(jobs.map((j) => tb.updateOf(j.jobId)));
  t.same(
    updates.map((u) => u.outcome),
    jobs.map(() => 'succeeded'),
    'every job succeeded',
  );
  const placements = tb.batch.placements();
  t.equal(placements.length, 10, 'one placement per job');
  const nonPreemptable = placements.filter((p) => !p.jobPreemptable);
  t.ok(
    nonPreemptable.length === 6 && nonPreemptable.every((p) => p.agentId === onDemand && !p.agentPreemptable),
    'all 6 non-preemptable jobs ran on the on-demand agent',
  );
  const preemptable = placements.filter((p) => p.jobPreemptable);
  t.ok(
    preemptable.filter((p) => p.agentId === spot).length >= 2,
    'preemptable jobs went to the spot agent first',
  );
  for (const u of updates) t.ok(u.node === onDemand || u.node === spot, 'the update names the agent');
  t.comment(`10 jobs of 0.2 s on 4 cores: ${Date.now() - t0} ms`);

  // The master's own records agree: every task of a non-preemptable job has the on-demand slave_id.
  const state = await new MesosMasterClient(master).state();
  const tasks = state.frameworks.flatMap((f) => [...f.tasks, ...f.completed_tasks]);
  const npTasks = tasks.filter((task) => task.name === 'np');
  t.equal(npTasks.length, 6);
  t.ok(
    npTasks.every((task) => task.slave_id === onDemand),
    'master task records: np-* all on the on-demand agent',
  );
});

t.test(
  'outcomes: exit 0 succeeded, exit N failed with its code, kill killed; queue empty → SUPPRESS, issue → REVIVE',
  async (t) => {
    const { master, tb } = await placing(t, [{ resources: 'cpus:2;mem:2048;disk:4096' }]);
    const client = new MesosMasterClient(master);

    await tb.batch.issue(shellJob('ok-1', 'exit 0'));
    await tb.batch.issue(shellJob('bad-1', 'echo oops >&2; exit 7'));
    await tb.batch.issue(shellJob('long-1', 'sleep 30'));
    const ok = await tb.updateOf('ok-1');
    const bad = await tb.updateOf('bad-1');
    t.equal(ok.outcome, 'succeeded');
    t.equal(ok.exitCode, 0);
    t.equal(bad.outcome, 'failed');
    t.equal(bad.exitCode, 7, 'exit code parsed from "Command exited with status 7"');
    t.match(bad.message, /TASK_FAILED.*status 7/);
    await waitFor(
      'long-1 running',
      () => tb.batch.issuedJobIds().has('long-1') && tb.batch.placements().some((p) => p.jobId === 'long-1'),
    );
    await waitFor('the framework suppressed once the queue is empty', async () => {
      const s = await client.state();
      return s.frameworks[0]?.active === false;
    });
    const placed = tb.batch.placements().find((p) => p.jobId === 'long-1');
    const task = (await client.state()).frameworks[0]?.tasks.find((x) => x.id === placed?.taskId);
    t.ok(task, `the master lists long-1's task (${placed?.taskId})`);
    t.match(
      tb.batch.runningJobs(),
      [
        {
          jobId: 'long-1',
          attempt: 1,
          batchJobId: task?.id,
          node: new RegExp(`\\(agent ${placed?.agentId}\\)$`),
        },
      ],
      'the running attempt with its Mesos task id, as the master has it, and its agent (toil status --printStatus)',
    );
    t.equal(tb.batch.runningJobs().length, 1, 'only the running attempt');
    const killStart = Date.now();
    await tb.batch.kill('long-1');
    const killed = await tb.updateOf('long-1');
    t.equal(killed.outcome, 'killed', 'a kill the leader asked for is killed, not lost');
    t.ok(Date.now() - killStart < 5000, `kill took ${Date.now() - killStart} ms`);
    t.equal(tb.batch.issuedJobIds().size, 0);

    const before = Date.now();
    await tb.batch.issue(shellJob('after-revive-1', 'exit 0'));
    const revived = await tb.updateOf('after-revive-1');
    t.equal(revived.outcome, 'succeeded', 'REVIVE brought offers back for the new job');
    t.comment(`issue → succeeded after a REVIVE: ${Date.now() - before} ms`);

    // The largest job the cluster can run, from GET_AGENTS totals.
    const max = tb.batch.maxJobRequirements();
    t.same(max, { cores: 2, memory: 2048 * 2 ** 20, disk: 4096 * 2 ** 20, preemptable: false });
    const reports = await tb.batch.agents();
    t.equal(reports.length, 1);
    t.same(
      reports[0]!.free,
      { cpus: 2, mem: 2048, disk: 4096 },
      'free = total − used once everything finished',
    );
    t.same(reports[0]!.runningJobIds, []);
  },
);

t.test(
  'a job is re-queued when its offer vanishes, and a queued job can be killed before launch',
  async (t) => {
    const { tb } = await placing(t, [{ resources: 'cpus:1;mem:512;disk:1024' }]);
    await tb.batch.issue(shellJob('big-1', 'exit 0', { cores: 4 }));
    await new Promise((r) => setTimeout(r, 300));
    t.equal(tb.batch.queuedCount(), 1, 'a job bigger than every offer stays queued (the scaler will see it)');
    await tb.batch.kill('big-1');
    const u = await tb.updateOf('big-1');
    t.equal(u.outcome, 'killed');
    t.equal(tb.batch.queuedCount(), 0);
  },
);

t.test(
  'keepPreemptableOnSpot: a preemptable job a full spot agent could hold waits for spot room instead of taking on-demand room',
  async (t) => {
    const {
      agents: [onDemand, spot],
      tb,
      placedOn,
    } = await placing(t, [
      { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
      { resources: 'cpus:1;mem:1024;disk:4096', attributes: 'preemptable:true' },
    ]);

    // A 2-core 128 MiB preemptable request waits for the spot node the scaler is launching for it.
    const launchingSpotFor = placementKey({
      cores: 2,
      memory: 128 * 2 ** 20,
      disk: 2 ** 20,
      preemptable: true,
    });
    tb.batch.keepPreemptableOnSpot(true, new Set([launchingSpotFor]));
    // The spot agent is full for the whole test.
    await tb.batch.issue(shellJob('p-hold-1', 'sleep 60', { preemptable: true }));
    await waitFor('p-hold-1 placed', () => placedOn('p-hold-1') !== undefined);
    const rows: {
      name: string;
      jobId: string;
      preemptable: boolean;
      cores: number;
      memoryMb?: number;
      agent: string | undefined;
    }[] = [
      {
        name: 'kept on spot: a 1-core preemptable job waits past its 3 s patience',
        jobId: 'p-wait-1',
        preemptable: true,
        cores: 1,
        agent: undefined,
      },
      {
        name: 'no spot agent could hold it (2 cores): takes on-demand room as before',
        jobId: 'p-big-1',
        preemptable: true,
        cores: 2,
        agent: onDemand,
      },
      {
        name: 'no spot agent could hold it, but the scaler has its request wait for spot: it waits',
        jobId: 'p-big-wait-1',
        preemptable: true,
        cores: 2,
        memoryMb: 128,
        agent: undefined,
      },
    ];
    for (const row of rows)
      await tb.batch.issue(
        shellJob(row.jobId, 'sleep 0.2', {
          preemptable: row.preemptable,
          cores: row.cores,
          ...(row.memoryMb ? { memoryMb: row.memoryMb } : {}),
        }),
      );
    await tb.updateOf('p-big-1');
    await new Promise((r) => setTimeout(r, 4000));
    t.equal(placedOn('p-hold-1'), spot, 'the spot agent holds p-hold-1');
    for (const row of rows) t.equal(placedOn(row.jobId), row.agent, row.name);

    tb.batch.keepPreemptableOnSpot(false);
    const u = await tb.updateOf('p-wait-1');
    t.equal(u.outcome, 'succeeded', 'taken back: p-wait-1 runs');
    t.equal(placedOn('p-wait-1'), onDemand, 'taken back: on the on-demand agent, after its patience');
    const w = await tb.updateOf('p-big-wait-1');
    t.equal(w.outcome, 'succeeded', 'taken back: p-big-wait-1 runs');
    t.equal(placedOn('p-big-wait-1'), onDemand, 'taken back: p-big-wait-1 on the on-demand agent');
    await tb.batch.kill('p-hold-1');
  },
);

t.test(
  'keepPreemptableOnSpot onDemand: a preemptable request the scaler plans on on-demand (spot risk) takes on-demand room only, even with spot room free',
  async (t) => {
    const {
      agents: [onDemand, spot],
      tb,
      placedOn,
    } = await placing(t, [
      { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
      { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:true' },
    ]);

    const risky = shellJob('risky-1', 'sleep 0.2', { preemptable: true, cores: 2 });
    const other = shellJob('other-1', 'sleep 0.2', { preemptable: true });
    tb.batch.keepPreemptableOnSpot(true, new Set(), new Set([placementKey(risky.requirements)]));
    for (const j of [risky, other]) await tb.batch.issue(j);
    const updates = await Promise.all([risky, other].map((j) => tb.updateOf(j.jobId)));
    t.same(
      updates.map((u) => u.outcome),
      ['succeeded', 'succeeded'],
      'both ran',
    );
    t.equal(
      placedOn('risky-1'),
      onDemand,
      'planned on on-demand: on-demand room, though the spot agent was free',
    );
    t.equal(placedOn('other-1'), spot, 'another preemptable request stays on spot');
  },
);

t.test(
  'keepOff: a job whose request the scaler keeps off an agent waits for room elsewhere; other requests and a lifted hint place as before',
  async (t) => {
    const {
      agents: [big, small],
      tb,
      placedOn,
    } = await placing(t, [
      { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
      { resources: 'cpus:1;mem:1024;disk:4096', attributes: 'preemptable:false' },
    ]);

    const k1 = shellJob('k-1', 'sleep 1.5');
    const k2 = shellJob('k-2', 'sleep 0.2');
    const wide = shellJob('wide-1', 'sleep 0.2', { cores: 2 });
    tb.batch.keepOff(new Map([[big!, new Set([placementKey(k1.requirements)])]]));
    for (const j of [k1, k2, wide]) await tb.batch.issue(j);
    const updates = await Promise.all([k1, k2, wide].map((j) => tb.updateOf(j.jobId)));
    t.same(
      updates.map((u) => u.outcome),
      ['succeeded', 'succeeded', 'succeeded'],
      'every job succeeded',
    );
    t.equal(placedOn('k-1'), small, 'kept off the big agent: k-1 runs on the small one');
    t.equal(
      placedOn('k-2'),
      small,
      'k-2 waited for the small agent to free (1.5 s) rather than take the big one',
    );
    t.equal(placedOn('wide-1'), big, 'another request is not kept off: wide-1 runs on the big agent');

    // Lifted: two such jobs at once, and the small agent holds one.
    tb.batch.keepOff(new Map());
    const k3 = shellJob('k-3', 'sleep 1');
    const k4 = shellJob('k-4', 'sleep 1');
    for (const j of [k3, k4]) await tb.batch.issue(j);
    await Promise.all([k3, k4].map((j) => tb.updateOf(j.jobId)));
    t.ok(
      [placedOn('k-3'), placedOn('k-4')].includes(big),
      'the hint lifted: the big agent takes one of them again',
    );
  },
);
