import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { shellJob, startBatch, startCluster, waitFor } from '../fixtures/mesosCluster.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * Mesos destroys a task's container when its command ends, and with it every process the command
 * started. The local agent kills the task's process group then: a job's background process (a
 * service's server, here sleep) outlived its task, reparented to init, on every node it ran on.
 */
t.test('the processes a task started end with its command', async (t) => {
  t.setTimeout(60_000);
  const dir = testDir(t, {});
  const cluster = await startCluster([{}]);
  t.teardown(() => cluster.stop());
  const tb = await startBatch(cluster.master.address);
  t.teardown(() => tb.batch.shutdown());
  const pidFile = join(dir, 'sleep.pid');
  await tb.batch.issue(shellJob('left-1', `sleep 1000 & echo $! > ${pidFile}; exit 0`));
  const update = await tb.updateOf('left-1');
  t.equal(update.outcome, 'succeeded');
  t.ok(existsSync(pidFile));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  await waitFor('the background process to end', () => !processAlive(pid), 5_000).catch(() => undefined);
  t.notOk(processAlive(pid), `the task's background process (pid ${pid}) is gone`);
});
