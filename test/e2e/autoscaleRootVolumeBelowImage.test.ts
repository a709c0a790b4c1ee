import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { autoscaledRunArgs, localCloudInstances, startClusterCloud } from '../fixtures/leaderE2e.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

/**
 * `toil run --provisioner aws` whose workers' root volume (`--nodeStorage`, a type's
 * `--nodeStorageOverrides` entry, an instance-store type's too) is smaller than the root snapshot of the image they boot is
 * refused at start, as launch-cluster refuses it: EC2 refuses each such launch
 * (InvalidBlockDeviceMapping), and the scaler tried again every tick while the workflow waited.
 * The image is the one the leader would launch, looked up through the local cloud's DescribeImages.
 */
t.setTimeout(180_000);

t.test(
  "an autoscaled run with a worker root volume under the image's snapshot is refused at start, one line, nothing made",
  async (t) => {
    const dir = testDir(t, { work: {} });
    const cloud = await startClusterCloud(t, 'c');
    const { imageId, rootSnapshot } = LOCAL_IMAGE;
    const below = (flag: string, giB: number) =>
      new RegExp(
        `^toil: ${flag}: ${giB} GiB is smaller than the root snapshot of image ${imageId} \\(${rootSnapshot.sizeGiB} GiB\\), which EC2 makes a node's root volume from: give at least ${rootSnapshot.sizeGiB}$`,
      );
    const cases: [what: string, flags: string[], env: Record<string, string>, expected: RegExp][] = [
      ['--nodeStorage 7', ['--nodeStorage', '7'], {}, below('--nodeStorage', 7)],
      [
        "a type's --nodeStorageOverrides entry of 6 GiB",
        ['--nodeStorageOverrides', 't2.medium:6'],
        {},
        below('--nodeStorageOverrides t2.medium', 6),
      ],
      [
        // Its jobs use its instance store, but its root volume is still made from the image: it was
        // launched with 50 GiB whatever was given.
        "an instance-store type's --nodeStorageOverrides entry of 7 GiB",
        ['--nodeTypes', 'i3.large', '--nodeStorageOverrides', 'i3.large:7'],
        {},
        below('--nodeStorageOverrides i3.large', 7),
      ],
      [
        'TOIL_AWS_AMI naming no image of the region',
        [],
        { TOIL_AWS_AMI: 'ami-0123456789abcdef0' },
        /^toil: TOIL_AWS_AMI: no image 'ami-0123456789abcdef0' in region us-west-2$/,
      ],
    ];
    for (const [what, flags, env, expected] of cases) {
      const r = await runToil(
        [
          ...autoscaledRunArgs(
            ['test/fixtures/workflowDeclaresNothing.ts', 'file:js'],
            cloud,
            'c',
            join(dir, 'work'),
          ),
          ...flags,
          // Its job's disk fits what such a volume leaves after the OS, so the run's own planning
          // takes it (a root volume under 5 GB is refused there, as leaving no disk for jobs).
          ...['--defaultDisk', '1M', '--logLevel', 'warning'],
        ],
        { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir, ...env } },
      );
      oneLineRefusal(t, what, r, expected);
      t.notOk(existsSync(join(dir, 'js')), `${what}: no job store was made`);
    }
    const instances = await localCloudInstances(cloud.ec2Url);
    t.same(
      instances.map((i) => i.tags['ToilNodeType']),
      ['leader'],
      "no worker was launched: the cluster's leader is the only instance",
    );
  },
);
