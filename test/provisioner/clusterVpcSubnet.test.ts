import t, { type Test } from 'tap';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { RealClock } from '../../src/common/clock.js';
import { UserInputError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { launchCluster, type LaunchClusterOptions } from '../../src/provisioner/cluster/launchCluster.js';
import { importTestKeyPair, startTestEndpoint, testCalls, testEc2Client } from '../fixtures/ec2Local.js';

const {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeSubnetsCommand,
  ModifySubnetAttributeCommand,
} = ec2Sdk();

/**
 * launch-cluster --vpcSubnet (Toil's flag): the cluster's group is made in the subnet's VPC, the
 * leader and the static workers go into the subnet, and the workers the leader's daemon launches
 * later in the leader's zone go there too; other zones keep the VPC's default or first subnet.
 */
const base: LaunchClusterOptions = {
  clusterName: 'net',
  zone: 'us-west-2a',
  zoneSource: '--zone',
  leaderNodeType: 't2.medium',
  nodeTypes: [{ instanceType: 'm5.large', market: 'on-demand' }],
  workers: [2],
  keyPairName: 'k',
  owner: 'me',
  tags: {},
  leaderStorageGiB: 50,
  nodeStorageGiB: 50,
  applianceImage: 'quay.io/ucsc_cgl/toil:1.0.0',
  waitTimeoutMs: 10_000,
  pollMs: 20,
};

async function subnet(client: EC2Client, vpcId: string, cidr: string, zone: string): Promise<string> {
  const out = await client.send(
    new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }),
  );
  return out.Subnet!.SubnetId!;
}

async function setUp(t: Test) {
  const endpoint = await startTestEndpoint({ bootDelayMs: 20, shutdownDelayMs: 10 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  await importTestKeyPair(client, 'k');
  const deps = { calls: testCalls(client), clock: new RealClock(), log: silentLogger() };
  return { endpoint, client, deps };
}

t.test(
  "--vpcSubnet: the group in the subnet's VPC, leader and workers in the subnet, and the daemon's later workers in the leader's subnet",
  async (t) => {
    const { endpoint, client, deps } = await setUp(t);
    const vpc = await client.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }));
    const vpcId = vpc.Vpc!.VpcId!;
    t.equal(vpc.Vpc!.IsDefault, false);
    // The VPC's first subnet in the zone is not the one named: "the VPC's first subnet" would miss.
    const other = await subnet(client, vpcId, '10.1.0.0/24', 'us-west-2a');
    const chosen = await subnet(client, vpcId, '10.1.1.0/24', 'us-west-2a');
    const zoneB = await subnet(client, vpcId, '10.1.2.0/24', 'us-west-2b');
    await client.send(
      new ModifySubnetAttributeCommand({ SubnetId: chosen, MapPublicIpOnLaunch: { Value: true } }),
    );
    const described = await client.send(new DescribeSubnetsCommand({ SubnetIds: [chosen] }));
    t.match(described.Subnets, [
      {
        SubnetId: chosen,
        VpcId: vpcId,
        DefaultForAz: false,
        MapPublicIpOnLaunch: true,
        CidrBlock: '10.1.1.0/24',
      },
    ]);

    // A group of the cluster's name left in the default VPC, as by a launch that failed there.
    await client.send(new CreateSecurityGroupCommand({ GroupName: 'net', Description: 'left over' }));

    const lines: string[] = [];
    const cluster = await launchCluster(
      { ...base, subnetId: chosen },
      { ...deps, progress: (l) => lines.push(l) },
    );
    const inst = (id: string) => endpoint.cloud.instances.get(id)!;
    t.equal(
      endpoint.cloud.securityGroups.get(cluster.securityGroupId)!.vpcId,
      vpcId,
      "the group is in the subnet's VPC",
    );
    t.equal(inst(cluster.leader.instanceId).subnetId, chosen, 'the leader is in the subnet');
    t.match(inst(cluster.leader.instanceId).privateIp, /^10\.1\.1\./);
    t.equal(cluster.workers.length, 2);
    t.same(
      cluster.workers.map((w) => inst(w.instanceId).subnetId),
      [chosen, chosen],
      'the static workers are in the subnet',
    );
    t.ok(lines.includes(`leader and workers go into subnet ${chosen} (VPC ${vpcId})`), lines.join('\n'));

    // The leader's daemon builds its provisioner from leader.yaml, which names no subnet: it
    // finds the leader's own.
    const daemon = new AwsProvisioner({
      ...deps,
      settings: {
        clusterName: 'net',
        zone: 'us-west-2a',
        imageId: inst(cluster.leader.instanceId).imageId,
        applianceImage: base.applianceImage,
        owner: 'me',
        extraTags: {},
        nodeStorageGiB: 50,
        leaderStorageGiB: 50,
      },
    });
    const sameZone = await daemon.launch({
      offering: { instanceType: 'm5.large', zone: 'us-west-2a', market: 'on-demand' },
      count: 1,
      clientToken: 'scaler-a',
    });
    t.equal(
      inst(sameZone.nodes[0]!.instanceId).subnetId,
      chosen,
      "a scaler launch in the leader's zone joins the leader's subnet",
    );
    t.not(inst(sameZone.nodes[0]!.instanceId).subnetId, other);
    const otherZone = await daemon.launch({
      offering: { instanceType: 'm5.large', zone: 'us-west-2b', market: 'on-demand' },
      count: 1,
      clientToken: 'scaler-b',
    });
    t.equal(inst(otherZone.nodes[0]!.instanceId).subnetId, zoneB, "another zone: the VPC's subnet there");
  },
);

