import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { UserInputError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { AwsCluster } from '../../src/provisioner/aws/awsCluster.js';
import { checkRootVolumesFitImage, nodeImage } from '../../src/provisioner/cluster/nodeImage.js';
import { startTestEndpoint, testCalls, testEc2Client } from '../fixtures/ec2Local.js';

/**
 * The nodes' image and the smallest root volume EC2 makes from it, read through the real
 * DescribeImages of the local cloud: its root device's snapshot, as EC2 lists it in the image's
 * block device mappings.
 */
t.test("the image's root snapshot is read from DescribeImages, and a smaller volume refused", async (t) => {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  t.teardown(() => client.destroy());
  const cluster = new AwsCluster({
    calls: testCalls(client),
    clusterName: 'c',
    clock: new RealClock(),
    log: silentLogger(),
  });
  const local = { imageId: LOCAL_IMAGE.imageId, rootSnapshotGiB: 8 };
  t.same(await cluster.flatcarImage(), local, 'the newest Flatcar stable, with its 8 GiB snapshot');
  t.same(await cluster.image(LOCAL_IMAGE.imageId), local, 'the image of that id, the same');
  t.equal(await cluster.image('ami-0123456789abcdef0'), undefined, 'no image of that id: undefined');
  t.same(await nodeImage(cluster, undefined, 'us-west-2', 'NO_IMAGE'), local, 'no TOIL_AWS_AMI: Flatcar');
  const missing = await nodeImage(cluster, 'ami-0123456789abcdef0', 'us-west-2', 'NO_NODE_IMAGE').catch(
    (e: unknown) => e,
  );
  t.ok(missing instanceof UserInputError, 'an image that is not there is a user error');
  t.equal((missing as UserInputError).code, 'NO_NODE_IMAGE');
  t.equal(
    (missing as UserInputError).message,
    "TOIL_AWS_AMI: no image 'ami-0123456789abcdef0' in region us-west-2",
  );
  // Not an image ID: refused before EC2 is asked, which answers it InvalidAMIID.Malformed.
  for (const id of ['ami-xyz', 'notanami'])
    await t.rejects(nodeImage(cluster, id, 'us-west-2', 'NO_IMAGE'), {
      disposition: 'user',
      code: 'BAD_IMAGE_ID',
      message: `TOIL_AWS_AMI: '${id}' is not an image ID: expected ami- followed by 8 or 17 hex digits, like ami-0123456789abcdef0`,
    });

  const volumes = [
    { flag: '--leaderStorage', giB: 50 },
    { flag: '--nodeStorageOverrides c5.large', giB: 7 },
  ];
  const e = t.throws(() => checkRootVolumesFitImage(volumes, local)) as UserInputError;
  t.ok(e instanceof UserInputError, 'a user error: one line, exit 2');
  t.equal(e.code, 'ROOT_VOLUME_BELOW_IMAGE');
  t.equal(
    e.message,
    `--nodeStorageOverrides c5.large: 7 GiB is smaller than the root snapshot of image ${LOCAL_IMAGE.imageId} (8 GiB), which EC2 makes a node's root volume from: give at least 8`,
  );
  t.doesNotThrow(
    () => checkRootVolumesFitImage([{ flag: '--nodeStorage', giB: 8 }], local),
    "the snapshot's own size is made",
  );
  t.doesNotThrow(
    () => checkRootVolumesFitImage(volumes, { imageId: 'ami-1', rootSnapshotGiB: undefined }),
    'an image that lists no root snapshot bounds nothing',
  );
});
