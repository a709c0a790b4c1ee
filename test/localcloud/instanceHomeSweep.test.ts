import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { processAlive, thisProcess } from '../../src/common/processIdentity.js';
import { startEc2Endpoint } from '../../src/localcloud/ec2/index.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { createClusterGroup, localClusterSettings, testCalls, testEc2Client } from '../fixtures/ec2Local.js';
import { sleep, startLocalCloud, type RunningProcess } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A local cloud killed with kill -9 cannot remove its instances' homes from the temp dir; the next
 * local cloud to start on this machine does, and keeps those of a local cloud still running.
 */

// Two `toil localcloud` processes, their agents and their instances' watches on a busy machine.
t.setTimeout(180_000);

const homesIn = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n.startsWith('toil-localcloud-i-'))
    .map((n) => join(dir, n));

/**
 * `toil localcloud` (EC2 endpoint and Mesos master) with its temp dir in `tmp`, and one running
 * worker, whose agent and rebalance watch are its processes: resolves once their homes are made.
 */
async function cloudWithRunningWorker(
  t: Test,
  tmp: string,
  name: string,
): Promise<{ cloud: RunningProcess; homes: string[]; instancePids: number[] }> {
  const before = new Set(homesIn(tmp));
  const cloud = await startLocalCloud([], { env: { TMPDIR: tmp } });
  t.teardown(() => void cloud.child.kill('SIGKILL'));
  const calls = testCalls(testEc2Client(cloud.ec2Url));
  await createClusterGroup(calls, name, 'us-west-2a');
  const p = new AwsProvisioner({
    calls,
    clock: new RealClock(),
    log: silentLogger(),
    settings: localClusterSettings(name),
  });
  for (const role of ['leader', 'worker'] as const)
    await p.launch({
      offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
      count: 1,
      clientToken: role,
      role,
    });
  // The agent and the rebalance watch each have a home of their own.
  const until = Date.now() + 60_000;
  let homes = homesIn(tmp).filter((h) => !before.has(h));
  while (homes.length < 2) {
    if (Date.now() > until) throw new Error(`no instance homes in ${tmp}:\n${cloud.output().slice(-3000)}`);
    await sleep(100);
    homes = homesIn(tmp).filter((h) => !before.has(h));
  }
  const state = (await (await fetch(`${cloud.ec2Url}/_localcloud/state`)).json()) as {
    instances: { agentPid?: number }[];
  };
  const instancePids = state.instances.flatMap((i) => (i.agentPid ? [i.agentPid] : []));
  // Whatever outlives its cloud is not this test's to leave running.
  t.teardown(() => {
    for (const pid of instancePids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  return { cloud, homes, instancePids };
}

t.test(
  'a starting local cloud removes the instance homes of one killed with kill -9, and keeps those of one still running',
  async (t) => {
    const tmp = testDir(t, {});
    const running = await cloudWithRunningWorker(t, tmp, 'running');
    const killed = await cloudWithRunningWorker(t, tmp, 'killed');
    for (const home of killed.homes)
      t.same(
        JSON.parse(readFileSync(join(home, 'owner.json'), 'utf8')),
        { ...thisProcess(), pid: killed.cloud.child.pid },
        'each home names the local cloud that made it (host, boot, pid namespace, pid)',
      );
    killed.cloud.child.kill('SIGKILL');
    await killed.cloud.done;
    // Its agent stops once it is gone (checked every second), as an instance goes with its cloud.
    const until = Date.now() + 30_000;
    while (killed.instancePids.some(processAlive) && Date.now() < until) await sleep(100);
    t.same(killed.instancePids.filter(processAlive), [], 'the killed cloud’s agent stopped on its own');
    for (const home of killed.homes) t.ok(existsSync(home), `kill -9 leaves ${home}`);

    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    t.teardown(() => {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    });
    const next = await startEc2Endpoint({ clock: new RealClock(), log: silentLogger() });
    t.teardown(() => next.stop());
    for (const home of killed.homes) t.notOk(existsSync(home), `the next local cloud removed ${home}`);
    for (const home of running.homes) t.ok(existsSync(home), `and kept ${home}, whose local cloud runs`);

    running.cloud.child.kill('SIGTERM');
    await running.cloud.done;
    t.same(homesIn(tmp), [], 'the running one removes its own when it stops');
  },
);
