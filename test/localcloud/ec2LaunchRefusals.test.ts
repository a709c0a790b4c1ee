import t from 'tap';
import type { EC2Client, Tag } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable, startMoto } from '../fixtures/motoServer.js';

const { DescribeImagesCommand, RunInstancesCommand } = ec2Sdk();

/**
 * The local cloud answers RunInstances' tags and root volume as EC2 does: toil-ts refuses them
 * before it launches, and a local cloud that took them would let a regression of those checks
 * pass every test. Through the real @aws-sdk/client-ec2, so the codes are what the SDK gives
 * callers as `name`.
 */
const many = (n: number): Tag[] => Array.from({ length: n }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));

function runWith(
  imageId: string,
  o: { tags?: Tag[]; volumeTags?: Tag[]; rootGiB?: number; volumeType?: 'gp2' | 'gp3' | 'io2' },
) {
  return new RunInstancesCommand({
    ImageId: imageId,
    InstanceType: 't2.medium',
    MinCount: 1,
    MaxCount: 1,
    Placement: { AvailabilityZone: 'us-west-2a' },
    ...(o.rootGiB !== undefined
      ? {
          BlockDeviceMappings: [
            {
              DeviceName: '/dev/xvda',
              Ebs: { VolumeSize: o.rootGiB, VolumeType: o.volumeType ?? 'gp3', DeleteOnTermination: true },
            },
          ],
        }
      : {}),
    TagSpecifications: [
      ...(o.tags ? [{ ResourceType: 'instance' as const, Tags: o.tags }] : []),
      ...(o.volumeTags ? [{ ResourceType: 'volume' as const, Tags: o.volumeTags }] : []),
    ],
  });
}

async function refusal(
  ec2: EC2Client,
  command: ReturnType<typeof runWith>,
): Promise<{ name: string; message: string }> {
  try {
    await ec2.send(command);
    return { name: 'accepted', message: '' };
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
}

const REFUSED: [what: string, o: Parameters<typeof runWith>[1], code: string, message: RegExp][] = [
  [
    "a tag key beginning with 'aws:'",
    { tags: [{ Key: 'aws:team', Value: 'bio' }] },
    'InvalidParameterValue',
    /Tag keys starting with 'aws:' are reserved for internal use/,
  ],
  [
    "a tag key beginning with 'AWS:' (the prefix is reserved in any case)",
    { tags: [{ Key: 'AWS:team', Value: 'bio' }] },
    'InvalidParameterValue',
    /reserved for internal use/,
  ],
  [
    'a tag key of 129 characters',
    { tags: [{ Key: 'k'.repeat(129), Value: 'v' }] },
    'InvalidParameterValue',
    /^Tag key exceeds the maximum length of 128 characters$/,
  ],
  [
    'a tag value of 257 characters',
    { tags: [{ Key: 'note', Value: 'v'.repeat(257) }] },
    'InvalidParameterValue',
    /^Tag value exceeds the maximum length of 256 characters$/,
  ],
  ['51 tags on the instance', { tags: many(51) }, 'TagLimitExceeded', /maximum number of tags/i],
  ['51 tags on the volume', { volumeTags: many(51) }, 'TagLimitExceeded', /maximum number of tags/i],
  [
    'a gp3 root volume over 65536 GiB (64 TiB)',
    { rootGiB: 65_537 },
    'InvalidParameterCombination',
    /size 65537GiB and type gp3 .*: gp3 volumes are 1 to 65536 GiB/,
  ],
  [
    'a gp2 root volume over 16384 GiB',
    { rootGiB: 16_385, volumeType: 'gp2' },
    'InvalidParameterCombination',
    /gp2 volumes are 1 to 16384 GiB/,
  ],
  [
    "a root volume smaller than the image's 8 GiB snapshot",
    { rootGiB: 4 },
    'InvalidBlockDeviceMapping',
    /^Volume of size 4GB is smaller than snapshot 'snap-0f1a7ca7000000001', expect size >= 8GB$/,
  ],
];

t.test(
  "the local cloud refuses at RunInstances the tags and root volumes EC2 refuses, with EC2's codes",
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    t.teardown(() => ec2.destroy());
    for (const [what, o, code, message] of REFUSED) {
      const r = await refusal(ec2, runWith(LOCAL_IMAGE.imageId, o));
      t.equal(r.name, code, `${what}: ${code}`);
      t.match(r.message, message, `${what}: the message says why`);
    }
    t.equal(endpoint.cloud.instances.size, 0, 'no refused request launched an instance');

    // At the limits, and beyond the old ones, EC2 takes them.
    const accepted: [what: string, o: Parameters<typeof runWith>[1]][] = [
      [
        '50 tags, a key of 128 and a value of 256 characters',
        {
          tags: [
            ...many(48),
            { Key: 'k'.repeat(128), Value: 'v'.repeat(256) },
            { Key: 'awsome:x', Value: 'aws:y' },
          ],
        },
      ],
      ['50 tags on the instance and 50 on its volume', { tags: many(50), volumeTags: many(50) }],
      ["a root volume of the image's size", { rootGiB: 8 }],
      ['a gp3 root volume of 65536 GiB (64 TiB)', { rootGiB: 65_536 }],
      ['an io2 root volume of 65536 GiB', { rootGiB: 65_536, volumeType: 'io2' }],
      ["no block device mapping: the image's size", {}],
    ];
    for (const [what, o] of accepted)
      t.equal((await refusal(ec2, runWith(LOCAL_IMAGE.imageId, o))).name, 'accepted', what);
    t.equal(endpoint.cloud.instances.size, accepted.length, 'each accepted request launched its instance');
  },
);

t.test(
  "moto_server, where it checks them, answers RunInstances' tags with the local cloud's codes",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const ec2 = testEc2Client(moto.endpoint);
    t.teardown(() => ec2.destroy());
    const image = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
    // moto checks the count of tags per resource (TagLimitExceeded) and none of the other rules
    // here (reserved prefix, lengths, volume sizes): only what it checks is compared.
    t.equal(
      (await refusal(ec2, runWith(image, { tags: many(51) }))).name,
      'TagLimitExceeded',
      'moto: 51 tags on the instance: TagLimitExceeded, as the local cloud answers',
    );
    t.equal(
      (await refusal(ec2, runWith(image, { tags: many(50) }))).name,
      'accepted',
      'moto: 50 tags are taken',
    );
  },
);
