/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- the CLI's JSON output is checked value by value */
import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { awsCliAvailable, awsEc2 } from '../fixtures/awsCli.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { testDir } from '../fixtures/testDir.js';

const { RunInstancesCommand } = ec2Sdk();

/**
 * The machine image's `aws` CLI (botocore: an EC2 client written by others, in another language)
 * must read our endpoint's answers as it reads EC2's.
 */

t.test(
  'the aws CLI reads run-instances, describe-instances and terminate-instances from the local endpoint',
  { skip: awsCliAvailable ? false : 'the aws CLI is not on PATH' },
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    const aws = awsEc2(endpoint.url);

    const run = await aws(
      'run-instances',
      '--image-id',
      LOCAL_IMAGE.imageId,
      '--instance-type',
      'm5.large',
      '--count',
      '2',
      '--placement',
      'AvailabilityZone=us-west-2b',
      '--metadata-options',
      'HttpTokens=required,HttpPutResponseHopLimit=3',
      '--tag-specifications',
      'ResourceType=instance,Tags=[{Key=clusterName,Value=cli}]',
      '--client-token',
      'cli-token-1',
    );
    t.equal(run.status, 0, run.stderr);
    const launched = run.json.Instances as any[];
    t.equal(launched.length, 2, 'two instances');
    t.match(run.json.ReservationId, /^r-[0-9a-f]+$/);
    t.equal(run.json.OwnerId, '123456789012');
    for (const i of launched) {
      t.match(i.InstanceId, /^i-[0-9a-f]{17}$/);
      t.equal(i.InstanceType, 'm5.large');
      t.same(i.State, { Code: 0, Name: 'pending' });
      t.equal(i.Placement.AvailabilityZone, 'us-west-2b');
      t.match(i.PrivateIpAddress, /^10\.0\.16\.\d+$/);
      t.equal(i.MetadataOptions.HttpTokens, 'required');
      t.equal(i.MetadataOptions.HttpPutResponseHopLimit, 3);
      t.same(i.Tags, [{ Key: 'clusterName', Value: 'cli' }]);
      t.match(i.LaunchTime, /^\d{4}-\d\d-\d\dT/);
    }
    const ids = launched.map((i) => i.InstanceId).sort();

    const again = await aws(
      'run-instances',
      '--image-id',
      LOCAL_IMAGE.imageId,
      '--instance-type',
      'm5.large',
      '--count',
      '2',
      '--placement',
      'AvailabilityZone=us-west-2b',
      '--metadata-options',
      'HttpTokens=required,HttpPutResponseHopLimit=3',
      '--tag-specifications',
      'ResourceType=instance,Tags=[{Key=clusterName,Value=cli}]',
      '--client-token',
      'cli-token-1',
    );
    t.same(
      (again.json.Instances as any[]).map((i) => i.InstanceId).sort(),
      ids,
      'the same client token returns the same instances',
    );

    await new Promise((r) => setTimeout(r, 100));
    const described = await aws(
      'describe-instances',
      '--filters',
      'Name=tag:clusterName,Values=cli',
      'Name=instance-state-name,Values=pending,running',
    );
    t.equal(described.status, 0, described.stderr);
    const seen = (described.json.Reservations as any[]).flatMap((r) => r.Instances);
    t.same(seen.map((i: any) => i.InstanceId).sort(), ids);
    t.same(
      seen.map((i: any) => i.State.Name),
      ['running', 'running'],
    );
    t.same(
      seen.map((i: any) => i.PublicIpAddress),
      ['127.0.0.1', '127.0.0.1'],
    );
    t.equal(described.json.Reservations.length, 1, 'one reservation per run-instances call');

    // Six more reservations through the JS SDK, so that the CLI must follow a NextToken.
    const sdk = testEc2Client(endpoint.url);
    for (let i = 0; i < 6; i++)
      await sdk.send(
        new RunInstancesCommand({
          ImageId: LOCAL_IMAGE.imageId,
          InstanceType: 't2.micro',
          MinCount: 1,
          MaxCount: 1,
        }),
      );
    const paged = await aws('describe-instances', '--page-size', '5');
    t.equal(paged.status, 0, paged.stderr);
    const all = (paged.json.Reservations as any[]).flatMap((r) => r.Instances);
    t.equal(all.length, 8, 'the CLI followed NextToken across pages of 5 instances');
    t.equal(new Set(all.map((i: any) => i.InstanceId)).size, 8, 'no instance repeated across pages');
    t.ok(endpoint.stats.byAction.get('DescribeInstances')! >= 3, 'two pages plus the earlier describe');

    const term = await aws('terminate-instances', '--instance-ids', ...ids);
    t.equal(term.status, 0, term.stderr);
    const terminating = (term.json.TerminatingInstances as any[]).sort((a, b) =>
      a.InstanceId.localeCompare(b.InstanceId),
    );
    t.same(
      terminating.map((x) => x.InstanceId),
      ids,
    );
    for (const x of terminating) {
      t.same(x.CurrentState, { Code: 32, Name: 'shutting-down' });
      t.same(x.PreviousState, { Code: 16, Name: 'running' });
    }

    const missing = await aws('terminate-instances', '--instance-ids', 'i-0123456789abcdef0');
    t.not(missing.status, 0, 'an unknown id fails');
    t.match(
      missing.stderr,
      /InvalidInstanceID\.NotFound.*The instance ID 'i-0123456789abcdef0' does not exist/,
    );
  },
);

t.test(
  "the README's key pair step: aws ec2 import-key-pair with a public key file makes the key pair --keyPairName names",
  { skip: awsCliAvailable ? false : 'the aws CLI is not on PATH' },
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    const aws = awsEc2(endpoint.url);
    const dir = testDir(t, {
      'id_ed25519.pub':
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop\n',
    });
    const before = await aws('describe-key-pairs', '--key-names', 'KEY');
    t.not(before.status, 0, 'no key pair before the step (as on AWS: launch-cluster would refuse)');
    t.match(before.stderr, /InvalidKeyPair\.NotFound/);
    const imported = await aws(
      'import-key-pair',
      '--key-name',
      'KEY',
      '--public-key-material',
      `fileb://${dir}/id_ed25519.pub`,
    );
    t.equal(imported.status, 0, imported.stderr);
    t.equal(imported.json.KeyName, 'KEY');
    const after = await aws('describe-key-pairs', '--key-names', 'KEY');
    t.equal(after.status, 0, after.stderr);
    t.same(
      (after.json.KeyPairs as any[]).map((k) => [k.KeyName, k.KeyType]),
      [['KEY', 'ed25519']],
    );
  },
);
