import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { startCluster, tempDir } from '../fixtures/mesosCluster.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

/**
 * A `toil run --batchSystem mesos` that has ended leaves no framework registered at the master
 * (as Toil's driver stop): its framework is torn down, not left inactive for the week-long
 * failover timeout.
 */
t.test('toil run --batchSystem mesos tears its framework down when the run ends', async (t) => {
  const cluster = await startCluster([
    { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:false' },
  ]);
  t.teardown(() => cluster.stop());
  const dir = tempDir('toil-mesos-framework-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const master = cluster.master.address;
  const run = await runToil(
    [
      'run',
      path.join(REPO_ROOT, 'examples/fanout.ts'),
      'file:./js',
      ...['--jobs', '3', '--batchSystem', 'mesos', '--mesosMaster', master, '--logLevel', 'warning'],
    ],
    { cwd: dir },
  );
  t.equal(run.code, 0, run.stderr.slice(-2000));
  const state = await new MesosMasterClient(master).state();
  t.same(
    state.frameworks.map((f) => `${f.name} ${f.id}`),
    [],
    'no framework left registered, active or not',
  );
  t.equal(state.completed_frameworks.length, 1, 'the run’s framework was torn down');
});
