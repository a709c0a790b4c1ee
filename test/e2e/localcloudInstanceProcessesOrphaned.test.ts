import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { localClusterSettings, testCalls, testEc2Client } from '../fixtures/ec2Local.js';
import { killAndWaitForExit, makeCluster, sleep, startLocalCloud } from '../fixtures/leaderE2e.js';
import { processAlive as alive } from '../../src/common/processIdentity.js';

/**
 * A worker instance of the local cloud runs its user data's `toil rebalance-watch` as a process
 * of its own. On EC2 the instance's end ends it; here the local cloud's must, even a local cloud
 * killed with -9 (a test's teardown, a daemon's crash), which cannot stop it: the watch notices
 * its local cloud is gone and exits, rather than polling a dead metadata service for ever.
 */
const CLUSTER = 'lc-orphan';

/** The pid of the process of instance `id` whose command line names `what`, if it runs. */
function instanceProcess(id: string, what: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (cmdline.includes(what) && environ.includes(`TOIL_INSTANCE_ID=${id}`)) return Number(name);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return undefined;
}

t.test("a worker's rebalance watch exits once its local cloud is killed with -9", async (t) => {
  const cloud = await startLocalCloud();
  await makeCluster(cloud.ec2Url, CLUSTER);
  const client = testEc2Client(cloud.ec2Url);
  t.teardown(() => client.destroy());
  const provisioner = new AwsProvisioner({
    calls: testCalls(client),
    settings: localClusterSettings(CLUSTER),
    clock: new RealClock(),
    log: silentLogger(),
  });
  const { nodes } = await provisioner.launch({
    offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
    count: 1,
    clientToken: 'worker',
    role: 'worker',
  });
  const id = nodes[0]!.instanceId;
  let watch: number | undefined;
  for (let i = 0; i < 200 && watch === undefined; i++) {
    watch = instanceProcess(id, 'rebalance-watch');
    if (watch === undefined) await sleep(100);
  }
  t.ok(watch, 'the worker runs its rebalance watch');
  t.teardown(() => {
    if (watch !== undefined && alive(watch)) process.kill(watch, 'SIGKILL');
  });

  await killAndWaitForExit(cloud.child);
  for (let i = 0; i < 100 && alive(watch!); i++) await sleep(100);
  t.notOk(alive(watch!), 'the watch exited within 10 s of its local cloud');
});
