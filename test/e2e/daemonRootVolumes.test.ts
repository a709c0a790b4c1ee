import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import {
  embeddedLeaderConfig,
  leaderConfigOnCloud,
  leaderOnCloud,
  liveWorkers,
  localCloudInstances,
  startClusterCloud,
  startEmbeddedLeader,
  submitHeldWorkflow,
  type RunningProcess,
} from '../fixtures/leaderE2e.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';
import { testDir } from '../fixtures/testDir.js';
import { startToil } from '../fixtures/workflowCli.js';

/**
 * The root volumes a `toil leader` from a hand-written config launches: every worker's, instance
 * store or not, is `scaler.nodeStorage` or its `nodeStorageOverrides` entry (an instance-store
 * type's was 50 GiB whatever was given), and one smaller than the root snapshot of the image the
 * workers boot is refused at start, as `toil run --provisioner aws` refuses it
 * (test/e2e/autoscaleRootVolumeBelowImage.test.ts): the daemon started, and EC2 refused each
 * launch its scaler made (InvalidBlockDeviceMapping), tick after tick. A reload to such a config is
 * rejected and the config in force stays. The same holds for the embedded provisioner, whose local
 * cloud boots its image (an 8 GiB root snapshot) and refuses a smaller root volume as EC2 does: it
 * was not checked there, and an embedded daemon started to have every launch refused.
 */
t.setTimeout(240_000);

const { imageId, rootSnapshot } = LOCAL_IMAGE;
const below = (name: string, giB: number) =>
  new RegExp(
    `^toil: ${name.replace(/\./g, '\\.')}: ${giB} GiB is smaller than the root snapshot of image ${imageId} \\(${rootSnapshot.sizeGiB} GiB\\), which EC2 makes a node's root volume from: give at least ${rootSnapshot.sizeGiB}$`,
  );
const NODE_TYPES = '  nodeTypes:\n    - t2.medium\n    - { type: t2.medium, spot: true }\n';
/** `toil leader --config PATH` refused at start: one line matching `expected`, nothing served. */
async function refusedAtStart(t: Test, what: string, config: string, expected: RegExp): Promise<void> {
  // A leader that starts anyway serves on: it is stopped after 30 s and the row fails.
  const { child, done } = startToil(['leader', '--config', config], { cwd: dirname(config) });
  const stopper = setTimeout(() => child.kill('SIGTERM'), 30_000);
  const r = await done.finally(() => clearTimeout(stopper));
  oneLineRefusal(t, what, r, expected);
  t.notMatch(`${r.stdout}${r.stderr}`, /status at/, `${what}: nothing was served`);
}

/**
 * A daemon launching with `nodeStorage: 90` (its config at `config`): its worker's root volume is
 * that, and a reload of `config` to 7 GiB, below the image's snapshot, is rejected.
 */
async function launchesThenRejectsReload(
  t: Test,
  o: {
    leader: RunningProcess;
    base: string;
    dir: string;
    ec2Url: string;
    config: string;
    withNodeStorage: (giB: number) => string;
    instanceType: string;
  },
): Promise<void> {
  t.equal(await submitHeldWorkflow(o.base, o.dir), 202);
  await o.leader.waitFor(/launched nodes/, 60_000);
  const [worker] = await liveWorkers(o.ec2Url);
  t.equal(worker?.type, o.instanceType, `a ${o.instanceType} was launched`);
  const launched = (await localCloudInstances(o.ec2Url)).find((i) => i.instanceId === worker?.id);
  t.equal(launched?.rootVolumeGiB, 90, 'its root volume is scaler.nodeStorage, not 50 GiB');

  writeFileSync(o.config, o.withNodeStorage(7));
  const [line] = await o.leader.waitFor(/.*config reload rejected; keeping the current config.*\n/, 10_000);
  t.match(
    line,
    /scaler\.nodeStorage: 7 GiB is smaller than the root snapshot of image/,
    'the reload names why',
  );
  const metrics = await (await fetch(`${o.base}/metrics`)).text();
  t.match(metrics, /toil_config_reloads_total\{result="rejected"\} 1/, 'counted as rejected');
  t.notMatch(metrics, /toil_config_reloads_total\{result="applied"\} [1-9]/, 'not applied');
}

/** The scaler's node types replaced by one spot instance-store type, with more scaler keys. */
const instanceStoreType = (scalerKeys: string): [string, string] => [
  NODE_TYPES,
  `  nodeTypes:\n    - { type: i3.large, spot: true }\n${scalerKeys}`,
];

