import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { endpointWithKeyPair, motoForClusters } from '../fixtures/ec2Local.js';
import { runToil as runCluster } from '../fixtures/ec2ToilCli.js';
import { autoscaledRunArgs, localCloudInstances, startClusterCloud } from '../fixtures/leaderE2e.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

const { DescribeInstancesCommand, DescribeSecurityGroupsCommand } = ec2Sdk();

/**
 * A TOIL_AWS_AMI that is not an image ID (`ami-xyz`, `notanami`) came out of launch-cluster as
 * EC2's own `toil: EC2 DescribeImages failed: InvalidAMIID.Malformed: Invalid id: "ami-xyz"
 * (expecting "ami-...")`, exit 1, naming neither the variable nor the form. It is refused before
 * anything is made, by launch-cluster and by `toil run --provisioner aws`: one line naming the
 * variable, the value and the form, exit 2. The local cloud answers such an ID as EC2 does
 * (test/localcloud/ec2ImageIdForm.test.ts); moto checks the prefix alone.
 */
t.setTimeout(240_000);

const MALFORMED = ['ami-xyz', 'notanami', 'ami-0123456789ABCDEF0', 'ami-0123456789abcdef'];
const refusal = (id: string): RegExp =>
  new RegExp(
    `^toil: TOIL_AWS_AMI: '${id}' is not an image ID: expected ami- followed by 8 or 17 hex digits, like ami-0123456789abcdef0$`,
  );
const launch = [
  ...['launch-cluster', 'img', '--leaderNodeType', 't2.medium', '--keyPairName', 'k'],
  ...['--zone', 'us-west-2a'],
];

t.test('launch-cluster on the local cloud refuses a malformed TOIL_AWS_AMI, nothing made', async (t) => {
  const { endpoint, env } = await endpointWithKeyPair(t);
  for (const id of MALFORMED)
    oneLineRefusal(t, id, await runCluster(launch, { ...env, TOIL_AWS_AMI: id }), refusal(id));
  // Well formed (8 digits, as older images have): EC2 is asked, and has no such image.
  oneLineRefusal(
    t,
    'ami-01234567',
    await runCluster(launch, { ...env, TOIL_AWS_AMI: 'ami-01234567' }),
    /^toil: TOIL_AWS_AMI: no image 'ami-01234567' in region us-west-2$/,
  );
  t.equal(endpoint.cloud.instances.size, 0, 'no instance launched');
  t.same(
    [...endpoint.cloud.securityGroups.values()].map((g) => g.name),
    ['default'],
    'no security group made',
  );
});

t.test(
  'launch-cluster on moto_server refuses a malformed TOIL_AWS_AMI the same way, nothing made',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { ec2, env } = await motoForClusters(t);
    for (const id of ['ami-xyz', 'notanami'])
      oneLineRefusal(t, id, await runCluster(launch, { ...env, TOIL_AWS_AMI: id }), refusal(id));
    t.same((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [], [], 'no instance');
    t.notOk(
      ((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []).some(
        (g) => g.GroupName === 'img',
      ),
      'no security group made',
    );
  },
);

t.test(
  'toil run --provisioner aws refuses a malformed TOIL_AWS_AMI at start, one line, no job store, no worker',
  async (t) => {
    const dir = testDir(t, { work: {} });
    const cloud = await startClusterCloud(t, 'c');
    for (const id of ['ami-xyz', 'notanami']) {
      const r = await runToil(
        [
          ...autoscaledRunArgs(
            ['test/fixtures/workflowDeclaresNothing.ts', 'file:js'],
            cloud,
            'c',
            join(dir, 'work'),
          ),
          ...['--defaultDisk', '1M', '--logLevel', 'warning'],
        ],
        { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir, TOIL_AWS_AMI: id } },
      );
      oneLineRefusal(t, id, r, refusal(id));
      t.notOk(existsSync(join(dir, 'js')), `${id}: no job store was made`);
    }
    t.same(
      (await localCloudInstances(cloud.ec2Url)).map((i) => i.tags['ToilNodeType']),
      ['leader'],
      "no worker was launched: the cluster's leader is the only instance",
    );
  },
);
