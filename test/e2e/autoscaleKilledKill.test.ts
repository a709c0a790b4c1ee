import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { processAlive } from '../../src/common/processIdentity.js';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { AwsCluster } from '../../src/provisioner/aws/awsCluster.js';
import { testCalls, testEc2Client } from '../fixtures/ec2Local.js';
import {
  autoscaledRunArgs,
  liveWorkers,
  sleep,
  startClusterCloud,
  startToilProcess,
} from '../fixtures/leaderE2e.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil run … --provisioner aws` killed with -9 while a service and its host's child run on a
 * node of the local cloud. `toil kill` then has no leader to ask: it says so (exit 2) and what to
 * do, instead of "asked the leader … to stop" and exit 0. `toil kill --force` names what the run
 * was (a toil run, not a daemon a restart would resume) and the tasks it cancelled.
 */
t.setTimeout(240_000);

t.test('toil kill of a store whose toil run --provisioner aws was killed says no leader runs', async (t) => {
  const dir = testDir(t, { work: {} });
  const cloud = await startClusterCloud(t, 'killrun');
  const workDir = join(dir, 'work');
  const pidFile = join(dir, 'server.pid');
  const env = { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: workDir };
  const run = startToilProcess(
    autoscaledRunArgs(
      ['test/fixtures/workflowServiceSpawns.ts', 'file:js', pidFile],
      cloud,
      'killrun',
      workDir,
    ),
    { cwd: dir, env },
  );
  t.teardown(() => void run.child.kill('SIGKILL'));
  for (let i = 0; i < 1200 && !existsSync(pidFile); i++) await sleep(100);
  const serverPid = Number(readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    if (processAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
  });
  t.ok(processAlive(serverPid), "the service's own process runs");
  // Its host's child starts on the same node once the service is up.
  for (let i = 0; i < 300 && (await runningTasks(cloud.mesosMaster)) < 2; i++) await sleep(100);
  t.equal(await runningTasks(cloud.mesosMaster), 2, 'the service and the child run');
  run.child.kill('SIGKILL');
  await run.done;
  const live = await liveWorkers(cloud.ec2Url);
  t.equal(live.length, 1, 'the killed run left its node running');

  const kill = await runToil(['kill', 'file:js'], { cwd: dir, env });
  t.equal(kill.code, 2, 'nothing was asked of anyone: not a success');
  t.notMatch(kill.stderr, /asked the leader/);
  t.match(
    kill.stderr,
    /^toil: no leader is running the workflow in job store file:js: the toil run --provisioner aws that led it \(pid \d+ on this machine, generation 0\) is gone, so nothing was asked to stop$/m,
  );
  t.match(kill.stderr, /toil kill --force file:js cancels the jobs it left running/);
  t.match(
    kill.stderr,
    new RegExp(
      `nodes: +1 worker instance\\(s\\) of cluster killrun [^]*  ${live[0]!.id} \\(on-demand[^]*  resume it `,
    ),
    'and names the nodes it left',
  );

  const force = await runToil(['kill', '--force', 'file:js'], { cwd: dir, env });
  t.equal(force.code, 0, force.stderr);
  t.notMatch(force.stderr, /daemon/, 'a toil run is no daemon');
  t.match(
    force.stderr,
    /toil: --force: the toil run --provisioner aws that led this workflow \(pid \d+\) is not running; the jobs it left running are cancelled here \(toil run … --restart resumes the workflow: its job store is kept\)/,
  );
  t.match(force.stderr, /toil: --force: cancelled 2 running task\(s\) of framework \S+ on the Mesos master/);
  // Mesos kills a torn-down task's whole container: the processes the service started go too.
  for (let i = 0; i < 100 && processAlive(serverPid); i++) await sleep(100);
  t.notOk(processAlive(serverPid), "the process the service started is gone with the service's task");

  // The cluster's leader gone too: a --restart without --mesosMaster has no default master to
  // take, so it is refused before a leader starts; the refusal names what the killed run left
  // running and how to end it, which nothing else would mention.
  await terminateLeader(cloud.ec2Url, 'killrun');
  const args = autoscaledRunArgs(
    ['test/fixtures/workflowServiceSpawns.ts', 'file:js', pidFile],
    cloud,
    'killrun',
    workDir,
  );
  const master = args.indexOf('--mesosMaster');
  args.splice(master, 2);
  const restart = await runToil([...args, '--restart'], { cwd: dir, env });
  t.equal(restart.code, 2, `refused as a user's to fix: ${restart.stderr.slice(-1500)}`);
  t.match(
    restart.stderr,
    /^toil: no --mesosMaster given, and its default \(the private address of cluster killrun's leader, port 5050\) is unknown: cluster 'killrun' has no leader/m,
  );
  t.match(
    restart.stderr,
    new RegExp(
      `the killed run on this job store left what follows; a refused run neither adopts nor releases it:\\n` +
        `nodes: +1 worker instance\\(s\\) of cluster killrun [^]*  ${live[0]!.id} \\(on-demand[^]*` +
        `or give it up: aws ec2 terminate-instances --region us-west-2 --instance-ids ${live[0]!.id}`,
    ),
  );
  t.same(
    (await liveWorkers(cloud.ec2Url)).map((w) => w.id),
    [live[0]!.id],
    'the node is still there, as the refusal says',
  );
});

/** Terminates the cluster's leader instance on the local cloud. */
async function terminateLeader(ec2Url: string, clusterName: string): Promise<void> {
  const client = testEc2Client(ec2Url);
  try {
    const calls = testCalls(client);
    const cluster = new AwsCluster({ calls, clusterName, clock: new RealClock(), log: silentLogger() });
    const leaders = (await cluster.liveInstances()).filter((n) => n.role === 'leader');
    if (leaders.length !== 1)
      throw new Error(`expected one leader of ${clusterName}, found ${leaders.length}`);
    const { TerminateInstancesCommand } = ec2Sdk();
    await client.send(new TerminateInstancesCommand({ InstanceIds: [leaders[0]!.instanceId] }));
  } finally {
    client.destroy();
  }
}

/** Tasks the local Mesos master lists as running, of any framework. */
async function runningTasks(master: string): Promise<number> {
  const state = (await (await fetch(`http://${master}/master/state`)).json()) as {
    frameworks: { tasks: { state: string }[] }[];
  };
  return state.frameworks.flatMap((f) => f.tasks).filter((task) => task.state === 'TASK_RUNNING').length;
}
