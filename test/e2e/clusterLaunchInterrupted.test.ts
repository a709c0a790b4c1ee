import t, { type Test } from 'tap';
import { importTestKeyPair, startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil, spawnToil } from '../fixtures/ec2ToilCli.js';

/**
 * A launch-cluster stopped with Ctrl-C, or refused its leader by EC2, leaves nothing of the
 * cluster behind: no instance billing, no security group holding the name.
 */
t.setTimeout(120_000);

/**
 * Starts `launch-cluster NAME` against a local EC2 whose leader stays pending, and sends `signal`
 * once it waits for the leader; with `readerGone`, the reader of its stdout goes first (a closed
 * terminal, `| head`). Resolves to its exit code, output, and the cluster's instances and groups left.
 */
async function interruptLaunch(
  t: Test,
  name: string,
  signal: NodeJS.Signals,
  readerGone = false,
): Promise<{ code: number | null; stdout: string; stderr: string; live: string[]; groups: string[] }> {
  // The leader stays pending long enough to be interrupted while launch-cluster waits for it.
  const endpoint = await startTestEndpoint({ bootDelayMs: 60_000 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  t.teardown(() => client.destroy());
  await importTestKeyPair(client, 'k');
  const launch = spawnToil(
    t,
    [
      'launch-cluster',
      name,
      ...['--leaderNodeType', 't2.medium', '--nodeTypes', 'm5.large', '-w', '2'],
      ...['--zone', 'us-west-2a', '--keyPairName', 'k'],
    ],
    { AWS_ENDPOINT_URL_EC2: endpoint.url },
  );
  await launch.untilStdout(/waiting for it to run/);
  if (readerGone) launch.child.stdout.destroy();
  launch.child.kill(signal);
  const code = await launch.exited;
  const live = [...endpoint.cloud.instances.values()]
    .filter(
      (i) => i.tags.get('clusterName') === name && i.state !== 'terminated' && i.state !== 'shutting-down',
    )
    .map((i) => i.id);
  const groups = [...endpoint.cloud.securityGroups.values()].filter((g) => g.name === name).map((g) => g.id);
  return { code, stdout: launch.stdout(), stderr: launch.stderr(), live, groups };
}

t.test('Ctrl-C while the leader boots removes the leader and the security group, exit 130', async (t) => {
  const r = await interruptLaunch(t, 'cut', 'SIGINT');
  t.equal(r.code, 130, `exit 130, as a shell reports Ctrl-C (${r.stderr})`);
  t.match(r.stdout, /interrupted: removing what was made of cluster 'cut'/);
  t.match(r.stderr, /^toil: launch-cluster cut interrupted by SIGINT$/m);
  t.same(r.live, [], 'no instance of the cluster is left');
  t.same(r.groups, [], 'its security group is gone');
});

t.test('a closed terminal (SIGHUP, its output gone) removes what the launch made, exit 129', async (t) => {
  // Node's default for SIGHUP ended the process at once, and the next write to a stdout nobody
  // reads threw EPIPE: either way the leader and its group were left running.
  const r = await interruptLaunch(t, 'hungup', 'SIGHUP', true);
  t.equal(r.code, 129, `exit 129, as a shell reports SIGHUP (${r.stderr})`);
  t.match(r.stderr, /^toil: launch-cluster hungup interrupted by SIGHUP$/m);
  t.notMatch(r.stderr, /EPIPE|at .*\.js:\d+/, 'no stack trace');
  t.same(r.live, [], 'no instance of the cluster is left');
  t.same(r.groups, [], 'its security group is gone');
});

t.test("EC2's refusal of the leader removes the security group made for it", async (t) => {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  t.teardown(() => client.destroy());
  await importTestKeyPair(client, 'k');
  endpoint.faults.refuseCapacity({ instanceType: 't2.medium', market: 'on-demand' });
  const r = await runToil(
    ['launch-cluster', 'refused', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'us-west-2a'],
    { AWS_ENDPOINT_URL_EC2: endpoint.url },
  );
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /the launch failed: removing what was made of cluster 'refused'/);
  t.same(
    [...endpoint.cloud.securityGroups.values()].filter((g) => g.name === 'refused').map((g) => g.id),
    [],
    'no security group is left holding the name',
  );
});
