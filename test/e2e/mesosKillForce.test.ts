import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from '../../src/common/processIdentity.js';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { isTerminalTaskState } from '../../src/mesos/types.js';
import { startCluster, tempDir, waitFor } from '../fixtures/mesosCluster.js';
import { longJobArgs, runToil, startToil, workerPids } from '../fixtures/workflowCli.js';

t.setTimeout(240_000);

/**
 * `toil run` of one job that sleeps ten minutes on the Mesos master at `master`, resolved once the
 * job has started on an agent: it runs long after its leader is gone unless it is killed.
 */
async function startLongJob(dir: string, master: string): Promise<ReturnType<typeof startToil>> {
  const log = path.join(dir, 'exec.log');
  const running = startToil(longJobArgs(dir, '--batchSystem', 'mesos', '--mesosMaster', master), {
    cwd: dir,
  });
  await waitFor(
    'the long job to start on the agent',
    () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('start tree'),
    90_000,
  ).catch((e: unknown) => {
    running.child.kill('SIGKILL');
    throw e;
  });
  return running;
}

/**
 * `toil kill --force` SIGKILLs the leader; on Mesos its tasks run on as children of the agents,
 * keeping the cluster busy. --force then tears the workflow's framework down at the master: the
 * task leaves the master's state and its process on the agent is killed.
 */
t.test(
  'toil kill --force on Mesos tears down the framework: the running task is killed on its agent',
  async (t) => {
    const cluster = await startCluster([
      { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:false' },
    ]);
    t.teardown(() => cluster.stop());
    const dir = tempDir('toil-mesos-killforce-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const master = new MesosMasterClient(cluster.master.address);
    const storeDir = path.join(dir, 'js');
    const running = await startLongJob(dir, cluster.master.address);
    t.teardown(() => void running.child.kill('SIGKILL'));
    const before = await master.state();
    t.equal(before.frameworks.length, 1, 'the leader subscribed one framework');
    const frameworkId = before.frameworks[0]!.id;
    t.same(
      before.frameworks[0]!.tasks.map((task) => task.state),
      ['TASK_RUNNING'],
      'its one task runs',
    );
    const workers = workerPids(storeDir);
    t.equal(workers.length, 1, `one worker process runs the job (${workers.join(', ')})`);
    t.teardown(() => {
      for (const pid of workers) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    });

    const kill = await runToil(['kill', 'file:./js', '--force'], { cwd: dir });
    t.equal(kill.code, 0, kill.stderr);
    t.match(kill.stderr, /^toil: --force: killed the leader \(pid \d+\) on this machine$/m);
    t.match(
      kill.stderr,
      new RegExp(
        `^toil: --force: cancelled 1 running task\\(s\\) of framework ${frameworkId} on the Mesos master at ${cluster.master.address.replace(/\./g, '\\.')} \\(framework torn down\\)$`,
        'm',
      ),
    );
    t.equal((await running.done).signal, 'SIGKILL', 'the leader was killed');

    const after = await master.state();
    t.same(after.frameworks, [], 'the framework is no longer registered');
    const removed = after.completed_frameworks.find((f) => f.id === frameworkId);
    t.ok(removed, 'it is among the completed frameworks');
    t.same(
      (removed?.tasks ?? []).filter((task) => !isTerminalTaskState(task.state)).map((task) => task.id),
      [],
      'no task of it is left running in the master',
    );
    t.same(
      (removed?.completed_tasks ?? []).map((task) => task.state),
      ['TASK_KILLED'],
      'its task was killed',
    );
    await waitFor(
      'the worker process to be killed',
      () => workers.every((pid) => !processAlive(pid)),
      10_000,
    );
    t.same(workerPids(storeDir), [], 'no worker of the workflow runs any more');
  },
);

t.test('toil kill --force says when the Mesos master cannot be reached, and exits 1', async (t) => {
  const cluster = await startCluster([
    { resources: 'cpus:2;mem:4096;disk:10000', attributes: 'preemptable:false' },
  ]);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= cluster.stop());
  t.teardown(stop);
  const dir = tempDir('toil-mesos-killforce-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const running = await startLongJob(dir, cluster.master.address);
  t.teardown(() => void running.child.kill('SIGKILL'));
  await stop();

  const kill = await runToil(['kill', 'file:./js', '--force'], { cwd: dir });
  t.equal(kill.code, 1, kill.stderr);
  t.match(kill.stderr, /^toil: --force: killed the leader \(pid \d+\) on this machine$/m);
  t.match(
    kill.stderr,
    /^toil: --force: could not tear down Mesos framework \S+ at the master at \S+ \(cannot reach the Mesos master at .+\): its tasks may still be running on that cluster's agents$/m,
  );
});
