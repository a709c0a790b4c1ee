import t from 'tap';
import { iamSdk } from '../../src/common/awsSdkPackages.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { ClusterIam } from '../../src/provisioner/aws/clusterIam.js';
import { EC2_TRUST_POLICY } from '../../src/provisioner/aws/iamPolicies.js';
import { destroyCluster } from '../../src/provisioner/cluster/destroyCluster.js';
import { startTestEndpoint, testCalls, testEc2Client } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable, motoWithIam } from '../fixtures/motoServer.js';

const {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} = iamSdk();

/**
 * IAM roles and instance profiles bear names derived from the cluster's (toil-NAME-leader, …),
 * and a user may have their own of those names. launch-cluster took such a role over (rewrote its
 * policy) and destroy-cluster deleted it with its policies. Now both go by the clusterName tag
 * launch-cluster has always put on what it makes: the launch is refused, the destroy leaves them.
 * IAM on moto (an independent implementation), EC2 on the local endpoint (an empty region).
 */
t.test(
  "an IAM role or instance profile of the cluster's names that toil-ts did not make: launch refuses the name, destroy leaves it",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { iam: iamClient } = await motoWithIam(t);
    const endpoint = await startTestEndpoint();
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    t.teardown(() => ec2.destroy());
    const clock = new ManualClock(Date.now());
    const ensureOptions = {
      region: 'us-west-2',
      progress: () => {},
      timeoutMs: 10_000,
      pollMs: 50,
    };
    const exists = async (send: () => Promise<unknown>): Promise<boolean> =>
      send().then(
        () => true,
        () => false,
      );

    // Theirs: a role named as cluster 'fr''s leader role, with a policy of theirs.
    await iamClient.send(
      new CreateRoleCommand({
        RoleName: 'toil-fr-leader',
        AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY),
      }),
    );
    await iamClient.send(
      new PutRolePolicyCommand({
        RoleName: 'toil-fr-leader',
        PolicyName: 'theirs',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::theirs' }],
        }),
      }),
    );
    const fr = new ClusterIam({ iam: iamClient, clusterName: 'fr', clock, log: silentLogger() });
    await t.rejects(fr.ensure({ ...ensureOptions, tags: { clusterName: 'fr' } }), {
      code: 'IAM_NOT_TOILS',
      message:
        "an IAM role named 'toil-fr-leader' exists that toil-ts did not make (it has no clusterName tag of cluster 'fr'): pick another cluster name",
    });
    const policies = async (): Promise<string[]> =>
      (await iamClient.send(new ListRolePoliciesCommand({ RoleName: 'toil-fr-leader' }))).PolicyNames ?? [];
    t.same(await policies(), ['theirs'], 'their role keeps its policy, and gets none of the cluster');
    t.notOk(
      await exists(() => iamClient.send(new GetRoleCommand({ RoleName: 'toil-fr-worker' }))),
      'nothing was made: no worker role',
    );

    const lines: string[] = [];
    const deps = {
      calls: testCalls(ec2),
      clock,
      log: silentLogger(),
      progress: (l: string) => void lines.push(l),
    };
    await t.rejects(
      destroyCluster('fr', { ...deps, iam: fr }, { timeoutMs: 5000, pollMs: 50, region: 'us-west-2' }),
      {
        code: 'CLUSTER_NOT_FOUND',
        message:
          "no toil-ts cluster named 'fr' in region us-west-2; IAM role toil-fr-leader exists but toil-ts did not make it (no clusterName tag): left alone",
      },
    );
    t.same(lines, [
      "IAM role toil-fr-leader exists but toil-ts did not make it for cluster 'fr' (no clusterName tag of it): left alone",
    ]);
    t.same(await policies(), ['theirs'], 'destroy-cluster leaves their role and its policy');

    // Theirs: an instance profile named as cluster 'fp''s worker profile, holding a role of theirs.
    await iamClient.send(
      new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY) }),
    );
    await iamClient.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'toil-fp-worker' }));
    await iamClient.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'toil-fp-worker', RoleName: 'app' }),
    );
    const fp = new ClusterIam({ iam: iamClient, clusterName: 'fp', clock, log: silentLogger() });
    await t.rejects(fp.ensure({ ...ensureOptions, tags: { clusterName: 'fp' } }), {
      code: 'IAM_NOT_TOILS',
      message:
        "an instance profile named 'toil-fp-worker' exists that toil-ts did not make (it has no clusterName tag of cluster 'fp'): pick another cluster name",
    });
    lines.length = 0;
    await t.rejects(
      destroyCluster('fp', { ...deps, iam: fp }, { timeoutMs: 5000, pollMs: 50, region: 'us-west-2' }),
      {
        code: 'CLUSTER_NOT_FOUND',
        message:
          "no toil-ts cluster named 'fp' in region us-west-2; instance profile toil-fp-worker exists but toil-ts did not make it (no clusterName tag): left alone",
      },
    );
    t.same(lines, [
      "instance profile toil-fp-worker exists but toil-ts did not make it for cluster 'fp' (no clusterName tag of it): left alone",
    ]);
    const profile = await iamClient.send(
      new GetInstanceProfileCommand({ InstanceProfileName: 'toil-fp-worker' }),
    );
    t.same(
      profile.InstanceProfile?.Roles?.map((r) => r.RoleName),
      ['app'],
      'their profile is still there, still holding their role',
    );

    // Theirs: a role and a profile of cluster 'fb''s names; both are named in the one refusal.
    await iamClient.send(
      new CreateRoleCommand({
        RoleName: 'toil-fb-worker',
        AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY),
      }),
    );
    await iamClient.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'toil-fb-leader' }));
    await iamClient.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'toil-fb-leader', RoleName: 'app' }),
    );
    const fb = new ClusterIam({ iam: iamClient, clusterName: 'fb', clock, log: silentLogger() });
    await t.rejects(fb.ensure({ ...ensureOptions, tags: { clusterName: 'fb' } }), {
      code: 'IAM_NOT_TOILS',
      message:
        "an IAM role named 'toil-fb-worker' and an instance profile named 'toil-fb-leader' exist that toil-ts did not make (none has a clusterName tag of cluster 'fb'): pick another cluster name",
    });
    t.notOk(
      await exists(() => iamClient.send(new GetRoleCommand({ RoleName: 'toil-fb-leader' }))),
      'nothing was made: no leader role',
    );

    // The cluster's own IAM, tagged at launch, is still removed whole.
    const own = new ClusterIam({ iam: iamClient, clusterName: 'own', clock, log: silentLogger() });
    await own.ensure({ ...ensureOptions, tags: { clusterName: 'own' } });
    const done = await destroyCluster(
      'own',
      { ...deps, iam: own },
      { timeoutMs: 5000, pollMs: 50, region: 'us-west-2' },
    );
    t.same([...done.iamRemoved].sort(), [
      'instance-profile/toil-own-leader',
      'instance-profile/toil-own-worker',
      'role/toil-own-leader',
      'role/toil-own-worker',
    ]);
  },
);
