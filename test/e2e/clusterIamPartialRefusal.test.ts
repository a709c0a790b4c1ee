import t from 'tap';
import { ec2Sdk, iamSdk } from '../../src/common/awsSdkPackages.js';
import { EC2_TRUST_POLICY } from '../../src/provisioner/aws/iamPolicies.js';
import { localCloudWithMotoIam } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable, profileNamesIn, roleNamesIn } from '../fixtures/motoServer.js';
import { refusingProxy } from '../fixtures/refusingProxy.js';

const { DescribeInstancesCommand, DescribeSecurityGroupsCommand } = ec2Sdk();
const { CreateRoleCommand } = iamSdk();

/**
 * Credentials allowed some of IAM's calls and refused one part-way (PutRolePolicy after CreateRole,
 * AddRoleToInstanceProfile after the profile was made) left launch-cluster's roles and profiles
 * behind: a refusal the caller is to fix was reported alone. Every failure once something is made
 * now removes what that launch made, and only that (a role an earlier launch left is reused and
 * kept), and the one error line says what was removed, or, where the removal is refused too, what
 * is left and the destroy-cluster command that finishes it. IAM is moto behind a proxy that answers
 * AccessDenied for the calls named (moto checks no policy unless it checks every call); EC2 is the
 * local cloud. What is left is read back through the SDK.
 */
t.setTimeout(240_000);

const PERMISSIONS =
  'iam:CreateRole, iam:GetRole, iam:TagRole, iam:PutRolePolicy, iam:CreateInstanceProfile, iam:TagInstanceProfile, iam:GetInstanceProfile, iam:AddRoleToInstanceProfile, iam:PassRole';

