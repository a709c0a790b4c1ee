import t from 'tap';
import { iamSdk } from '../../src/common/awsSdkPackages.js';
import { EC2_TRUST_POLICY } from '../../src/provisioner/aws/iamPolicies.js';
import { importTestKeyPair, localCloudWithMotoIam, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable, profileNamesIn, roleNamesIn } from '../fixtures/motoServer.js';

const {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
} = iamSdk();

/**
 * IAM refusing a call of launch-cluster's (a ValidationError, MalformedPolicyDocument,
 * LimitExceeded) came out as `toil: internal error:` and a stack trace, after some roles were made.
 * A zone in GovCloud or China, where IAM refuses the roles' policies (they name `arn:aws:…`
 * resources), is now refused before anything is made; any other refusal is one line naming the
 * call and AWS's message, and what the launch made is removed. IAM on moto, EC2 on the local cloud.
 */
t.setTimeout(180_000);

t.test(
  "launch-cluster and IAM's refusals: a zone whose IAM refuses the roles is refused first; any other refusal is one line, with what was made removed",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { endpoint, iam, env } = await localCloudWithMotoIam(t);
    const launch = (name: string, zone = 'us-west-2a'): string[] => [
      'launch-cluster',
      name,
      ...['--leaderNodeType', 't2.medium', '--zone', zone, '--keyPairName', 'k'],
    ];
    const roleNames = (): Promise<string[]> => roleNamesIn(iam);
    const profileNames = (): Promise<string[]> => profileNamesIn(iam);

    // The key pair is there too: the launch would go on to make the roles, which IAM refuses.
    for (const region of ['us-gov-west-1', 'cn-north-1']) {
      const regional = testEc2Client(endpoint.url, region);
      await importTestKeyPair(regional, 'k');
      regional.destroy();
    }
    for (const [zone, partition] of [
      ['us-gov-west-1a', 'AWS GovCloud \\(US\\) \\(partition aws-us-gov\\)'],
      ['cn-north-1a', 'AWS China \\(partition aws-cn\\)'],
    ] as const) {
      const r = await runToil(launch('gov', zone), env);
      t.equal(r.code, 2, `${zone}: exit 2 (stderr: ${r.stderr.slice(0, 600)})`);
      t.match(
        r.stderr.trim(),
        new RegExp(
          `^toil: --zone: zone '${zone}' is in ${partition}, whose IAM refuses the roles launch-cluster makes \\(their policies name resources arn:aws:…, the standard partition's\\): give a zone of the standard partition, or pass --awsEc2ProfileArn with an instance profile made there beforehand$`,
        ),
        `${zone}: the line names the zone, its partition and the ways on`,
      );
      t.equal(r.stdout, '', `${zone}: no progress, nothing made`);
    }
    t.same(await roleNames(), [], 'no IAM role made for a zone of another partition');
    // With the user's own instance profile no IAM is made: the zone is judged as any other.
    const own = await runToil(
      [
        ...launch('gov', 'us-gov-west-1a'),
        '--awsEc2ProfileArn',
        'arn:aws-us-gov:iam::123456789012:instance-profile/theirs',
      ],
      env,
    );
    t.equal(
      own.stderr.trim(),
      'toil: --awsEc2ProfileArn arn:aws-us-gov:iam::123456789012:instance-profile/theirs: IAM has no instance profile of that name in this account',
      '--awsEc2ProfileArn: the zone is not refused for its partition; the launch goes on to judge the profile',
    );

    // The cluster's worker profile (tagged as toil's) holds a role of someone else's: IAM takes
    // one role per profile, and refuses the cluster's with LimitExceeded after both roles, their
    // policies and the leader's profile are made.
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'theirs',
        AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY),
      }),
    );
    await iam.send(
      new CreateInstanceProfileCommand({
        InstanceProfileName: 'toil-lim-worker',
        Tags: [{ Key: 'clusterName', Value: 'lim' }],
      }),
    );
    await iam.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'toil-lim-worker', RoleName: 'theirs' }),
    );
    const r = await runToil(launch('lim'), env);
    t.equal(r.code, 1, `IAM's refusal: exit 1 (stderr: ${r.stderr.slice(0, 600)})`);
    t.equal(
      r.stderr.trim(),
      'toil: launch-cluster: IAM AddRoleToInstanceProfile failed: LimitExceededException: Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1; ' +
        'removed what the launch made: instance profile toil-lim-leader, IAM role toil-lim-leader, IAM role toil-lim-worker',
      'one line naming the call, AWS message and what was removed; no internal error, no stack',
    );
    t.ok(
      r.stdout.includes("the launch failed: removing what was made of cluster 'lim'"),
      `the launch says it removes what it made (stdout: ${r.stdout})`,
    );
    for (const made of [
      'deleted instance profile toil-lim-leader',
      'deleted IAM role toil-lim-leader and its policies',
      'deleted IAM role toil-lim-worker and its policies',
    ])
      t.ok(r.stdout.includes(made), `named as removed: ${made}`);
    t.same(await roleNames(), ['theirs'], "the cluster's roles are removed; theirs is kept");
    t.notOk(
      (await profileNames()).includes('toil-lim-leader'),
      "the leader's profile the launch made is removed",
    );
    await t.rejects(
      iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'toil-lim-leader' })),
      { name: 'NoSuchEntityException' },
      'IAM has no toil-lim-leader profile',
    );
    t.equal(endpoint.cloud.instances.size, 0, 'no instance launched');
  },
);
