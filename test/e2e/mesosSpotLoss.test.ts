import t from 'tap';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { startCluster, startOnDemandAndSpot, tempDir } from '../fixtures/mesosCluster.js';
import { REPO_ROOT, startToil } from '../fixtures/workflowCli.js';

interface TaskRecord {
  name: string;
  slave_id: string;
  state: string;
  labels?: { key: string; value?: string }[];
}

const label = (task: TaskRecord, key: string): string | undefined =>
  task.labels?.find((l) => l.key === key)?.value;

// Each case has its own Mesos cluster and directory: they run side by side.
t.jobs = 2;

t.test(
  'a preemptable agent killed mid-run: the workflow completes with --retryCount 0, lost jobs re-ran',
  async (t) => {
    // At first the victim is the only spot agent, so preemptable jobs start there for sure.
    const cluster = await startCluster([
      { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:false' },
      { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:true' },
    ]);
    t.teardown(() => cluster.stop());
    const victim = 1;
    const victimId = cluster.agentIds[victim]!;
    const dir = tempDir('toil-mesos-e2e-loss-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const client = new MesosMasterClient(cluster.master.address);

    const run = startToil(
      [
        'run',
        path.join(REPO_ROOT, 'examples/sort.ts'),
        `file:${path.join(dir, 'js')}`,
        '--batchSystem',
        'mesos',
        '--mesosMaster',
        cluster.master.address,
        '--numLines',
        '100000',
        '--retryCount',
        '0',
      ],
      { cwd: dir },
    );
    // Kill the spot agent as soon as one of the workflow's tasks runs there.
    const deadline = Date.now() + 60_000;
    let killedWith = 0;
    while (Date.now() < deadline && run.child.exitCode === null) {
      const s = await client.state();
      killedWith = (s.frameworks[0]?.tasks ?? []).filter(
        (x) => x.slave_id === victimId && x.state === 'TASK_RUNNING',
      ).length;
      if (killedWith > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(killedWith > 0, `the victim ran ${killedWith} task(s) when it died`);
    cluster.agents[victim]!.kill();
    // Spot capacity comes back as a new instance would (a new agent, a new id).
    const replacement = await cluster.addAgent({
      resources: 'cpus:2;mem:4096;disk:10000',
      attributes: 'preemptable:true',
    });
    t.not(replacement.id, victimId);
    const result = await run.done;
    t.equal(
      result.code,
      0,
      `the workflow still succeeded with --retryCount 0\n${result.stderr.slice(-2500)}`,
    );
    t.match(
      result.stderr,
      /job '[^']+' lost \(.*\); running it again \(no retry spent\)/,
      'the leader re-ran lost jobs',
    );
    const expected = execFileSync('sort', [path.join(dir, 'fileToSort.txt')], {
      env: { ...process.env, LC_ALL: 'C' },
      maxBuffer: 64 << 20,
    });
    t.ok(
      expected.equals(fs.readFileSync(path.join(dir, 'sortedFile.txt'))),
      "the output still equals LC_ALL=C sort's",
    );

    const state = await client.state();
    // The run's framework is torn down when it ends: it is among the completed ones.
    const fw = [...state.frameworks, ...state.completed_frameworks][0]!;
    const lost = fw.unreachable_tasks as unknown as TaskRecord[];
    const done = [...fw.tasks, ...fw.completed_tasks] as unknown as TaskRecord[];
    t.ok(lost.length >= killedWith, "the dead agent's tasks are unreachable in the master's records"); // more may have started between the poll and the kill
    t.ok(lost.length > 0);
    for (const task of lost) {
      const jobId = label(task, 'toil.jobId');
      const attempt = Number(label(task, 'toil.attempt'));
      const rerun = done.find(
        (d) =>
          label(d, 'toil.jobId') === jobId &&
          Number(label(d, 'toil.attempt')) > attempt &&
          d.state === 'TASK_FINISHED',
      );
      t.ok(
        rerun,
        `lost job ${task.name} (${jobId}) re-ran and finished, on ${rerun?.slave_id === victimId ? 'the dead agent?!' : 'another agent'}`,
      );
      t.not(rerun?.slave_id, victimId);
    }
  },
);

t.test(
  "a spot agent killed mid-run: the leader runs its job again within seconds, not at the master's health check",
  async (t) => {
    // The master gives up on a silent agent after 30 s (Mesos: 75 s); the job is re-run long before.
    const cluster = await startOnDemandAndSpot({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 30 });
    t.teardown(() => cluster.stop());
    const spotId = cluster.agentIds[1]!;
    const dir = tempDir('toil-mesos-e2e-spot-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const client = new MesosMasterClient(cluster.master.address);
    const run = startToil(
      [
        ...['run', path.join(REPO_ROOT, 'test/fixtures/workflowSpotHold.ts'), `file:${path.join(dir, 'js')}`],
        ...['--batchSystem', 'mesos', '--mesosMaster', cluster.master.address, '--retryCount', '0'],
      ],
      { cwd: dir },
    );
    const deadline = Date.now() + 60_000;
    let running = false;
    while (!running && Date.now() < deadline && run.child.exitCode === null) {
      const s = await client.state();
      running = (s.frameworks[0]?.tasks ?? []).some(
        (x) => x.slave_id === spotId && x.state === 'TASK_RUNNING',
      );
      if (!running) await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(running, 'the spot job ran on the spot agent when it died');
    const killedAt = Date.now();
    cluster.agents[1]!.kill();
    const result = await run.done;
    const tookMs = Date.now() - killedAt;
    t.equal(result.code, 0, `the workflow succeeded with --retryCount 0\n${result.stderr.slice(-2500)}`);
    const lostLines = result.stderr
      .split('\n')
      .filter((l) => /job 'hold' lost \(.*\); running it again \(no retry spent\)/.test(l));
    t.equal(lostLines.length, 1, `the loss is logged once\n${lostLines.join('\n')}`);
    t.match(lostLines[0], /disconnected from the Mesos master/, 'saying the agent disconnected');
    t.comment(`spot agent killed → the workflow done: ${tookMs} ms`);
    // Lost within two agent checks (6 s), then a 6 s re-run on the on-demand agent.
    t.ok(tookMs < 22_000, `done before the master's health check gave up on the agent (${tookMs} ms)`);
  },
);
