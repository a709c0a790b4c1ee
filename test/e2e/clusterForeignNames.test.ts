import t from 'tap';
import { ec2Sdk, iamSdk, ssmSdk } from '../../src/common/awsSdkPackages.js';
import { EC2_TRUST_POLICY } from '../../src/provisioner/aws/iamPolicies.js';
import { localCloudWithMotoIam } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import {
  MOTO_MISSING_REASON,
  motoAvailable,
  motoSsmClient,
  profileNamesIn,
  roleNamesIn,
} from '../fixtures/motoServer.js';

const { CreateSecurityGroupCommand, DescribeSecurityGroupsCommand, DescribeVpcsCommand } = ec2Sdk();
const { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand } = iamSdk();
const { GetParameterCommand, PutParameterCommand } = ssmSdk();

/**
 * launch-cluster refusing a name because things of it exist that toil-ts did not make (no
 * clusterName tag of the cluster) named only the first it met, the security group: the user picked
 * the name free of it, or removed it, to be refused for the IAM role next, then for the munge key
 * parameter. The refusal now names every such thing it finds (security group, IAM roles, instance
 * profiles, munge key parameter) in its one line, before anything is made. EC2 on the local cloud,
 * IAM and SSM on moto.
 */
t.setTimeout(240_000);

t.test(
  "launch-cluster names every thing of the cluster's name toil-ts did not make in one line, and makes nothing",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { moto, endpoint, ec2, iam, env: cloudEnv } = await localCloudWithMotoIam(t);
    const env = { ...cloudEnv, AWS_ENDPOINT_URL_SSM: moto.endpoint, TOIL_AWS_ZONE: 'us-west-2a' };
    const ssm = motoSsmClient(moto);
    t.teardown(() => ssm.destroy());
    const vpcId = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.find((v) => v.IsDefault)!.VpcId!;
    const theirGroup = async (name: string): Promise<string> =>
      (
        await ec2.send(
          new CreateSecurityGroupCommand({ GroupName: name, Description: 'theirs', VpcId: vpcId }),
        )
      ).GroupId!;
    const groupsNamed = async (name: string): Promise<string[]> =>
      ((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [])
        .filter((g) => g.GroupName === name)
        .map((g) => g.GroupId!);
    const theirRole = (name: string) =>
      iam.send(
        new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY) }),
      );
    const launch = (name: string, ...flags: string[]) =>
      runToil(['launch-cluster', name, ...flags, '--leaderNodeType', 't2.medium', '--keyPairName', 'k'], env);

    await t.test('a Slurm cluster: the group, a role, a profile and the munge key parameter', async (t) => {
      const group = await theirGroup('web');
      await theirRole('toil-web-leader');
      await theirRole('app');
      await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'toil-web-worker' }));
      await iam.send(
        new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'toil-web-worker', RoleName: 'app' }),
      );
      await ssm.send(
        new PutParameterCommand({ Name: '/toil/web/munge-key', Value: 'theirs', Type: 'SecureString' }),
      );
      const r = await launch('web', '-T', 'slurm');
      t.equal(r.code, 2, `exit 2 (stderr: ${r.stderr.slice(0, 800)})`);
      t.equal(
        r.stderr,
        `toil: a security group named 'web' (${group}), an IAM role named 'toil-web-leader', an instance profile named 'toil-web-worker' and an SSM parameter named '/toil/web/munge-key' exist that toil-ts did not make (none has a clusterName tag of cluster 'web'): pick another cluster name\n`,
        'one line naming each of them',
      );
      t.equal(r.stdout, '', 'no progress: nothing made');
      t.same(await roleNamesIn(iam), ['app', 'toil-web-leader'], 'no role made');
      t.same(await profileNamesIn(iam), ['toil-web-worker'], 'no profile made');
      t.same(await groupsNamed('web'), [group], 'no security group made');
      const value = await ssm.send(
        new GetParameterCommand({ Name: '/toil/web/munge-key', WithDecryption: true }),
      );
      t.equal(value.Parameter?.Value, 'theirs', 'their parameter keeps its value');
      t.equal(endpoint.cloud.instances.size, 0, 'no instance launched');
    });

    await t.test('a Mesos cluster: the group and a role', async (t) => {
      const group = await theirGroup('api');
      await theirRole('toil-api-worker');
      const r = await launch('api');
      t.equal(r.code, 2, `exit 2 (stderr: ${r.stderr.slice(0, 800)})`);
      t.equal(
        r.stderr,
        `toil: a security group named 'api' (${group}) and an IAM role named 'toil-api-worker' exist that toil-ts did not make (none has a clusterName tag of cluster 'api'): pick another cluster name\n`,
        'one line naming both',
      );
      t.same(await roleNamesIn(iam), ['app', 'toil-api-worker', 'toil-web-leader'], 'no role made');
      t.same(await groupsNamed('api'), [group], 'no security group made');
      t.equal(endpoint.cloud.instances.size, 0, 'no instance launched');
    });
  },
);
