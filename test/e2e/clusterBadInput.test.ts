import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

const { CreateSubnetCommand, ImportKeyPairCommand } = ec2Sdk();

/** Each mistake is one clear line on stderr, exit code 2, no stack, and nothing made in the cloud. */
// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

t.test('bad input to the cluster utilities is one clear line and exit 2', async (t) => {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  await testEc2Client(endpoint.url).send(
    new ImportKeyPairCommand({
      KeyName: 'k',
      PublicKeyMaterial: Buffer.from(
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl k',
      ),
    }),
  );
  const env = { AWS_ENDPOINT_URL_EC2: endpoint.url };
  // A subnet of the default VPC in another zone than the one the cluster is asked for.
  const inZoneB = (
    await testEc2Client(endpoint.url).send(
      new CreateSubnetCommand({
        VpcId: endpoint.cloud.vpcId,
        CidrBlock: '10.0.48.0/24',
        AvailabilityZone: 'us-west-2b',
      }),
    )
  ).Subnet!.SubnetId!;
  const launch = ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k'];
  const cases: [name: string, args: string[], extraEnv: Record<string, string>, expected: RegExp][] = [
    [
      'invalid cluster name',
      [
        'launch-cluster',
        'My_Cluster',
        '--nodeType',
        't2.medium',
        '--keyPairName',
        'k',
        '--zone',
        'us-west-2a',
      ],
      {},
      /^toil: invalid cluster name 'My_Cluster': use 1–63 lowercase letters, digits and '-'/,
    ],
    [
      'an empty --owner (the cluster would be tagged with an empty Owner)',
      [...launch, '--zone', 'us-west-2a', '--owner', ''],
      {},
      /^toil: --owner '': expected a name for the cluster's Owner tag \(or leave --owner out: TOIL_OWNER_TAG, else the key pair name\)$/,
    ],
    [
      "a tag with two '=' (Toil splits a tag at '=' and refuses it)",
      [...launch, '--zone', 'us-west-2a', '-t', 'a=b=c'],
      {},
      /^toil: -t\/--tag: 'a=b=c' has 2 '=': expected KEY=VALUE with one '=', as Toil splits it \(a value holding '=' can be given in TOIL_AWS_TAGS, read when no -t is given\)$/,
    ],
    [
      'a tag with an empty key',
      [...launch, '--zone', 'us-west-2a', '-t', '=v'],
      {},
      /^toil: -t\/--tag: '=v' has an empty key: expected KEY=VALUE \(e\.g\. -t team=genomics\)$/,
    ],
    [
      '--nodeTypes without -w (Toil: "The --nodeTypes option requires --workers")',
      [...launch, '--zone', 'us-west-2a', '--nodeTypes', 't2.large,m5.large:0.05'],
      {},
      /^toil: --nodeTypes t2\.large,m5\.large:0\.05 needs -w\/--workers, how many static workers of each type to launch \(e\.g\. -w 1,1\), as Toil's launch-cluster requires$/,
    ],
    [
      '--nodeStorageOverrides naming a type the workers are not of (Toil: "must be in --nodeTypes")',
      [...launch, '--zone', 'us-west-2a', '--nodeTypes', 't2.large', '-w', '1'].concat([
        '--nodeStorageOverrides',
        'm5.large:80',
      ]),
      {},
      /^toil: --nodeStorageOverrides m5\.large:80: m5\.large is not a type the workers are of \(t2\.large\); as in Toil, an override names a type of --nodeTypes$/,
    ],
    [
      '--nodeStorageOverrides without its GiB',
      [...launch, '--zone', 'us-west-2a', '--nodeStorageOverrides', 't2.medium'],
      {},
      /^toil: --nodeStorageOverrides t2\.medium: 't2\.medium' is not TYPE:GiB; expected entries like c5\.large:80, separated by commas$/,
    ],
    [
      '--nodeStorageOverrides with a GiB that is not a whole number',
      [...launch, '--zone', 'us-west-2a', '--nodeStorageOverrides', 't2.medium:1.5'],
      {},
      /^toil: --nodeStorageOverrides t2\.medium: '1\.5' is not a positive whole number$/,
    ],
    [
      '--nodeTypes with an empty -w (Toil reads it as no -w)',
      [...launch, '--zone', 'us-west-2a', '--nodeTypes', 't2.large', '-w', ''],
      {},
      /^toil: --nodeTypes t2\.large needs -w\/--workers, how many static workers of each type to launch \(e\.g\. -w 1\), as Toil's launch-cluster requires$/,
    ],
    [
      '-w without a type for the workers',
      [
        'launch-cluster',
        'c1',
        '--leaderNodeType',
        't2.medium',
        ...launch.slice(4),
        '--zone',
        'us-west-2a',
        '-w',
        '1',
      ],
      {},
      /^toil: -w\/--workers needs --nodeTypes or --nodeType for the workers$/,
    ],
    [
      'a leader root volume larger than EC2 makes',
      [...launch, '--zone', 'us-west-2a', '--leaderStorage', '70000'],
      {},
      /^toil: --leaderStorage: 70000 GiB is more than EC2 makes a root volume \(gp3, the type of a node's root: at most 65536 GiB, 64 TiB\)$/,
    ],
    [
      'a worker root volume larger than EC2 makes (the leader launches every worker with it)',
      [...launch, '--zone', 'us-west-2a', '--nodeStorage', '65537', '-w', '1'],
      {},
      /^toil: --nodeStorage: 65537 GiB is more than EC2 makes a root volume \(gp3, the type of a node's root: at most 65536 GiB, 64 TiB\)$/,
    ],
    [
      'unknown instance type',
      ['launch-cluster', 'c1', '--nodeType', 't2.mediun', '--keyPairName', 'k', '--zone', 'us-west-2a'],
      {},
      /^toil: unknown instance type 't2\.mediun' \(did you mean 't2\.medium'/,
    ],
    [
      'unknown worker type',
      [
        'launch-cluster',
        'c1',
        '--leaderNodeType',
        't2.medium',
        '--nodeTypes',
        'm5.larg',
        '-w',
        '1',
        '--keyPairName',
        'k',
        '--zone',
        'us-west-2a',
      ],
      {},
      /^toil: unknown instance type 'm5\.larg' \(did you mean 'm5\.large'/,
    ],
    [
      'an engine launch-cluster does not set up',
      [
        'launch-cluster',
        'c1',
        '--nodeType',
        't2.medium',
        '--keyPairName',
        'k',
        '--clusterType',
        'kubernetes',
      ],
      {},
      /^toil: --clusterType kubernetes: toil-ts launches no Kubernetes clusters; use mesos \(Toil's default\) or slurm, with -w N static workers, and let a run's scaler \(toil run --provisioner aws --maxNodes N\) add workers as jobs need them$/,
    ],
    [
      'no zone',
      ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k'],
      {},
      /^toil: no zone given: pass --zone \(e\.g\. --zone us-west-2a\) or set TOIL_AWS_ZONE$/,
    ],
    [
      'a zone the region lacks',
      ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k'],
      { TOIL_AWS_ZONE: 'us-west-2z' },
      /^toil: TOIL_AWS_ZONE: zone 'us-west-2z' is not in region us-west-2 \(its zones: us-west-2a, us-west-2b, us-west-2c\)$/,
    ],
    // Toil keeps the instances that fail their status checks; toil-ts cannot, and says so.
    [
      'TOIL_AWS_NODE_DEBUG=True',
      [...launch, '--zone', 'us-west-2a'],
      { TOIL_AWS_NODE_DEBUG: 'True' },
      /^toil: TOIL_AWS_NODE_DEBUG=True: toil-ts does not keep EC2 instances that fail to boot for debugging \(its scaler terminates and replaces them, and destroy-cluster removes them all\): unset it, or set it to False$/,
    ],
    [
      "TOIL_AWS_NODE_DEBUG=False (Toil's default) is no refusal",
      launch,
      { TOIL_AWS_NODE_DEBUG: 'False' },
      /^toil: no zone given: pass --zone \(e\.g\. --zone us-west-2a\) or set TOIL_AWS_ZONE$/,
    ],
    [
      'not a zone at all',
      ['destroy-cluster', 'c1', '--zone', 'west'],
      {},
      /^toil: --zone: 'west' is not an availability zone like us-west-2a$/,
    ],
    [
      'missing key pair',
      ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'nokey', '--zone', 'us-west-2a'],
      {},
      /^toil: --keyPairName: no key pair named 'nokey' in region us-west-2 \(key pairs here: k\); a key pair belongs to one region: import yours into us-west-2 with 'aws ec2 import-key-pair --region us-west-2 --key-name nokey --public-key-material fileb:\/\/YOUR_KEY\.pub', or give --zone where it is$/,
    ],
    [
      'a key pair of another region (key pairs are per region)',
      ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'us-east-1a'],
      {},
      /^toil: --keyPairName: no key pair named 'k' in region us-east-1 \(key pairs here: none\); a key pair belongs to one region: import yours into us-east-1 with 'aws ec2 import-key-pair --region us-east-1 --key-name k --public-key-material fileb:\/\/YOUR_KEY\.pub', or give --zone where it is$/,
    ],
    [
      'bad appliance image',
      ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'us-west-2a'],
      { TOIL_APPLIANCE_SELF: 'https://quay.io/x/toil' },
      /^toil: TOIL_APPLIANCE_SELF: 'https:\/\/quay\.io\/x\/toil' must not contain a URL scheme/,
    ],
    [
      'a Kubernetes worker range',
      [
        'launch-cluster',
        'c1',
        '--nodeType',
        't2.medium',
        '--keyPairName',
        'k',
        '--zone',
        'us-west-2a',
        '-w',
        '0-2',
      ],
      {},
      /^toil: -w\/--workers: '0-2' is a range \(Toil's autoscaled workers of a Kubernetes cluster, which toil-ts does not launch\): give a number of static workers, and let a run's scaler \(toil run --provisioner aws --maxNodes N\) add workers as jobs need them$/,
    ],
    [
      'a bad --sshCidr',
      [
        'launch-cluster',
        'c1',
        '--nodeType',
        't2.medium',
        '--keyPairName',
        'k',
        '--zone',
        'us-west-2a',
        '--sshCidr',
        '10.0.0.0/99',
      ],
      {},
      /^toil: --sshCidr: '10\.0\.0\.0\/99' is not a CIDR block/,
    ],
    [
      '--vpcSubnet naming a subnet that does not exist',
      [...launch, '--zone', 'us-west-2a', '--vpcSubnet', 'subnet-0123456789abcdef0'],
      {},
      /^toil: --vpcSubnet subnet-0123456789abcdef0: no such subnet in region us-west-2$/,
    ],
    [
      "--vpcSubnet in another zone than the cluster's",
      [...launch, '--vpcSubnet', inZoneB],
      { TOIL_AWS_ZONE: 'us-west-2a' },
      new RegExp(
        `^toil: --vpcSubnet ${inZoneB} is in zone us-west-2b, but the cluster's zone is us-west-2a \\(TOIL_AWS_ZONE\\): give --zone us-west-2b, or a subnet in us-west-2a$`,
      ),
    ],
    [
      'a bad provisioner',
      ['ssh-cluster', '-p', 'gce', '--zone', 'us-west-2a', 'c1'],
      {},
      /^toil: --provisioner: 'gce' is not supported \(only aws\)$/,
    ],
  ];
  for (const [name, args, extra, expected] of cases) {
    const r = await runToil(args, { ...env, ...extra });
    t.equal(r.code, 2, `${name}: exit 2 (stderr: ${r.stderr.slice(0, 2000)})`);
    t.match(r.stderr.trim(), expected, name);
    t.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
    t.notMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
  t.equal(endpoint.cloud.instances.size, 0, 'no instance was launched');
  t.same(
    [...endpoint.cloud.securityGroups.values()].map((g) => g.name),
    ['default'],
    'no security group was made',
  );
});
