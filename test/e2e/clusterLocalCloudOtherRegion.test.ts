import type { Instance } from '@aws-sdk/client-ec2';
import t, { type Test } from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { importTestKeyPair, startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil, type CliResult } from '../fixtures/ec2ToilCli.js';

const { DescribeInstancesCommand, ImportKeyPairCommand } = ec2Sdk();

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

async function clusterInstances(
  client: ReturnType<typeof testEc2Client>,
  clusterName: string,
): Promise<Instance[]> {
  const out = await client.send(
    new DescribeInstancesCommand({ Filters: [{ Name: 'tag:clusterName', Values: [clusterName] }] }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

/** A local cloud with key pair `k` in `region`, and `launch-cluster NAME … --zone ZONE` run against it. */
async function launchIn(
  t: Test,
  region: string,
  clusterName: string,
  zone: string,
  nodeTypeArgs: readonly string[],
): Promise<{
  client: ReturnType<typeof testEc2Client>;
  env: { AWS_ENDPOINT_URL_EC2: string };
  launch: CliResult;
}> {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url, region);
  await client.send(
    new ImportKeyPairCommand({
      KeyName: 'k',
      PublicKeyMaterial: Buffer.from(
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl k\n',
      ),
    }),
  );
  const env = { AWS_ENDPOINT_URL_EC2: endpoint.url };
  const launch = await runToil(
    [
      'launch-cluster',
      clusterName,
      ...['--leaderNodeType', 't2.medium', ...nodeTypeArgs],
      ...['--zone', zone, '--keyPairName', 'k'],
    ],
    env,
  );
  return { client, env, launch };
}

/**
 * The local cloud is every region, each with its own zones and state, as EC2 is: a cluster
 * launched with a zone of a region other than the local cloud's home (us-west-2) is made there,
 * seen only there, and destroyed there. It was refused, every region being answered with
 * us-west-2's zones.
 */
t.test(
  'launch-cluster --zone us-east-1b against the local cloud makes the cluster in us-east-1; destroy-cluster ends it',
  async (t) => {
    const {
      client: east,
      env,
      launch,
    } = await launchIn(t, 'us-east-1', 'virginia', 'us-east-1b', [
      ...['--nodeTypes', 't2.medium', '-w', '1'],
    ]);
    t.equal(launch.code, 0, launch.stderr);
    const instances = await clusterInstances(east, 'virginia');
    t.equal(instances.length, 2, 'a leader and one worker');
    t.same(
      instances.map((i) => i.Placement?.AvailabilityZone),
      ['us-east-1b', 'us-east-1b'],
      'both in the zone asked for',
    );
    t.same(
      await clusterInstances(testEc2Client(env.AWS_ENDPOINT_URL_EC2, 'us-west-2'), 'virginia'),
      [],
      'us-west-2 has none of them',
    );

    const destroy = await runToil(['destroy-cluster', 'virginia', '--zone', 'us-east-1b'], env);
    t.equal(destroy.code, 0, destroy.stderr);
    t.same(
      (await clusterInstances(east, 'virginia')).map((i) => i.State?.Name),
      ['terminated', 'terminated'],
    );
  },
);

/**
 * A region the instance catalogue has no prices for (it lists us-east-1 and us-west-2): the
 * cluster is made, its scaler pricing the node types at us-east-1's list price, and launch-cluster
 * says so in one warning line. It was refused for every node type ("instance type t2.medium has
 * no on-demand price for region eu-west-1").
 */
t.test(
  'launch-cluster --zone eu-west-1a (no catalogue prices there) succeeds with one price warning; destroy-cluster ends it',
  async (t) => {
    const {
      client: ireland,
      env,
      launch,
    } = await launchIn(t, 'eu-west-1', 'dublin', 'eu-west-1a', [
      ...['--nodeTypes', 't2.medium,m5.large', '-w', '1,0'],
    ]);
    t.equal(launch.code, 0, launch.stderr);
    const warnings = launch.stderr
      .split('\n')
      .filter((l) => l.includes('no on-demand price for region eu-west-1'));
    t.equal(warnings.length, 1, `one price warning: ${launch.stderr}`);
    t.match(
      warnings[0],
      /t2\.medium, m5\.large priced at us-east-1's list price, so costs shown are estimates; for exact prices give scaler\.instanceTypes\.<type>\.onDemandPrice/,
    );
    const instances = await clusterInstances(ireland, 'dublin');
    t.same(
      instances.map((i) => [i.InstanceType, i.Placement?.AvailabilityZone]),
      [
        ['t2.medium', 'eu-west-1a'],
        ['t2.medium', 'eu-west-1a'],
      ],
      'a leader and one worker, in the zone asked for',
    );

    const destroy = await runToil(['destroy-cluster', 'dublin', '--zone', 'eu-west-1a'], env);
    t.equal(destroy.code, 0, destroy.stderr);
    t.same(
      (await clusterInstances(ireland, 'dublin')).map((i) => i.State?.Name),
      ['terminated', 'terminated'],
      'nothing left running',
    );
  },
);

/**
 * TOIL_AWS_ZONE wins over a region configured beside it (TOIL_AWS_REGION, AWS_REGION), as in Toil,
 * whose docs say it "overrides TOIL_AWS_REGION": launch-cluster makes the cluster in the zone's
 * region and destroy-cluster finds it there. Both were refused ("zone 'us-east-1b' is outside
 * region us-west-2 (TOIL_AWS_REGION)").
 */
t.test(
  'TOIL_AWS_ZONE=us-east-1b with TOIL_AWS_REGION=us-west-2 and AWS_REGION=eu-west-1: the cluster is made and destroyed in us-east-1',
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    const east = testEc2Client(endpoint.url, 'us-east-1');
    await importTestKeyPair(east, 'k');
    const env = {
      AWS_ENDPOINT_URL_EC2: endpoint.url,
      TOIL_AWS_ZONE: 'us-east-1b',
      TOIL_AWS_REGION: 'us-west-2',
      AWS_REGION: 'eu-west-1',
    };
    const launch = await runToil(
      ['launch-cluster', 'zoned', '--leaderNodeType', 't2.medium', '--keyPairName', 'k'],
      env,
    );
    t.equal(launch.code, 0, launch.stderr);
    t.same(
      (await clusterInstances(east, 'zoned')).map((i) => i.Placement?.AvailabilityZone),
      ['us-east-1b'],
      'the leader, in the zone',
    );
    for (const region of ['us-west-2', 'eu-west-1'])
      t.same(
        await clusterInstances(testEc2Client(endpoint.url, region), 'zoned'),
        [],
        `${region} has none of it`,
      );

    const destroy = await runToil(['destroy-cluster', 'zoned'], env);
    t.equal(destroy.code, 0, destroy.stderr);
    t.same(
      (await clusterInstances(east, 'zoned')).map((i) => i.State?.Name),
      ['terminated'],
      'destroyed in us-east-1',
    );
  },
);
