import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { taskIdFor } from '../../src/mesos/batchSystem.js';
import { shellJob, startBatch, startCluster, waitFor, within } from '../fixtures/mesosCluster.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * On a real Mesos agent a task's parent is its executor. The local agent ran each command as its
 * own child, so a job that killed its parent (`process.kill(process.ppid)`, `kill $PPID`) killed
 * the agent: every other task on the node was lost, and its processes ran on, orphaned.
 */
async function oneAgentTwoTasks(t: Test) {
  const dir = testDir(t, {});
  const cluster = await startCluster([{ resources: 'cpus:2;mem:2048;disk:4096' }]);
  t.teardown(() => cluster.stop());
  const tb = await startBatch(cluster.master.address);
  t.teardown(() => tb.batch.shutdown());
  const agent = cluster.agents[0]!;
  const agentId = cluster.agentIds[0]!;
  const registered = (): boolean => {
    const record = cluster.master.model.agents.get(agentId);
    return record !== undefined && cluster.master.model.isAgentActive(record);
  };
  // B runs the whole time A acts: A waits for B's mark before it kills its parent.
  const bRunning = join(dir, 'b-running');
  const untilBRuns = `while [ ! -e ${bRunning} ]; do sleep 0.05; done`;
  await tb.batch.issue(shellJob('other-1', `touch ${bRunning}; sleep 3; exit 0`));
  return { dir, cluster, tb, agent, registered, untilBRuns };
}

t.test('a task that sends SIGTERM to its parent: the agent and the other task run on', async (t) => {
  t.setTimeout(60_000);
  const { tb, agent, registered, untilBRuns } = await oneAgentTwoTasks(t);
  await tb.batch.issue(shellJob('killer-1', `${untilBRuns}; kill $PPID; sleep 1; exit 0`));
  const [killer, other] = await within(
    'both updates',
    Promise.all([tb.updateOf('killer-1'), tb.updateOf('other-1')]),
    30_000,
  );
  t.equal(killer.outcome, 'succeeded', `the task itself runs to its end (${killer.message})`);
  t.equal(killer.exitCode, 0);
  t.equal(other.outcome, 'succeeded', `the other task on the node is not lost (${other.message})`);
  t.ok(processAlive(agent.pid), 'the agent process is alive');
  t.ok(registered(), 'the agent is still registered and active');
});

t.test("a job's process.kill(process.ppid) reaches its executor, not the agent", async (t) => {
  t.setTimeout(60_000);
  const { tb, agent, registered, untilBRuns } = await oneAgentTwoTasks(t);
  const job = 'process.kill(process.ppid); setTimeout(() => process.exit(0), 500)';
  await tb.batch.issue(shellJob('killer-1', `${untilBRuns}; exec "${process.execPath}" -e '${job}'`));
  const [killer, other] = await within(
    'both updates',
    Promise.all([tb.updateOf('killer-1'), tb.updateOf('other-1')]),
    30_000,
  );
  t.equal(killer.outcome, 'succeeded', `the job's process runs to its end (${killer.message})`);
  t.equal(other.outcome, 'succeeded', `the other task on the node is not lost (${other.message})`);
  t.ok(processAlive(agent.pid), 'the agent process is alive');
  t.ok(registered(), 'the agent is still registered and active');
});

t.test('a task that SIGKILLs its parent fails alone; its processes are gone', async (t) => {
  t.setTimeout(60_000);
  const { dir, tb, agent, registered, untilBRuns } = await oneAgentTwoTasks(t);
  const pidFile = join(dir, 'killer.pid');
  await tb.batch.issue(
    shellJob('killer-1', `${untilBRuns}; echo $$ > ${pidFile}; kill -9 $PPID; exec sleep 30`),
  );
  const killer = await tb.updateOf('killer-1', 30_000);
  t.equal(killer.outcome, 'failed', `the task whose executor it killed fails (${killer.message})`);
  t.match(killer.message, /TASK_FAILED.*terminated with signal SIGKILL/);
  t.ok(existsSync(pidFile));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  await waitFor("the task's command to end", () => !processAlive(pid), 5_000).catch(() => undefined);
  t.notOk(processAlive(pid), `the task's command (pid ${pid}) is gone with its executor`);
  const other = await tb.updateOf('other-1', 30_000);
  t.equal(other.outcome, 'succeeded', `the other task on the node is not lost (${other.message})`);
  t.ok(processAlive(agent.pid), 'the agent process is alive');
  t.ok(registered(), 'the agent is still registered and active');
});

t.test('a command killed by a signal is still reported as terminated with that signal', async (t) => {
  t.setTimeout(60_000);
  const cluster = await startCluster([{}]);
  t.teardown(() => cluster.stop());
  const tb = await startBatch(cluster.master.address);
  t.teardown(() => tb.batch.shutdown());
  await tb.batch.issue(shellJob('signalled-1', 'kill -USR1 $$'));
  await tb.batch.issue(shellJob('status-1', 'exit 3'));
  const signalled = await tb.updateOf('signalled-1');
  t.equal(signalled.outcome, 'failed');
  t.match(signalled.message, /TASK_FAILED.*Command terminated with signal SIGUSR1/);
  t.equal(signalled.exitCode, undefined, 'no exit status for a signal');
  const workDir = cluster.agents[0]!.workDir;
  const stderrs = readdirSync(workDir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith(join('executors', taskIdFor('signalled-1', 1), 'runs', 'latest', 'stderr')),
  );
  t.equal(stderrs.length, 1, "the task's sandbox stderr");
  t.equal(
    readFileSync(join(workDir, stderrs[0]!), 'utf8'),
    '',
    'what the command wrote, nothing of its executor',
  );
  const status = await tb.updateOf('status-1');
  t.equal(status.outcome, 'failed');
  t.equal(status.exitCode, 3, 'the exit status, as the command exited');
});
