import t from 'tap';
import { ConfigError } from '../../src/common/configErrors.js';
import { UserInputError } from '../../src/common/errors.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { parseScalerFlags, scalerSectionFromFlags } from '../../src/cli/scalerFlags.js';
import { ROOT_VOLUME_FLAGS, workerRootVolumes } from '../../src/scaler/rootVolumes.js';
import type { AutoscalingFlags } from '../../src/cli/runAutoscaledOptions.js';

/**
 * Toil's `--nodeStorage`, `--nodeStorageOverrides` and `--assumeZeroOverhead` on `toil run`: the
 * scaler plans each worker with that disk (and the launch asks for it, test/scaler/tick/launchDisk),
 * and a bad value is named by the flag the user typed.
 */
const catalogue = await readCatalogue();
const GiB = 2 ** 30;
const parse = (f: AutoscalingFlags) => parseScalerFlags(scalerSectionFromFlags(f, 'us-west-2a'), catalogue);
const diskOf = (f: AutoscalingFlags) =>
  Object.fromEntries(
    parse(f).nodeTypes.flatMap((n) => n.instanceTypes.map((i) => [i.name, i.diskBytes / GiB])),
  );

t.test('--nodeStorage and --nodeStorageOverrides size the disk the scaler plans with', async (t) => {
  t.same(diskOf({ nodeTypes: 'c5.large,r5.xlarge' }), { 'c5.large': 50, 'r5.xlarge': 50 }, 'Toil default 50');
  t.same(diskOf({ nodeTypes: 'c5.large,r5.xlarge', nodeStorage: '120' }), {
    'c5.large': 120,
    'r5.xlarge': 120,
  });
  t.same(
    diskOf({ nodeTypes: 'c5.large,r5.xlarge', nodeStorage: '80', nodeStorageOverrides: 'r5.xlarge:300' }),
    { 'c5.large': 80, 'r5.xlarge': 300 },
    'an override wins for its type only',
  );
  t.same(diskOf({ nodeTypes: 'm5d.large', nodeStorage: '500' }), { 'm5d.large': 75 }, 'instance store wins');
  // A node's root volume is gp3, which EC2 makes up to 64 TiB (gp2's limit, 16 TiB, was taken before).
  t.same(
    diskOf({
      nodeTypes: 'c5.large,r5.xlarge',
      nodeStorage: '65536',
      nodeStorageOverrides: 'r5.xlarge:20000',
    }),
    { 'c5.large': 65_536, 'r5.xlarge': 20_000 },
    'up to 65536 GiB, the largest gp3 volume',
  );
});

t.test(
  "the root volumes a run launches, each named by the flag that sized it, to check against the image's",
  async (t) => {
    const scaler = parse({
      nodeTypes: 'c5.large,r5.xlarge,m5d.large',
      nodeStorage: '4',
      nodeStorageOverrides: 'r5.xlarge:6',
    });
    t.same(
      workerRootVolumes(scaler, ROOT_VOLUME_FLAGS),
      [
        { flag: '--nodeStorage', giB: 4 },
        { flag: '--nodeStorageOverrides r5.xlarge', giB: 6 },
        { flag: '--nodeStorage', giB: 4 },
      ],
      "each type's --nodeStorage or its override, m5d.large's too: its instance store is its jobs' disk, but its root volume is still made from the image",
    );
    const overridden = parse({ nodeTypes: 'c5.large,m5d.large', nodeStorageOverrides: 'm5d.large:90' });
    t.same(
      workerRootVolumes(overridden, ROOT_VOLUME_FLAGS),
      [
        { flag: '--nodeStorage', giB: 50 },
        { flag: '--nodeStorageOverrides m5d.large', giB: 90 },
      ],
      "an instance-store type's override is its root volume",
    );
  },
);

t.test('--assumeZeroOverhead plans with the whole node', async (t) => {
  t.equal(parse({ nodeTypes: 'c5.large' }).assumeZeroOverhead, false);
  t.equal(parse({ nodeTypes: 'c5.large', assumeZeroOverhead: true }).assumeZeroOverhead, true);
  t.equal(parse({ nodeTypes: 'c5.large', assumeZeroOverhead: 'false' }).assumeZeroOverhead, false);
});

t.test('a bad storage flag is named by the flag and its text', async (t) => {
  const rows: [AutoscalingFlags, RegExp][] = [
    [{ nodeTypes: 'c5.large', nodeStorage: 'lots' }, /^--nodeStorage lots: expected a number$/],
    [{ nodeTypes: 'c5.large', nodeStorage: '-5' }, /^--nodeStorage -5: /],
    [
      { nodeTypes: 'c5.large', nodeStorage: '10.5' },
      /^--nodeStorage 10\.5: expected a whole number > 0 and <= 65536$/,
    ],
    [
      { nodeTypes: 'c5.large', nodeStorageOverrides: 'c5.large:10.5' },
      /^--nodeStorageOverrides c5\.large:10\.5: expected a whole number > 0 and <= 65536$/,
    ],
    [
      { nodeTypes: 'c5.large', nodeStorageOverrides: 'c5.large=100' },
      /^--nodeStorageOverrides c5\.large=100: expected TYPE:GiB entries separated by commas/,
    ],
    [
      { nodeTypes: 'c5.large', nodeStorageOverrides: 'r5.xlarge:100' },
      /^--nodeStorageOverrides r5\.xlarge:100: r5\.xlarge is not one of the node types$/,
    ],
    [
      { nodeTypes: 'c5.large', assumeZeroOverhead: 'maybe' },
      /^--assumeZeroOverhead maybe: expected true or false$/,
    ],
  ];
  for (const [flags, message] of rows) {
    const err = t.throws(() => parse(flags)) as Error;
    t.ok(err instanceof UserInputError || err instanceof ConfigError, 'a user error, not a crash');
    t.match(err.message, message, JSON.stringify(flags));
  }
});