t.test(
  'launch-cluster refused an IAM call part-way removes what it made, says so in its one line, and leaves what it did not make',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { moto, endpoint, ec2, iam, env: cloudEnv } = await localCloudWithMotoIam(t);
    const refused = new Set<string>();
    const proxy = await refusingProxy(t, moto.endpoint, refused);
    const env = { ...cloudEnv, AWS_ENDPOINT_URL_IAM: proxy.endpoint };
    const launch = (name: string): string[] => [
      'launch-cluster',
      name,
      ...['--leaderNodeType', 't2.medium', '--zone', 'us-west-2a', '--keyPairName', 'k'],
    ];
    const roleNames = (): Promise<string[]> => roleNamesIn(iam);
    const profileNames = (): Promise<string[]> => profileNamesIn(iam);
    const groupsNamed = async (name: string): Promise<string[]> =>
      (
        (
          await ec2.send(
            new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] }),
          )
        ).SecurityGroups ?? []
      ).map((g) => g.GroupId ?? '');
    const liveInstances = async (): Promise<string[]> =>
      ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [])
        .flatMap((r) => r.Instances ?? [])
        .filter((i) => i.State?.Name !== 'terminated' && i.State?.Name !== 'shutting-down')
        .map((i) => i.InstanceId ?? '');
    const denied = (action: string, command = 'launch-cluster'): string =>
      `${command}: these credentials may not call iam:${action} (AccessDenied): grant it (${command} needs ${
        command === 'launch-cluster'
          ? `${PERMISSIONS}), or pass --awsEc2ProfileArn with an instance profile made beforehand`
          : 'iam:GetRole, iam:GetInstanceProfile, iam:RemoveRoleFromInstanceProfile, iam:DeleteInstanceProfile, iam:ListInstanceProfilesForRole, iam:ListRolePolicies, iam:DeleteRolePolicy, iam:ListAttachedRolePolicies, iam:DetachRolePolicy, iam:DeleteRole)'
      }`;

    await t.test('PutRolePolicy refused after CreateRole: the role made is removed', async (t) => {
      refused.clear();
      refused.add('PutRolePolicy');
      const r = await runToil(launch('pol'), env);
      t.equal(r.code, 2, `exit 2: the caller is to grant it (${r.stderr})`);
      t.equal(
        r.stderr,
        `toil: ${denied('PutRolePolicy')}; removed what the launch made: IAM role toil-pol-worker\n`,
        'one line: the refusal, then what was removed',
      );
      t.match(r.stdout, /the launch failed: removing what was made of cluster 'pol'/);
      t.same(await roleNames(), [], 'no role left');
      t.same(await profileNames(), [], 'no profile left');
      t.same(await groupsNamed('pol'), [], 'no security group (none was made)');
    });

    await t.test(
      'AddRoleToInstanceProfile refused: the roles and profile made are removed, a role an earlier launch left is kept',
      async (t) => {
        refused.clear();
        // Left by an earlier launch of the name (tagged as toil's): reused by this one, not made.
        await iam.send(
          new CreateRoleCommand({
            RoleName: 'toil-add-leader',
            AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY),
            Tags: [{ Key: 'clusterName', Value: 'add' }],
          }),
        );
        refused.add('AddRoleToInstanceProfile');
        const r = await runToil(launch('add'), env);
        t.equal(r.code, 2, `exit 2 (${r.stderr})`);
        t.equal(
          r.stderr,
          `toil: ${denied('AddRoleToInstanceProfile')}; removed what the launch made: instance profile toil-add-leader, IAM role toil-add-worker\n`,
          'one line: the refusal, then what was removed',
        );
        t.same(
          await roleNames(),
          ['toil-add-leader'],
          "the earlier launch's role is kept; the one made is gone",
        );
        t.same(await profileNames(), [], "the leader's profile made is removed");
      },
    );

    await t.test(
      'the removal refused too: the line names what is left and the destroy-cluster command that removes it',
      async (t) => {
        refused.clear();
        refused.add('PutRolePolicy');
        refused.add('DeleteRole');
        const r = await runToil(launch('stuck'), env);
        t.equal(r.code, 2, `exit 2 (${r.stderr})`);
        t.equal(
          r.stderr,
          `toil: ${denied('PutRolePolicy')}; could not remove IAM role toil-stuck-worker (${denied('DeleteRole', 'destroy-cluster')}): remove it with 'toil destroy-cluster stuck --zone us-west-2a'\n`,
          'one line: the refusal, what is left and why, and the command that finishes',
        );
        t.same(await roleNames(), ['toil-add-leader', 'toil-stuck-worker'], 'the role is there, as said');
        refused.clear();
        const finish = await runToil(['destroy-cluster', 'stuck', '--zone', 'us-west-2a'], env);
        t.equal(finish.code, 0, `the command named finishes it (${finish.stderr})`);
        t.same(await roleNames(), ['toil-add-leader'], 'the role is gone');
      },
    );

    await t.test(
      "EC2's refusal of the leader after the IAM and the group: all of them removed and named",
      async (t) => {
        refused.clear();
        endpoint.faults.refuseCapacity({ instanceType: 't2.medium', market: 'on-demand' });
        const r = await runToil(launch('cap'), env);
        t.equal(r.code, 1, `exit 1 (${r.stderr})`);
        const group = /security group (sg-\w+) \(cap\) created/.exec(r.stdout)?.[1];
        t.ok(group, `the launch made a security group (stdout: ${r.stdout})`);
        t.match(
          r.stderr,
          new RegExp(
            `^toil: EC2 RunInstances failed: \\S+: .*; removed what the launch made: security group ${group}, instance profile toil-cap-leader, instance profile toil-cap-worker, IAM role toil-cap-leader, IAM role toil-cap-worker\n$`,
          ),
          'one line: the refusal, then everything removed',
        );
        t.same(await roleNames(), ['toil-add-leader'], "the cluster's roles are removed");
        t.same(await profileNames(), [], "the cluster's profiles are removed");
        t.same(await groupsNamed('cap'), [], 'its security group is removed');
        t.same(await liveInstances(), [], 'no instance left');
      },
    );
  },
);
