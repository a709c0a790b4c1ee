import t, { type Test } from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { RealClock } from '../../src/common/clock.js';
import { UserInputError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { destroyCluster } from '../../src/provisioner/cluster/destroyCluster.js';
import { launchCluster, type LaunchClusterOptions } from '../../src/provisioner/cluster/launchCluster.js';
import { importTestKeyPair, startTestEndpoint, testCalls, testEc2Client } from '../fixtures/ec2Local.js';

const { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DescribeVpcsCommand } = ec2Sdk();

/**
 * launch-cluster --awsEc2ExtraSecurityGroupId (Toil's flag, repeatable): the leader and the static
 * workers join the extra groups besides the cluster's own; the workers the leader's daemon
 * launches later (whose provisioner is not told the groups) join the leader's groups, as Toil's
 * workers do; destroy-cluster leaves the extra groups. A group that does not exist, lies in
 * another VPC, or bears the cluster's name is refused before anything is made.
 */
const base: LaunchClusterOptions = {
  clusterName: 'xsg',
  zone: 'us-west-2a',
  zoneSource: '--zone',
  leaderNodeType: 't2.medium',
  nodeTypes: [{ instanceType: 'm5.large', market: 'on-demand' }],
  workers: [1],
  keyPairName: 'k',
  owner: 'me',
  tags: {},
  leaderStorageGiB: 50,
  nodeStorageGiB: 50,
  applianceImage: 'quay.io/ucsc_cgl/toil:1.0.0',
  waitTimeoutMs: 10_000,
  pollMs: 20,
};

async function setUp(t: Test) {
  const endpoint = await startTestEndpoint({ bootDelayMs: 20, shutdownDelayMs: 10 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  await importTestKeyPair(client, 'k');
  const deps = { calls: testCalls(client), clock: new RealClock(), log: silentLogger() };
  const defaultVpc = (await client.send(new DescribeVpcsCommand({}))).Vpcs!.find((v) => v.IsDefault)!.VpcId!;
  const group = async (name: string, vpcId = defaultVpc): Promise<string> =>
    (await client.send(new CreateSecurityGroupCommand({ GroupName: name, Description: name, VpcId: vpcId })))
      .GroupId!;
  return { endpoint, client, deps, group };
}

t.test(
  "extra groups: leader and static workers join them, the daemon's workers join the leader's groups, destroy-cluster leaves them",
  async (t) => {
    const { endpoint, deps, group } = await setUp(t);
    const lab = await group('lab-ssh');
    const monitoring = await group('monitoring');
    const lines: string[] = [];
    const cluster = await launchCluster(
      { ...base, extraSecurityGroupIds: [lab, monitoring, lab] },
      { ...deps, progress: (l) => lines.push(l) },
    );
    const groupsOf = (id: string): string[] => [...endpoint.cloud.instances.get(id)!.groupIds].sort();
    const expected = [cluster.securityGroupId, lab, monitoring].sort();
    t.same(groupsOf(cluster.leader.instanceId), expected, "the leader: the cluster's group and both extras");
    t.equal(cluster.workers.length, 1);
    t.same(groupsOf(cluster.workers[0]!.instanceId), expected, 'the static worker: the same three');
    t.ok(
      lines.includes(
        `the nodes also join ${lab}, ${monitoring} (--awsEc2ExtraSecurityGroupId); destroy-cluster leaves them`,
      ),
      lines.join('\n'),
    );

    // The leader's daemon builds its provisioner from leader.yaml, which names no extra group.
    const daemon = new AwsProvisioner({
      ...deps,
      settings: {
        clusterName: 'xsg',
        zone: 'us-west-2a',
        imageId: endpoint.cloud.instances.get(cluster.leader.instanceId)!.imageId,
        applianceImage: base.applianceImage,
        owner: 'me',
        extraTags: {},
        nodeStorageGiB: 50,
        leaderStorageGiB: 50,
      },
    });
    const later = await daemon.launch({
      offering: { instanceType: 'm5.large', zone: 'us-west-2a', market: 'spot', maxPrice: 1 },
      count: 1,
      clientToken: 'scaler-1',
    });
    t.same(groupsOf(later.nodes[0]!.instanceId), expected, "a scaler's worker joins the leader's groups");

    await destroyCluster('xsg', { ...deps, progress: () => {} }, { timeoutMs: 10_000, pollMs: 20 });
    const left = [...endpoint.cloud.securityGroups.values()].map((g) => g.id);
    t.notOk(left.includes(cluster.securityGroupId), "the cluster's own group is deleted");
    t.ok(left.includes(lab) && left.includes(monitoring), 'the extra groups are left');
  },
);

t.test(
  'an extra group that does not exist, lies in another VPC, or bears the cluster name: refused before anything is made',
  async (t) => {
    const { endpoint, client, deps, group } = await setUp(t);
    const otherVpc = (await client.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16' }))).Vpc!.VpcId!;
    const elsewhere = await group('elsewhere', otherVpc);
    const named = await group('xsg');
    // A group of the name toil-ts made for an earlier cluster 'xsg', in a VPC of its own so that
    // it stands beside the untagged one (a VPC holds one group of a name).
    const toilsVpc = (await client.send(new CreateVpcCommand({ CidrBlock: '10.4.0.0/16' }))).Vpc!.VpcId!;
    const toils = (
      await client.send(
        new CreateSecurityGroupCommand({
          GroupName: 'xsg',
          Description: 'xsg',
          VpcId: toilsVpc,
          TagSpecifications: [
            { ResourceType: 'security-group', Tags: [{ Key: 'clusterName', Value: 'xsg' }] },
          ],
        }),
      )
    ).GroupId!;
    const toilsSubnet = (
      await client.send(
        new CreateSubnetCommand({
          VpcId: toilsVpc,
          CidrBlock: '10.4.0.0/24',
          AvailabilityZone: 'us-west-2a',
        }),
      )
    ).Subnet!.SubnetId!;
    const groupsBefore = endpoint.cloud.securityGroups.size;
    const cases: [string, string, RegExp][] = [
      [
        'missing',
        'sg-0123456789abcdef0',
        /^--awsEc2ExtraSecurityGroupId sg-0123456789abcdef0: no such security group in region us-west-2$/,
      ],
      [
        'another VPC',
        elsewhere,
        new RegExp(
          `^--awsEc2ExtraSecurityGroupId ${elsewhere} is in VPC ${otherVpc}, but the cluster's nodes go into VPC vpc-\\w+ \\(the default subnet of us-west-2a\\): give a group of that VPC$`,
        ),
      ],
      [
        "the cluster's name, a group toil-ts did not make (destroy-cluster leaves it)",
        named,
        new RegExp(
          `^--awsEc2ExtraSecurityGroupId ${named} is named 'xsg', the cluster's name, which the cluster's own group takes \\(a VPC holds one group of a name\\): give a group of another name, or pick another cluster name$`,
        ),
      ],
      [
        "the cluster's name, the group toil-ts made for it (destroy-cluster deletes it)",
        toils,
        new RegExp(
          `^--awsEc2ExtraSecurityGroupId ${toils} is 'xsg', the group toil-ts made for a cluster of this name \\(its clusterName tag\\): launch-cluster reuses it as the cluster's own group and destroy-cluster deletes it with the cluster; give a group of another name$`,
        ),
      ],
    ];
    for (const [name, id, message] of cases) {
      const e = await launchCluster(
        // The tagged group's VPC is where the nodes go, so the check reached is the name's.
        { ...base, extraSecurityGroupIds: [id], ...(id === toils ? { subnetId: toilsSubnet } : {}) },
        { ...deps, progress: () => {} },
      ).catch((x: unknown) => x);
      t.ok(e instanceof UserInputError, `${name}: a user error`);
      t.equal((e as UserInputError).code, 'NO_SECURITY_GROUP', `${name}: its code`);
      t.match((e as Error).message, message, `${name}: the message`);
    }
    t.equal(endpoint.cloud.instances.size, 0, 'no instance was launched');
    t.equal(endpoint.cloud.securityGroups.size, groupsBefore, 'no group was made');
    // What each message says destroy-cluster does is what it does.
    await destroyCluster('xsg', { ...deps, progress: () => {} }, { timeoutMs: 10_000, pollMs: 20 });
    const left = [...endpoint.cloud.securityGroups.values()].map((g) => g.id);
    t.ok(left.includes(named), 'the group toil-ts did not make is left');
    t.notOk(left.includes(toils), 'the group toil-ts made for the name is deleted');
  },
);
