import t, { type Test } from 'tap';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable, startMoto } from '../fixtures/motoServer.js';

const {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
} = ec2Sdk();

/**
 * VPCs and subnets of one's own (CreateVpc, CreateSubnet, ModifySubnetAttribute), as EC2 has them:
 * what launch-cluster --vpcSubnet is tested on. The same checks run against moto_server, so the
 * local endpoint's wire form and errors are EC2's as another emulator reads them.
 */
async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { name?: string }).name;
  }
}

const createSubnet = (client: EC2Client, vpcId: string, cidr: string, zone: string) =>
  client.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }));

async function vpcAndSubnetChecks(t: Test, client: EC2Client): Promise<{ vpcId: string; subnetId: string }> {
  const vpc = (await client.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!;
  t.match(vpc, { CidrBlock: '10.9.0.0/16', IsDefault: false });
  const vpcId = vpc.VpcId!;
  t.match(vpcId, /^vpc-[0-9a-f]+$/);
  const listed = await client.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
  t.match(listed.Vpcs, [{ VpcId: vpcId, IsDefault: false, CidrBlock: '10.9.0.0/16' }]);
  const defaults = await client.send(
    new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }),
  );
  t.notOk(
    defaults.Vpcs?.some((v) => v.VpcId === vpcId),
    'a VPC one makes is not the default',
  );

  const made = (await createSubnet(client, vpcId, '10.9.1.0/24', 'us-west-2a')).Subnet!;
  t.match(made, {
    VpcId: vpcId,
    CidrBlock: '10.9.1.0/24',
    AvailabilityZone: 'us-west-2a',
    DefaultForAz: false,
    MapPublicIpOnLaunch: false,
  });
  const subnetId = made.SubnetId!;
  t.match(subnetId, /^subnet-[0-9a-f]+$/);
  const inVpc = await client.send(
    new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
  );
  t.same(
    inVpc.Subnets?.map((s) => s.SubnetId),
    [subnetId],
  );
  const defaultForZone = await client.send(
    new DescribeSubnetsCommand({
      Filters: [
        { Name: 'availability-zone', Values: ['us-west-2a'] },
        { Name: 'default-for-az', Values: ['true'] },
      ],
    }),
  );
  t.notOk(
    defaultForZone.Subnets?.some((s) => s.SubnetId === subnetId),
    'not the default subnet of its zone',
  );

  await client.send(
    new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }),
  );
  const after = await client.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }));
  t.equal(after.Subnets?.[0]?.MapPublicIpOnLaunch, true, 'ModifySubnetAttribute turns public addresses on');

  t.equal(
    await errorCode(createSubnet(client, vpcId, '10.9.1.128/25', 'us-west-2b')),
    'InvalidSubnet.Conflict',
    'overlapping another subnet',
  );
  t.equal(
    await errorCode(createSubnet(client, vpcId, '10.8.0.0/24', 'us-west-2a')),
    'InvalidSubnet.Range',
    "outside the VPC's block",
  );
  t.equal(
    await errorCode(createSubnet(client, 'vpc-0123456789abcdef0', '10.9.2.0/24', 'us-west-2a')),
    'InvalidVpcID.NotFound',
  );
  t.equal(
    await errorCode(client.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0123456789abcdef0'] }))),
    'InvalidSubnetID.NotFound',
  );
  return { vpcId, subnetId };
}

t.test("the local endpoint: VPCs and subnets of one's own, and launching into them", async (t) => {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  const { vpcId, subnetId } = await vpcAndSubnetChecks(t, client);

  const second = (await createSubnet(client, vpcId, '10.9.2.0/24', 'us-west-2a')).Subnet!.SubnetId!;
  const group = (
    await client.send(new CreateSecurityGroupCommand({ GroupName: 'g', Description: 'g', VpcId: vpcId }))
  ).GroupId!;
  const run = (o: { subnet?: string; groups?: string[]; zone?: string }) =>
    client.send(
      new RunInstancesCommand({
        ImageId: LOCAL_IMAGE.imageId,
        InstanceType: 't2.medium',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: o.subnet,
        SecurityGroupIds: o.groups,
        ...(o.zone ? { Placement: { AvailabilityZone: o.zone } } : {}),
      }),
    );
  const inFirst = (await run({ subnet: subnetId, groups: [group] })).Instances![0]!;
  t.match(inFirst, { SubnetId: subnetId, VpcId: vpcId, PrivateIpAddress: '10.9.1.4' });
  t.ok(inFirst.PublicIpAddress, 'a public address where the subnet maps one');
  const inSecond = (await run({ subnet: second, groups: [group] })).Instances![0]!;
  t.equal(inSecond.PrivateIpAddress, '10.9.2.4');
  t.notOk(inSecond.PublicIpAddress, 'no public address where the subnet maps none');

  const defaultGroup = [...endpoint.cloud.securityGroups.values()].find(
    (g) => g.name === 'default' && g.vpcId === endpoint.cloud.vpcId,
  )!;
  t.equal(
    await errorCode(run({ subnet: subnetId, groups: [defaultGroup.id] })),
    'InvalidParameter',
    "a group of another VPC than the subnet's is refused",
  );
  // Launching without a subnet still picks the zone's default subnet, never one made here.
  const plain = await run({ zone: 'us-west-2a' });
  t.equal(plain.Instances![0]!.VpcId, endpoint.cloud.vpcId);
});

t.test(
  'moto_server agrees on the same VPC and subnet calls',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    await vpcAndSubnetChecks(t, testEc2Client(moto.endpoint));
  },
);
