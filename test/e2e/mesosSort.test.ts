import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { startCluster, tempDir } from '../fixtures/mesosCluster.js';
import { REPO_ROOT, runToil, sortedLikeCSort } from '../fixtures/workflowCli.js';

/** One local Mesos cluster as the issue describes it: one on-demand agent and two preemptable ones. */
const AGENTS = [
  { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:false' },
  { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:true' },
  { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:true' },
];

interface TaskRecord {
  name: string;
  slave_id: string;
  state: string;
  labels?: { key: string; value?: string }[];
}

function label(task: TaskRecord, key: string): string | undefined {
  return task.labels?.find((l) => l.key === key)?.value;
}

t.test(
  'toil run examples/sort.ts --batchSystem mesos on a local cluster: sorted, and preemptable jobs on spot agents first',
  async (t) => {
    const cluster = await startCluster(AGENTS);
    t.teardown(() => cluster.stop());
    const [onDemand] = cluster.agentIds;
    const dir = tempDir('toil-mesos-e2e-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const master = cluster.master.address;

    const t0 = Date.now();
    // The job store path is relative, as the command writes it: the leader hands workers
    // the absolute path, since a Mesos task runs in its sandbox, not in the leader's directory.
    const sort = await runToil(
      [
        'run',
        path.join(REPO_ROOT, 'examples/sort.ts'),
        'file:./js-sort',
        '--batchSystem',
        'mesos',
        '--mesosMaster',
        master,
        '--numLines',
        '100000',
        '--logLevel',
        'warning',
      ],
      { cwd: dir },
    );
    const sortMs = Date.now() - t0;
    t.equal(sort.code, 0, `toil run exits 0\n${sort.stderr.slice(-2000)}`);
    t.match(sort.stderr, /workflow succeeded/);
    t.ok(sortedLikeCSort(dir), "the output equals LC_ALL=C sort's");

    const state = await new MesosMasterClient(master).state();
    // The run's framework is torn down when it ends: it is among the completed ones.
    const tasks = [...state.frameworks, ...state.completed_frameworks].flatMap((f) => [
      ...f.tasks,
      ...f.completed_tasks,
    ]) as unknown as TaskRecord[];
    const preemptable = tasks.filter((x) => label(x, 'toil.preemptable') === 'true');
    t.equal(preemptable.length, tasks.length, "all of sort's jobs declare preemptable: true");
    t.ok(preemptable.length >= 3, `sort's ${preemptable.length} preemptable tasks`);
    const onSpot = preemptable.filter((x) => x.slave_id !== onDemand).length;
    t.ok(
      onSpot > preemptable.length / 2,
      `preemptable jobs mostly on spot agents (${onSpot}/${preemptable.length})`,
    );
    // Named with their states and the run's log, so a task that did not finish says how it ended.
    t.same(
      tasks.filter((x) => x.state !== 'TASK_FINISHED').map((x) => `${x.name}: ${x.state}`),
      [],
      `every task finished\n${sort.stderr.slice(-2000)}`,
    );
    t.comment(`sort of 100000 lines on 3 agents: ${sortMs} ms, ${preemptable.length} tasks`);
  },
);
