import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { REBALANCE_RECOMMENDED_TAG } from '../../src/ports/provisioner.js';
import { clusterIamNames, workerPolicy } from '../../src/provisioner/aws/iamPolicies.js';
import { roleKeys, startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';

const { CreateTagsCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand } = ec2Sdk();

/**
 * The local EC2 endpoint checks a call signed with an instance's role credentials against that
 * role's policy, as IAM would (tagging per resource, with its tags and the request's tag keys),
 * and refuses what EC2 refuses of any tag (reserved `aws:` keys, lengths, 50 per resource).
 */
const CLUSTER = 'authz';
const names = clusterIamNames(CLUSTER);

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (e) {
    return (e as Error).name;
  }
}

t.test('calls signed with a worker role: the rebalance tag on its cluster, nothing else', async (t) => {
  const endpoint = await startTestEndpoint({
    nodeCommands: { startCommand: () => ({ pid: undefined, stop: async () => {} }) },
    rolePolicies: (role) =>
      role === names.workerRole ? workerPolicy({ clusterName: CLUSTER, region: 'us-west-2' }) : undefined,
  });
  t.teardown(() => endpoint.stop());
  const admin = testEc2Client(endpoint.url);
  t.teardown(() => admin.destroy());
  const launch = async (cluster: string): Promise<string> =>
    (
      await admin.send(
        new RunInstancesCommand({
          ImageId: LOCAL_IMAGE.imageId,
          InstanceType: 't2.medium',
          MinCount: 1,
          MaxCount: 1,
          IamInstanceProfile: { Arn: `arn:aws:iam::123456789012:instance-profile/${names.workerProfile}` },
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'clusterName', Value: cluster }] }],
        }),
      )
    ).Instances![0]!.InstanceId!;
  const own = await launch(CLUSTER);
  const foreign = await launch('someone-else');
  await new Promise((r) => setTimeout(r, 300));

  // The role's keys, as the instance's metadata service hands them out.
  const keys = await roleKeys(endpoint.url, own);
  const worker = new EC2Client({
    region: 'us-west-2',
    endpoint: endpoint.url,
    credentials: keys,
    maxAttempts: 1,
  });
  t.teardown(() => worker.destroy());
  const tag = (id: string, ...keys: string[]) =>
    worker.send(new CreateTagsCommand({ Resources: [id], Tags: keys.map((Key) => ({ Key, Value: 'v' })) }));

  t.equal(await errorOf(tag(own, REBALANCE_RECOMMENDED_TAG)), 'none', 'the rebalance tag on its cluster');
  t.equal(endpoint.cloud.instances.get(own)!.tags.get(REBALANCE_RECOMMENDED_TAG), 'v');
  t.equal(await errorOf(tag(foreign, REBALANCE_RECOMMENDED_TAG)), 'UnauthorizedOperation', 'another cluster');
  t.equal(await errorOf(tag(own, 'clusterName')), 'UnauthorizedOperation', 'another tag');
  t.equal(
    await errorOf(tag(own, REBALANCE_RECOMMENDED_TAG, 'ToilNodeType')),
    'UnauthorizedOperation',
    'another tag beside it',
  );
  t.equal(endpoint.cloud.instances.get(own)!.tags.get('clusterName'), CLUSTER, 'nothing changed');
  t.equal(
    await errorOf(worker.send(new DescribeInstancesCommand({}))),
    'UnauthorizedOperation',
    'no other call',
  );
  t.equal(
    await errorOf(admin.send(new DescribeInstancesCommand({}))),
    'none',
    'other callers are not checked',
  );
});

t.test("EC2's own rules for tags, whoever calls", async (t) => {
  const endpoint = await startTestEndpoint();
  t.teardown(() => endpoint.stop());
  const ec2 = testEc2Client(endpoint.url, 'us-west-2', 1);
  t.teardown(() => ec2.destroy());
  const id = (
    await ec2.send(
      new RunInstancesCommand({
        ImageId: LOCAL_IMAGE.imageId,
        InstanceType: 't2.medium',
        MinCount: 1,
        MaxCount: 1,
      }),
    )
  ).Instances![0]!.InstanceId!;
  const tag = (tags: { Key: string; Value: string }[], resource = id) =>
    errorOf(ec2.send(new CreateTagsCommand({ Resources: [resource], Tags: tags })));
  t.equal(
    await tag([{ Key: 'aws:cloudformation', Value: 'x' }]),
    'InvalidParameterValue',
    'aws: is reserved',
  );
  t.equal(
    await tag([{ Key: 'k'.repeat(129), Value: 'x' }]),
    'InvalidParameterValue',
    'a key of 129 characters',
  );
  t.equal(
    await tag([{ Key: 'k', Value: 'v'.repeat(257) }]),
    'InvalidParameterValue',
    'a value of 257 characters',
  );
  const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'x' }));
  t.equal(await tag(fifty), 'none', '50 tags');
  t.equal(await tag([{ Key: 'one-more', Value: 'x' }]), 'TagLimitExceeded', 'a 51st');
  t.equal(await tag([{ Key: 'k0', Value: 'y' }]), 'none', 'a new value of a tag it has');
  t.equal(await tag([{ Key: 'k', Value: 'x' }], 'i-0123456789abcdef0'), 'InvalidInstanceID.NotFound');
});
