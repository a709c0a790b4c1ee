import { join } from 'node:path';
import t from 'tap';
import { FAST_SCALING, liveWorkers, startClusterCloud, startToilProcess } from '../fixtures/leaderE2e.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil run … --provisioner aws` of a host whose two 8-core services and their 1-core user need
 * three 8-core nodes at once, under --maxNodes 2: each fits a node alone, so the check before
 * launching let it through, and the run launched two nodes, started both services and waited
 * until --deadlockWait failed it ("the scaler added none"). Refused once the host has run, before
 * its services are issued: one line naming the host, its services and the limit, exit 2.
 */
t.setTimeout(180_000);

t.test('a host whose services cannot all run at once under --maxNodes is refused, naming them', async (t) => {
  const dir = testDir(t, { work: {} });
  const cloud = await startClusterCloud(t, 'together');
  const run = startToilProcess(
    [
      ...['run', join(REPO_ROOT, 'test/fixtures/workflowServicesTogether.ts'), 'file:js'],
      ...['--provisioner', 'aws', '--nodeTypes', 'c5.2xlarge', '--maxNodes', '2', ...FAST_SCALING],
      ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster, '--zone', 'us-west-2a'],
      ...['--clusterName', 'together', '--workDir', join(dir, 'work'), '--deadlockWait', '30'],
    ],
    { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
  );
  t.teardown(() => void run.child.kill('SIGKILL'));
  const r = await run.done;
  t.equal(r.code, 2, `exit 2 (output: ${run.output().slice(-3000)})`);
  t.match(
    r.stderr,
    /^toil: job 'host' adds services 'dbA' \(8 cores, [^)]*\), 'dbB' \(8 cores, [^)]*\) that run all at once, with room for its job 'use' \(1 cores, [^)]*\) beside them, but the nodes this run may launch cannot hold them together under --maxNodes 2 \(c5\.2xlarge\): they need 3 node\(s\) at once/m,
  );
  t.notMatch(
    run.output(),
    /service deadlocked|WorkflowWouldHangError: |\bat \S+\.ts:\d+/,
    'no deadlock, no stack',
  );
  t.same(await liveWorkers(cloud.ec2Url), [], 'every node released');
});
