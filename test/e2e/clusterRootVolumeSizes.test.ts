import t from 'tap';
import { ec2Sdk, iamSdk } from '../../src/common/awsSdkPackages.js';
import { parseLeaderConfig } from '../../src/leader/leaderConfig.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import type { IgnitionConfig } from '../../src/provisioner/aws/userData.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { endpointWithKeyPair, motoForClusters } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable, motoIamClient } from '../fixtures/motoServer.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';

const { DescribeImagesCommand, DescribeInstancesCommand, DescribeSecurityGroupsCommand } = ec2Sdk();
const { ListRolesCommand } = iamSdk();

/**
 * The root volumes launch-cluster takes are the ones EC2 makes: a node's root is gp3, which EC2
 * (and the local cloud, test/localcloud/ec2LaunchRefusals.test.ts) makes up to 65536 GiB, and no
 * smaller than the root snapshot of the image it boots, which it is made from.
 */
// A launch-cluster run against an endpoint in this process; a busy two-core machine is slow.
t.setTimeout(180_000);

const launch = [
  ...['launch-cluster', 'small', '--nodeType', 't2.medium', '--keyPairName', 'k'],
  ...['--zone', 'us-west-2a'],
];

t.test('launch-cluster makes gp3 root volumes up to 64 TiB, past gp2 16 TiB', async (t) => {
  const { endpoint, env } = await endpointWithKeyPair(t);
  const r = await runToil(
    [
      ...['launch-cluster', 'big', '--nodeType', 't2.medium', '-w', '1', '--keyPairName', 'k'],
      ...['--zone', 'us-west-2a', '--leaderStorage', '65536', '--nodeStorage', '20000'],
    ],
    env,
  );
  t.equal(r.code, 0, `launched (stderr: ${r.stderr.slice(0, 2000)})`);
  const volumes = [...endpoint.cloud.instances.values()].map((i) => [
    i.tags.get('ToilNodeType'),
    i.rootVolumeGiB,
  ]);
  t.same(
    volumes.sort(),
    [
      ['leader', 65_536],
      ['worker', 20_000],
    ],
    'the leader has the largest gp3 volume, the worker one larger than gp2 allows',
  );
});

t.test(
  "launch-cluster --nodeStorageOverrides (Toil's Launch-Cluster Options) sizes the root of the workers of each type it names, static and the leader's daemon's",
  async (t) => {
    const { endpoint, env } = await endpointWithKeyPair(t);
    const r = await runToil(
      [
        ...['launch-cluster', 'mixed', '--leaderNodeType', 't2.medium', '--keyPairName', 'k'],
        ...['--zone', 'us-west-2a', '--nodeTypes', 'm3.large,t2.micro', '-w', '1,1'],
        ...['--nodeStorage', '20', '--nodeStorageOverrides', 'm3.large:100'],
      ],
      env,
    );
    t.equal(r.code, 0, `launched (stderr: ${r.stderr.slice(0, 2000)})`);
    const instances = [...endpoint.cloud.instances.values()];
    t.same(
      instances.map((i) => [i.tags.get('ToilNodeType'), i.type.name, i.rootVolumeGiB]).sort(),
      [
        ['leader', 't2.medium', 50],
        ['worker', 'm3.large', 100],
        ['worker', 't2.micro', 20],
      ],
      'the m3.large worker has its override, the t2.micro one --nodeStorage',
    );
    const leader = instances.find((i) => i.tags.get('ToilNodeType') === 'leader')!;
    const ignition = JSON.parse(Buffer.from(leader.userData!, 'base64').toString()) as IgnitionConfig;
    const file = ignition.storage.files.find((f) => f.path === '/etc/toil/leader.yaml')!;
    const config = parseLeaderConfig(
      decodeURIComponent(file.contents.source.replace(/^data:,/, '')),
      await readCatalogue(),
    );
    t.same(
      config.scaler.nodeStorageOverridesGiB,
      { 'm3.large': 100 },
      "the leader's daemon launches its m3.large workers with the override too",
    );
    t.equal(config.scaler.nodeStorageGiB, 20, 'and the others with --nodeStorage');
  },
);

