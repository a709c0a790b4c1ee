import t, { type Test } from 'tap';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { endpointWithKeyPair, motoForClusters, testEc2Client } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

const {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  RunInstancesCommand,
} = ec2Sdk();

/**
 * A security group whose name is the cluster name a user picks, holding an instance of theirs
 * that toil-ts did not launch (no clusterName tag on either), is not a cluster: launch-cluster
 * refuses the name without advising destroy-cluster, and destroy-cluster terminates and deletes
 * nothing of it, saying so, while a cluster toil-ts made is still removed whole.
 */
// Two launches and three destroys a cloud, as separate processes: a loaded two-core machine took
// most of a minute for them, past a 60 s bound.
t.setTimeout(180_000);

/** The local cloud, and moto_server (another implementation of EC2's tags and filters). */
const clouds: [name: string, skip: string | false, setUp: (t: Test) => Promise<Cloud>][] = [
  [
    'the local cloud',
    false,
    async (t) => {
      const { endpoint, env } = await endpointWithKeyPair(t);
      const ec2 = testEc2Client(endpoint.url);
      t.teardown(() => ec2.destroy());
      return { ec2, env, imageId: LOCAL_IMAGE.imageId };
    },
  ],
  [
    'moto_server',
    motoAvailable() ? false : MOTO_MISSING_REASON,
    async (t) => {
      const { ec2, env } = await motoForClusters(t);
      return { ec2, env, imageId: env.TOIL_AWS_AMI! };
    },
  ],
];

interface Cloud {
  ec2: EC2Client;
  env: Record<string, string>;
  imageId: string;
}

for (const [cloud, skip, setUp] of clouds)
  t.test(
    `${cloud}: a same-named security group toil-ts did not make, and its instance, survive launch- and destroy-cluster; toil-ts's own cluster is destroyed whole`,
    { skip },
    async (t) => {
      const { ec2, env: cloudEnv, imageId } = await setUp(t);
      const env = { ...cloudEnv, TOIL_AWS_ZONE: 'us-west-2a' };
      const stateOf = async (id: string): Promise<string> =>
        (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]
          ?.Instances?.[0]?.State?.Name ?? 'terminated';
      const vpcId = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.find((v) => v.IsDefault)!.VpcId!;
      const groupId = (
        await ec2.send(
          new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'my web servers', VpcId: vpcId }),
        )
      ).GroupId!;
      const instanceId = (
        await ec2.send(
          new RunInstancesCommand({
            ImageId: imageId,
            InstanceType: 't2.micro',
            MinCount: 1,
            MaxCount: 1,
            SecurityGroupIds: [groupId],
            Placement: { AvailabilityZone: 'us-west-2a' },
          }),
        )
      ).Instances![0]!.InstanceId!;
      const stateOfTheirs = (): Promise<string> => stateOf(instanceId);
      const groupIds = async (): Promise<string[]> =>
        ((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [])
          .filter((g) => g.GroupName === 'web')
          .map((g) => g.GroupId!)
          .sort();

      const launch = await runToil(
        ['launch-cluster', 'web', '--leaderNodeType', 't2.medium', '--keyPairName', 'k'],
        env,
      );
      t.equal(launch.code, 2, 'launch-cluster refuses the name: exit 2');
      t.equal(
        launch.stderr,
        `toil: a security group named 'web' (${groupId}) exists that toil-ts did not make (it has no clusterName tag of a toil-ts cluster): pick another cluster name\n`,
        'one line naming the group, advising another name and not destroy-cluster',
      );
      t.equal(await stateOfTheirs(), 'running', 'their instance still runs after the refusal');
      t.same(await groupIds(), [groupId], 'and their group is all there is of the name');

      const destroyForeign = await runToil(['destroy-cluster', 'web'], env);
      t.equal(destroyForeign.code, 2, 'destroy-cluster finds no toil-ts cluster: exit 2');
      t.equal(
        destroyForeign.stderr,
        `toil: no toil-ts cluster named 'web' in region us-west-2; a security group 'web' (${groupId}) exists but toil-ts did not make it: left alone\n`,
      );
      t.notMatch(destroyForeign.stdout, /terminating|deleting/, 'nothing terminated or deleted');
      t.equal(await stateOfTheirs(), 'running', 'their instance still runs after destroy-cluster');
      t.same(await groupIds(), [groupId], 'their group is still there');

      // Group names are per VPC: a toil-ts cluster 'web' in another VPC is the user's to destroy,
      // and destroying it still leaves their group of the name in the default VPC.
      const otherVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
      const subnetId = (
        await ec2.send(
          new CreateSubnetCommand({
            VpcId: otherVpc,
            CidrBlock: '10.20.1.0/24',
            AvailabilityZone: 'us-west-2a',
          }),
        )
      ).Subnet!.SubnetId!;
      const own = await runToil(
        [
          'launch-cluster',
          'web',
          '--leaderNodeType',
          't2.medium',
          '--keyPairName',
          'k',
          '--vpcSubnet',
          subnetId,
        ],
        env,
      );
      t.equal(own.code, 0, own.stderr);
      const ownGroup = /security group (sg-[0-9a-f]+) \(web\) created/.exec(own.stdout)?.[1];
      const ownLeader = /leader (i-[0-9a-f]+) \(t2\.medium\) launched/.exec(own.stdout)?.[1];
      t.ok(ownGroup && ownLeader && ownGroup !== groupId, own.stdout);
      t.equal(
        await stateOfTheirs(),
        'running',
        'their instance still runs after the launch in the other VPC',
      );

      const destroyOwn = await runToil(['destroy-cluster', 'web'], env);
      t.equal(destroyOwn.code, 0, destroyOwn.stderr);
      t.equal(destroyOwn.stderr, '');
      const lines = destroyOwn.stdout.trimEnd().split('\n');
      t.same(
        lines.filter((l) => /terminating|deleting/.test(l)),
        [`terminating leader ${ownLeader} (running)`, `deleting security group ${ownGroup}`],
        "only the toil-ts cluster's leader and group are ended",
      );
      t.equal(
        lines.at(-1),
        `a security group 'web' (${groupId}) exists but toil-ts did not make it: left alone`,
        'and the group left alone is named',
      );
      t.equal(await stateOf(ownLeader!), 'terminated', 'its leader is gone');
      if (cloud === 'moto_server')
        t.match(
          destroyOwn.stdout,
          'deleted IAM role toil-web-leader and its policies\ndeleted IAM role toil-web-worker and its policies\n',
          'and its IAM roles',
        );
      t.same(await groupIds(), [groupId], 'its group is deleted, theirs is still there');
      t.equal(await stateOfTheirs(), 'running', 'their instance still runs');
    },
  );
