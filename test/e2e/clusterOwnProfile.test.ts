import t, { type Test } from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { importTestKeyPair, startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import {
  createMotoInstanceProfile,
  createMotoUser,
  MOTO_MISSING_REASON,
  motoAvailable,
  startMoto,
} from '../fixtures/motoServer.js';

const { DescribeInstancesCommand } = ec2Sdk();

/**
 * launch-cluster --awsEc2ProfileArn (Toil's flag), as users write it and mistype it: a profile IAM
 * does not have is refused before anything is made (EC2 would refuse it only at RunInstances, and
 * the launch waited there as for a profile it made itself); a role's ARN and a bare name are told
 * apart from a profile's ARN; a caller whose credentials may not read IAM (the flag's main use) is
 * not refused for it.
 */
t.setTimeout(180_000);

async function cloudWithKey(t: Test) {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  t.teardown(() => client.destroy());
  await importTestKeyPair(client, 'k');
  const profiles = async (cluster: string): Promise<(string | undefined)[]> =>
    (
      await client.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'tag:clusterName', Values: [cluster] }] }),
      )
    ).Reservations!.flatMap((r) => r.Instances!.map((i) => i.IamInstanceProfile?.Arn));
  return { endpoint, profiles };
}

const launch = (name: string, profile: string): string[] => [
  'launch-cluster',
  name,
  ...['--nodeType', 't2.medium', '--awsEc2ProfileArn', profile, '--zone', 'us-west-2a', '--keyPairName', 'k'],
];

t.test(
  '--awsEc2ProfileArn: an existing profile is used, a missing one, a role ARN or a name is refused before anything is made',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const { endpoint, profiles } = await cloudWithKey(t);
    const mine = await createMotoInstanceProfile(moto, 'mine');
    const env = { AWS_ENDPOINT_URL_EC2: endpoint.url, AWS_ENDPOINT_URL_IAM: moto.endpoint };
    const account = /iam::(\d{12}):/.exec(mine)![1]!;
    const refusals: [string, string, RegExp][] = [
      [
        'a profile IAM does not have',
        `arn:aws:iam::${account}:instance-profile/nosuch`,
        new RegExp(
          `^toil: --awsEc2ProfileArn arn:aws:iam::${account}:instance-profile/nosuch: IAM has no instance profile of that name in this account$`,
        ),
      ],
      [
        "a role's ARN",
        `arn:aws:iam::${account}:role/toil-role`,
        new RegExp(
          `^toil: --awsEc2ProfileArn arn:aws:iam::${account}:role/toil-role is a role's ARN: give the ARN of the instance profile that holds the role \\(arn:aws:iam::ACCOUNT:instance-profile/NAME; aws iam list-instance-profiles-for-role --role-name toil-role\\)$`,
        ),
      ],
      [
        "a profile's name",
        'mine',
        /^toil: --awsEc2ProfileArn: 'mine' is not an instance profile ARN like arn:aws:iam::123456789012:instance-profile\/NAME$/,
      ],
    ];
    for (const [what, arn, message] of refusals) {
      const started = Date.now();
      const r = await runToil(launch('own', arn), env);
      t.equal(r.code, 2, `${what}: exit 2 (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      t.match(r.stderr.trim(), message, `${what}: one line naming the flag`);
      t.notMatch(r.stdout, /security group|leader/, `${what}: nothing made`);
    }
    t.same(endpoint.cloud.instances.size, 0, 'no instance launched by the refused launches');
    t.equal(
      [...endpoint.cloud.securityGroups.values()].filter((g) => g.name === 'own').length,
      0,
      'no security group made',
    );

    const ok = await runToil(launch('own', mine), env);
    t.equal(ok.code, 0, ok.stderr);
    t.match(ok.stdout, `every node gets instance profile ${mine} (--awsEc2ProfileArn); no IAM is made`);
    t.same(await profiles('own'), [mine], 'the leader has the profile');
  },
);

t.test(
  '--awsEc2ProfileArn with credentials that may not read IAM: the launch goes on, EC2 judges the profile',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    // moto checks every request after the first three against IAM: a user allowed EC2 only.
    const moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3' } });
    t.teardown(() => moto.stop());
    const { endpoint, profiles } = await cloudWithKey(t);
    const key = await createMotoUser(moto, 'ec2only', ['ec2:*']);
    const theirs = 'arn:aws:iam::123456789012:instance-profile/ops/toil-nodes';
    const r = await runToil(launch('ops', theirs), {
      AWS_ENDPOINT_URL_EC2: endpoint.url,
      AWS_ENDPOINT_URL_IAM: moto.endpoint,
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    });
    t.equal(r.code, 0, `exit 0: not refused for IAM it may not read (${r.stderr.slice(0, 1000)})`);
    t.same(await profiles('ops'), [theirs], 'the leader has the profile (a path in its ARN kept)');
  },
);
