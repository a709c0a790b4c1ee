import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startTestEndpoint } from '../fixtures/ec2Local.js';
import { awsCliAvailable, awsEc2 } from '../fixtures/awsCli.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * Toil's `launch-cluster --vpcSubnet`, as a user does it: the network made with the `aws` CLI (an
 * implementation of EC2's wire form that is not ours), the cluster launched and destroyed with
 * bin/toil.js, and what it made read back with the `aws` CLI.
 */
t.test(
  'launch-cluster --vpcSubnet puts the cluster in a VPC and subnet the aws CLI made; destroy-cluster leaves nothing',
  { skip: awsCliAvailable ? false : 'the aws CLI is not on PATH' },
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    const aws = awsEc2(endpoint.url);
    const dir = mkdtempSync(join(tmpdir(), 'toil-vpcsubnet-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const pub = join(dir, 'k.pub');
    writeFileSync(
      pub,
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl k\n',
    );
    const key = await aws('import-key-pair', '--key-name', 'k', '--public-key-material', `fileb://${pub}`);
    t.equal(key.status, 0, key.stderr);
    const vpc = await aws('create-vpc', '--cidr-block', '10.20.0.0/16');
    t.equal(vpc.status, 0, vpc.stderr);
    const vpcId: string = vpc.json.Vpc.VpcId;
    const subnet = await aws(
      'create-subnet',
      '--vpc-id',
      vpcId,
      '--cidr-block',
      '10.20.1.0/24',
      '--availability-zone',
      'us-west-2a',
    );
    t.equal(subnet.status, 0, subnet.stderr);
    const subnetId: string = subnet.json.Subnet.SubnetId;
    const mapped = await aws('modify-subnet-attribute', '--subnet-id', subnetId, '--map-public-ip-on-launch');
    t.equal(mapped.status, 0, mapped.stderr);

    const env = { AWS_ENDPOINT_URL_EC2: endpoint.url };
    const launch = await runToil(
      [
        'launch-cluster',
        'vpcs',
        ...['--leaderNodeType', 't2.medium', '--nodeTypes', 't2.medium', '-w', '1'],
        ...['--zone', 'us-west-2a', '--keyPairName', 'k', '--vpcSubnet', subnetId],
      ],
      env,
    );
    t.equal(launch.code, 0, launch.stderr);

    const described = await aws('describe-instances', '--filters', 'Name=tag:clusterName,Values=vpcs');
    t.equal(described.status, 0, described.stderr);
    const instances = described.json.Reservations.flatMap((r: { Instances: unknown[] }) => r.Instances);
    t.equal(instances.length, 2, 'a leader and one worker');
    for (const i of instances) {
      t.equal(i.SubnetId, subnetId, `${i.InstanceId} is in the subnet given`);
      t.equal(i.VpcId, vpcId, `${i.InstanceId} is in its VPC`);
    }
    const groups = await aws('describe-security-groups', '--filters', 'Name=group-name,Values=vpcs');
    t.same(
      groups.json.SecurityGroups.map((g: { VpcId: string }) => g.VpcId),
      [vpcId],
      "the cluster's group is made in the subnet's VPC",
    );

    const destroy = await runToil(['destroy-cluster', 'vpcs', '--zone', 'us-west-2a'], env);
    t.equal(destroy.code, 0, destroy.stderr);
    const after = await aws('describe-instances', '--filters', 'Name=tag:clusterName,Values=vpcs');
    t.ok(
      after.json.Reservations.flatMap((r: { Instances: { State: { Name: string } }[] }) => r.Instances).every(
        (i: { State: { Name: string } }) => i.State.Name === 'terminated',
      ),
      'every instance terminated',
    );
    const left = await aws('describe-security-groups', '--filters', 'Name=group-name,Values=vpcs');
    t.same(left.json.SecurityGroups, [], 'no security group left');
  },
);
