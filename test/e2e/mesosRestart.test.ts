import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { openJobStore } from '../../src/main.js';
import { startCluster, tempDir, waitFor } from '../fixtures/mesosCluster.js';
import { REPO_ROOT, runToil, sortedLikeCSort, startToil } from '../fixtures/workflowCli.js';

t.test(
  'kill -9 of a Mesos leader, then --restart: the same framework re-subscribes and the sort completes',
  async (t) => {
    const cluster = await startCluster([
      { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:false' },
      { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:true' },
    ]);
    t.teardown(() => cluster.stop());
    const dir = tempDir('toil-mesos-restart-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const master = new MesosMasterClient(cluster.master.address);
    const args = [
      'run',
      path.join(REPO_ROOT, 'examples/sort.ts'),
      'file:./js',
      '--batchSystem',
      'mesos',
      '--mesosMaster',
      cluster.master.address,
      '--numLines',
      '60000',
      '--clean',
      'never',
      '--logLevel',
      'warning',
    ];

    const first = startToil(args, { cwd: dir });
    // Kill the leader once some of its tasks have finished and the workflow is under way.
    await waitFor(
      'two finished tasks',
      async () => {
        const state = await master.state();
        return state.frameworks.some((f) => f.completed_tasks.length >= 2);
      },
      60_000,
    );
    first.child.kill('SIGKILL');
    await first.done;
    const before = await master.state();
    t.equal(before.frameworks.length, 1, 'one framework, kept by the master through its failover timeout');
    const frameworkId = before.frameworks[0]!.id;
    t.equal(
      await openJobStore(`file:${path.join(dir, 'js')}`).readFrameworkId(),
      frameworkId,
      'the job store holds the framework id the leader subscribed with',
    );

    const second = await runToil([...args, '--restart'], { cwd: dir });
    t.equal(second.code, 0, `toil run --restart exits 0\n${second.stderr.slice(-2000)}`);
    const after = await master.state();
    t.same(
      [...after.frameworks, ...after.completed_frameworks].map((f) => f.id),
      [frameworkId],
      'the restarted leader re-subscribed as the same framework: no second framework was registered',
    );
    t.ok(sortedLikeCSort(dir), "the output equals LC_ALL=C sort's");
  },
);