t.test(
  '--vpcSubnet that does not exist, or lies in another zone: refused before anything is made',
  async (t) => {
    const { endpoint, client, deps } = await setUp(t);
    const vpcId = (await client.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' }))).Vpc!.VpcId!;
    const inB = await subnet(client, vpcId, '10.2.0.0/24', 'us-west-2b');
    const groupsBefore = endpoint.cloud.securityGroups.size;

    const missing = await launchCluster(
      { ...base, subnetId: 'subnet-0123456789abcdef0' },
      { ...deps, progress: () => {} },
    ).catch((e: unknown) => e);
    t.ok(missing instanceof UserInputError);
    t.equal((missing as UserInputError).code, 'NO_SUBNET');
    t.equal(
      (missing as Error).message,
      '--vpcSubnet subnet-0123456789abcdef0: no such subnet in region us-west-2',
    );

    const wrongZone = await launchCluster({ ...base, subnetId: inB }, { ...deps, progress: () => {} }).catch(
      (e: unknown) => e,
    );
    t.ok(wrongZone instanceof UserInputError);
    t.equal((wrongZone as UserInputError).code, 'SUBNET_ZONE_MISMATCH');
    t.equal(
      (wrongZone as Error).message,
      `--vpcSubnet ${inB} is in zone us-west-2b, but the cluster's zone is us-west-2a (--zone): give --zone us-west-2b, or a subnet in us-west-2a`,
    );
    t.equal(endpoint.cloud.securityGroups.size, groupsBefore, 'no group made');
    t.equal(endpoint.cloud.instances.size, 0, 'no instance made');
  },
);

t.test(
  "without --vpcSubnet: the zone's default subnet, even when another VPC has subnets there",
  async (t) => {
    const { endpoint, client, deps } = await setUp(t);
    const vpcId = (await client.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16' }))).Vpc!.VpcId!;
    await subnet(client, vpcId, '10.3.0.0/24', 'us-west-2a');
    const defaultSubnet = endpoint.cloud.subnets.find((s) => s.zone === 'us-west-2a' && s.defaultForAz)!;
    const lines: string[] = [];
    const cluster = await launchCluster(base, { ...deps, progress: (l) => lines.push(l) });
    t.equal(endpoint.cloud.securityGroups.get(cluster.securityGroupId)!.vpcId, endpoint.cloud.vpcId);
    t.same(
      [cluster.leader, ...cluster.workers].map((n) => endpoint.cloud.instances.get(n.instanceId)!.subnetId),
      [defaultSubnet.id, defaultSubnet.id, defaultSubnet.id],
    );
    t.notOk(
      lines.some((l) => l.includes('subnet')),
      'no word of subnets when none was named',
    );
  },
);

t.test('a zone with no default subnet: the error names --vpcSubnet', async (t) => {
  const { endpoint, deps } = await setUp(t);
  // As in an account whose default VPC was deleted: no subnet is the default for its zone.
  endpoint.cloud.subnets.splice(0, endpoint.cloud.subnets.length);
  const e = await launchCluster(base, { ...deps, progress: () => {} }).catch((x: unknown) => x);
  t.ok(e instanceof UserInputError);
  t.equal(
    (e as Error).message,
    'the account has no default subnet in zone us-west-2a (no default VPC?): name one with --vpcSubnet SUBNET_ID',
  );
});
