import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { startCluster, tempDir } from '../fixtures/mesosCluster.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

interface TaskRecord {
  name: string;
  slave_id: string;
  state: string;
  labels?: { key: string; value?: string }[];
}

const label = (task: TaskRecord, key: string): string | undefined =>
  task.labels?.find((l) => l.key === key)?.value;

t.test('toil run --batchSystem mesos: every non-preemptable job runs on the on-demand agent', async (t) => {
  // One on-demand agent and two preemptable ones, as the issue describes the cluster.
  const cluster = await startCluster([
    { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:false' },
    { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:true' },
    { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptible:True' },
  ]);
  t.teardown(() => cluster.stop());
  const [onDemand] = cluster.agentIds;
  const dir = tempDir('toil-mesos-e2e-placement-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

  // fanout's jobs declare nothing, so they are non-preemptable (--defaultPreemptable is false).
  const t0 = Date.now();
  const fan = await runToil(
    [
      'run',
      path.join(REPO_ROOT, 'examples/fanout.ts'),
      `file:${path.join(dir, 'js-fanout')}`,
      '--batchSystem',
      'mesos',
      '--mesosMaster',
      cluster.master.address,
      '--jobs',
      '12',
      '--logLevel',
      'warning',
    ],
    { cwd: dir },
  );
  t.equal(fan.code, 0, `fanout exits 0\n${fan.stderr.slice(-2000)}`);
  const state = await new MesosMasterClient(cluster.master.address).state();
  // The run's framework is torn down when it ends: it is among the completed ones.
  const tasks = [...state.frameworks, ...state.completed_frameworks].flatMap((f) => [
    ...f.tasks,
    ...f.completed_tasks,
  ]) as unknown as TaskRecord[];
  const nonPreemptable = tasks.filter((x) => label(x, 'toil.preemptable') === 'false');
  t.equal(
    nonPreemptable.length,
    14,
    'the root, 12 leaves and the check: all non-preemptable, all in the records',
  );
  t.equal(nonPreemptable.length, tasks.length);
  t.same(
    nonPreemptable.filter((x) => x.slave_id !== onDemand).map((x) => x.name),
    [],
    'task records: every non-preemptable job ran on the on-demand agent',
  );
  t.ok(
    tasks.every((x) => x.state === 'TASK_FINISHED'),
    'every task finished',
  );
  t.comment(`fanout of 12 on the on-demand agent: ${Date.now() - t0} ms`);
});