t.test(
  "launch-cluster refuses a root volume smaller than the image's root snapshot, before anything is made",
  async (t) => {
    const { endpoint, env } = await endpointWithKeyPair(t);
    const { imageId, rootSnapshot } = LOCAL_IMAGE;
    const below = (flag: string, giB: number) =>
      new RegExp(
        `^toil: ${flag}: ${giB} GiB is smaller than the root snapshot of image ${imageId} \\(${rootSnapshot.sizeGiB} GiB\\), which EC2 makes a node's root volume from: give at least ${rootSnapshot.sizeGiB}$`,
      );
    const cases: [what: string, args: string[], extraEnv: Record<string, string>, expected: RegExp][] = [
      ['a leader root volume of 7 GiB', [...launch, '--leaderStorage', '7'], {}, below('--leaderStorage', 7)],
      [
        'a worker root volume of 1 GiB (the leader launches every worker with it)',
        [...launch, '--nodeStorage', '1', '-w', '1'],
        {},
        below('--nodeStorage', 1),
      ],
      [
        'a --nodeStorageOverrides entry of 2 GiB',
        [...launch, '--nodeStorageOverrides', 't2.medium:2', '-w', '1'],
        {},
        below('--nodeStorageOverrides t2.medium', 2),
      ],
      [
        'TOIL_AWS_AMI naming no image of the region',
        launch,
        { TOIL_AWS_AMI: 'ami-0123456789abcdef0' },
        /^toil: TOIL_AWS_AMI: no image 'ami-0123456789abcdef0' in region us-west-2$/,
      ],
    ];
    for (const [what, args, extraEnv, expected] of cases)
      oneLineRefusal(t, what, await runToil(args, { ...env, ...extraEnv }), expected);
    t.equal(endpoint.cloud.instances.size, 0, 'no instance was launched');
    t.same(
      [...endpoint.cloud.securityGroups.values()].map((g) => g.name),
      ['default'],
      'no security group was made',
    );

    // The image's own size is taken: EC2 makes the root volume from the snapshot, as large.
    const r = await runToil([...launch, '--leaderStorage', '8', '--nodeStorage', '8', '-w', '1'], env);
    t.equal(r.code, 0, `the image's 8 GiB is launched (stderr: ${r.stderr.slice(0, 2000)})`);
    t.same(
      [...endpoint.cloud.instances.values()].map((i) => i.rootVolumeGiB),
      [8, 8],
      'the leader and its worker have 8 GiB root volumes',
    );
  },
);

t.test(
  "moto_server: launch-cluster reads the image's root snapshot as moto lists it, and refuses a smaller volume before anything is made",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { moto, ec2, env } = await motoForClusters(t);
    const iam = motoIamClient(moto);
    t.teardown(() => iam.destroy());
    const imageId = env.TOIL_AWS_AMI!;
    // moto's images list a root snapshot larger than Flatcar's (15 GiB), and moto launches any
    // size: only toil-ts's own check stands between a smaller volume and the launch.
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
    const least = image.BlockDeviceMappings!.find((m) => m.DeviceName === image.RootDeviceName)!.Ebs!
      .VolumeSize!;
    t.ok(least > 8, `moto's image has a ${least} GiB root snapshot`);
    const r = await runToil([...launch, '--nodeStorage', String(least - 1), '-w', '1'], env);
    oneLineRefusal(
      t,
      `a worker root volume of ${least - 1} GiB`,
      r,
      new RegExp(
        `^toil: --nodeStorage: ${least - 1} GiB is smaller than the root snapshot of image ${imageId} \\(${least} GiB\\), which EC2 makes a node's root volume from: give at least ${least}$`,
      ),
    );
    const instances = (await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [];
    t.same(instances, [], 'no instance was launched');
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    t.same(
      groups.map((g) => g.GroupName),
      ['default'],
      'no security group was made',
    );
    t.same((await iam.send(new ListRolesCommand({}))).Roles, [], 'no IAM role was made');
  },
);
