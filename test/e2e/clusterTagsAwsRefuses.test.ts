import t from 'tap';
import { iamSdk } from '../../src/common/awsSdkPackages.js';
import { importTestKeyPair, localCloudWithMotoIam } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';

const { ListInstanceProfilesCommand, ListRolesCommand } = iamSdk();

/**
 * Tags go on the cluster's instances (EC2), its roles and profiles (IAM) and, through the leader,
 * its job-store buckets (S3). A tag one of them refuses — an `aws:` key, a value over 256
 * characters, a character IAM and S3 do not take, more tags than an instance holds — and an Owner
 * (the key pair's name by default) IAM refuses are one line and exit 2 before anything is made:
 * IAM refused them mid-launch with a stack trace, or the launch went on into a cluster real AWS
 * would refuse half-way.
 */
t.setTimeout(120_000);

t.test(
  'launch-cluster refuses tags AWS would refuse, before anything is made, and takes the ones it allows',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { endpoint, ec2, iam, env } = await localCloudWithMotoIam(t);
    await importTestKeyPair(ec2, 'my key (laptop)');
    const launch = (name: string, ...more: string[]): string[] => [
      'launch-cluster',
      name,
      ...['--leaderNodeType', 't2.medium', '--zone', 'us-west-2a', '--keyPairName', 'k', ...more],
    ];
    const manyTags = Array.from({ length: 43 }, (_, i) => ['-t', `k${i}=v`]).flat();
    const refusals: [what: string, args: string[], extraEnv: Record<string, string>, expected: RegExp][] = [
      [
        'a value over 256 characters',
        launch('tags', '-t', `note=${'v'.repeat(300)}`),
        {},
        /^toil: -t\/--tag: the value of tag 'note' is 300 characters long; AWS takes at most 256$/,
      ],
      [
        'a key over 128 characters',
        launch('tags', '-t', `${'k'.repeat(130)}=v`),
        {},
        /^toil: -t\/--tag: tag key 'k{40}…' is 130 characters long; AWS takes at most 128$/,
      ],
      [
        "an 'aws:' key",
        launch('tags', '-t', 'aws:team=bio'),
        {},
        /^toil: -t\/--tag: tag key 'aws:team' begins with 'aws:', which AWS keeps for its own tags; use another key$/,
      ],
      [
        'a character IAM does not take',
        launch('tags', '-t', 'project=genomes (v2)'),
        {},
        /^toil: -t\/--tag: the value of tag 'project' has '\(' in it; IAM and S3 take tags of letters, digits, spaces and _ \. : \/ = \+ - @ only$/,
      ],
      [
        'TOIL_AWS_TAGS with a character IAM does not take',
        launch('tags'),
        { TOIL_AWS_TAGS: '{"cost centre": "r&d"}' },
        /^toil: TOIL_AWS_TAGS: the value of tag 'cost centre' has '&' in it; IAM and S3 take tags/,
      ],
      [
        'more tags than an instance holds with toil’s own',
        launch('tags', ...manyTags),
        {},
        /^toil: -t\/--tag: 43 tags given; at most 42 fit besides Name and Owner \(EC2 takes 50 tags per instance and toil sets up to 6 of its own\)$/,
      ],
      [
        'a key pair name IAM would refuse as the Owner tag',
        [
          'launch-cluster',
          'tags',
          '--leaderNodeType',
          't2.medium',
          '--zone',
          'us-west-2a',
          '--keyPairName',
          'my key (laptop)',
        ],
        {},
        /^toil: --keyPairName: the Owner tag 'my key \(laptop\)' has '\(' in it; IAM and S3 take tags of .* only \(the Owner tag is the key pair name when no --owner is given: pass --owner NAME\)$/,
      ],
    ];
    for (const [what, args, extra, expected] of refusals) {
      const r = await runToil(args, { ...env, ...extra });
      t.equal(r.code, 2, `${what}: exit 2 (stderr: ${r.stderr.slice(0, 600)})`);
      t.match(r.stderr.trim(), expected, `${what}: the line names the tag and the rule`);
      t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
      t.equal(r.stdout, '', `${what}: no progress, nothing made`);
    }
    t.equal(endpoint.cloud.instances.size, 0, 'no instance launched');
    t.same(
      [...endpoint.cloud.securityGroups.values()].map((g) => g.name),
      ['default'],
      'no security group made',
    );
    t.same((await iam.send(new ListRolesCommand({}))).Roles ?? [], [], 'no IAM role made');
    t.same(
      (await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles ?? [],
      [],
      'no instance profile made',
    );

    // What AWS does take: spaces, letters beyond ASCII, the allowed marks, 42 tags, Toil's Owner/Name overrides.
    const fine = await runToil(
      [
        ...launch(
          'tags',
          '-t',
          'cost centre=genomics/2024 @lab+x',
          '-t',
          'équipe=bio',
          ...manyTags.slice(0, 80),
        ),
        '--owner',
        'ops team',
      ],
      env,
    );
    t.equal(fine.code, 0, `tags AWS allows launch (stderr: ${fine.stderr.slice(0, 600)})`);
    const role = await iam.send(new ListRolesCommand({}));
    t.same(
      (role.Roles ?? []).map((r) => r.RoleName).sort(),
      ['toil-tags-leader', 'toil-tags-worker'],
      'the cluster got its roles',
    );
  },
);