t.test(
  "a leader config whose worker root volume is below the image's root snapshot is refused at start, one line, nothing launched",
  async (t) => {
    const dir = testDir(t, {});
    const cloud = await startClusterCloud(t, 'rv');
    const endpoint = `  endpoint: ${cloud.ec2Url}\n`;
    const cases: [what: string, more: [string, string][], expected: RegExp][] = [
      [
        'scaler.nodeStorage 7',
        [[NODE_TYPES, `${NODE_TYPES}  nodeStorage: 7\n`]],
        below('scaler.nodeStorage', 7),
      ],
      [
        'a scaler.nodeStorageOverrides entry of 6',
        [[NODE_TYPES, `${NODE_TYPES}  nodeStorageOverrides: { t2.medium: 6 }\n`]],
        below('scaler.nodeStorageOverrides.t2.medium', 6),
      ],
      [
        'provisioner.nodeStorageGiB 5 (as launch-cluster writes it)',
        [[endpoint, `${endpoint}  nodeStorageGiB: 5\n`]],
        below('provisioner.nodeStorageGiB', 5),
      ],
      [
        'an instance-store type with scaler.nodeStorage 7: its root volume is made from the image too',
        [instanceStoreType('  nodeStorage: 7\n')],
        below('scaler.nodeStorage', 7),
      ],
      [
        "an instance-store type's nodeStorageOverrides entry of 4",
        [instanceStoreType('  nodeStorageOverrides: { i3.large: 4 }\n')],
        below('scaler.nodeStorageOverrides.i3.large', 4),
      ],
      [
        'provisioner.imageId naming no image of the region',
        [[endpoint, `${endpoint}  imageId: ami-0123456789abcdef0\n`]],
        /^toil: provisioner\.imageId: no image 'ami-0123456789abcdef0' in region us-west-2$/,
      ],
    ];
    for (const [what, more, expected] of cases) {
      const config = join(dir, 'leader.yaml');
      writeFileSync(
        config,
        leaderConfigOnCloud(dir, cloud, 'rv', [[/localcloud:\n( {2}.*\n)+/, ''], ...more]),
      );
      await refusedAtStart(t, what, config, expected);
    }
    t.same(
      (await localCloudInstances(cloud.ec2Url)).map((i) => i.tags['ToilNodeType']),
      ['leader'],
      "no worker was launched: the cluster's leader is the only instance",
    );
  },
);

t.test(
  "an instance-store worker is launched with scaler.nodeStorage as its root volume, and a reload below the image's snapshot is rejected",
  async (t) => {
    const dir = testDir(t, {});
    const cloud = await startClusterCloud(t, 'rvi');
    const { leader, base } = await leaderOnCloud(t, dir, cloud, 'rvi', [
      instanceStoreType('  nodeStorage: 90\n'),
    ]);
    await launchesThenRejectsReload(t, {
      leader,
      base,
      dir,
      ec2Url: cloud.ec2Url,
      config: join(dir, 'leader.yaml'),
      withNodeStorage: (giB) =>
        leaderConfigOnCloud(dir, cloud, 'rvi', [
          [/localcloud:\n( {2}.*\n)+/, ''],
          instanceStoreType(`  nodeStorage: ${giB}\n`),
        ]),
      instanceType: 'i3.large',
    });
  },
);

t.test(
  "an embedded daemon whose worker root volume is below the local cloud's image is refused at start, one line",
  async (t) => {
    const dir = testDir(t, {});
    const cases: [what: string, scaler: string, expected: RegExp][] = [
      ['embedded, scaler.nodeStorage 7', `${NODE_TYPES}  nodeStorage: 7\n`, below('scaler.nodeStorage', 7)],
      [
        'embedded, a scaler.nodeStorageOverrides entry of 6',
        `${NODE_TYPES}  nodeStorageOverrides: { t2.medium: 6 }\n`,
        below('scaler.nodeStorageOverrides.t2.medium', 6),
      ],
    ];
    for (const [what, scaler, expected] of cases) {
      const config = join(dir, 'leader.yaml');
      writeFileSync(config, embeddedLeaderConfig(dir, [[NODE_TYPES, scaler]]));
      await refusedAtStart(t, what, config, expected);
    }
  },
);

t.test(
  "an embedded worker is launched with scaler.nodeStorage as its root volume, and a reload below the local cloud's image is rejected",
  async (t) => {
    const dir = testDir(t, {});
    const withNodeStorage = (giB: number): string =>
      embeddedLeaderConfig(dir, [[NODE_TYPES, `${NODE_TYPES}  nodeStorage: ${giB}\n`]]);
    const { leader, base } = await startEmbeddedLeader(t, dir, withNodeStorage(90));
    const [, ec2Url = ''] = await leader.waitFor(/local cloud: EC2 (http:\/\/[0-9.:]+)/);
    await launchesThenRejectsReload(t, {
      leader,
      base,
      dir,
      ec2Url,
      config: join(dir, 'leader.yaml'),
      withNodeStorage,
      instanceType: 't2.medium',
    });
  },
);
