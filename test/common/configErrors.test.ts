import t from 'tap';
import { z } from 'zod';
import { ConfigError, deepFreeze, describeZodIssues } from '../../src/common/configErrors.js';
import { durationMs, sizeBytes } from '../../src/common/configTypes.js';

const Schema = z
  .object({
    scaleInterval: durationMs(),
    nodes: z.array(
      z.object({ type: z.string(), maxNodes: z.number().int().min(0), memory: sizeBytes() }).strict(),
    ),
  })
  .strict();

t.test('every problem is reported with the path of its field', async (t) => {
  const result = Schema.safeParse({
    scaleInterval: 'soon',
    nodes: [
      { type: 'c5.large', maxNodes: 2, memory: '2G' },
      { type: 7, maxNodes: -1, memory: 'lots' },
    ],
    extra: true,
  });
  t.notOk(result.success);
  const problems = describeZodIssues(result.error!.issues, ['scaler']);
  t.same(problems.sort(), [
    'scaler.nodes[1].maxNodes: expected a number >= 0',
    'scaler.nodes[1].memory: expected a size like "600M" or "2Gi" (suffixes B, K/KB, M/MB, G/GB, T/TB, P/PB, E/EB (powers of 1000) or Ki/KiB, Mi/MiB, Gi/GiB, Ti/TiB, Pi/PiB, Ei/EiB (powers of 1024), any case; a bare number is bytes), got "lots"',
    'scaler.nodes[1].type: expected a string, got a number',
    'scaler.scaleInterval: expected a duration like "30s", "5m" or "1h", got "soon"',
    'scaler: Unrecognized key: "extra"',
  ]);
  const err = new ConfigError('leader.yaml', problems);
  t.equal(err.code, 'CONFIG_INVALID');
  t.equal(err.disposition, 'user');
  t.match(err.message, /^leader\.yaml is invalid:\n {2}- /);
});

t.test(
  'an unknown key is named with the known key it is closest to, at any depth and through unions',
  async (t) => {
    const WithUnion = Schema.extend({
      provisioner: z
        .discriminatedUnion('kind', [
          z.object({ kind: z.literal('aws'), clusterName: z.string() }).strict(),
          z.object({ kind: z.literal('embedded'), zone: z.string() }).strict(),
        ])
        .optional(),
    }).strict();
    const result = WithUnion.safeParse({
      scaleIntervall: '1m',
      nodes: [{ type: 'c5.large', maxNode: 2, memory: '2G', colour: 'red' }],
      provisioner: { kind: 'aws', clusterName: 'a', clusterNmae: 'b' },
    });
    t.same(describeZodIssues(result.error!.issues, ['scaler'], WithUnion).sort(), [
      'scaler.nodes[0].maxNodes: required: a number',
      'scaler.nodes[0]: Unrecognized keys: "maxNode", "colour" (did you mean maxNodes?)',
      'scaler.provisioner: Unrecognized key: "clusterNmae" (did you mean clusterName?)',
      'scaler.scaleInterval: required: a duration like "30s", "5m" or "1h"',
      'scaler: Unrecognized key: "scaleIntervall" (did you mean scaleInterval?)',
    ]);
    t.same(
      describeZodIssues(result.error!.issues, ['scaler']).filter((p) => p.includes('did you mean')),
      [],
      'without the schema: no guess',
    );
  },
);

t.test(
  'a number out of range is said with its whole range, in our words, wherever the schema keeps it',
  async (t) => {
    const count = z.number().int().min(0);
    const Ranges = z
      .object({
        compensation: z.number().min(0).max(1).default(0),
        inertia: z.number().min(0).max(0.9).optional(),
        storage: z.number().positive(),
        overrides: z.record(z.string(), z.number().positive()),
        maxNodes: z.preprocess((v) => v, z.union([count, z.array(count)])),
        nodes: z.array(z.object({ max: count }).strict()),
        below: z.number().lt(10),
      })
      .strict();
    const result = Ranges.safeParse({
      compensation: 5,
      inertia: -1,
      storage: 0,
      overrides: { 'r5.xlarge': -2 },
      maxNodes: -1,
      nodes: [{ max: 1.5 }],
      below: 10,
    });
    t.same(describeZodIssues(result.error!.issues, ['scaler'], Ranges).sort(), [
      'scaler.below: expected a number < 10',
      'scaler.compensation: expected a number from 0 to 1',
      'scaler.inertia: expected a number from 0 to 0.9',
      'scaler.maxNodes: expected a whole number >= 0',
      'scaler.nodes[0].max: expected a whole number >= 0',
      'scaler.overrides.r5.xlarge: expected a number > 0',
      'scaler.storage: expected a number > 0',
    ]);
    t.same(
      describeZodIssues(result.error!.issues, [], undefined)
        .filter((p) => p.startsWith('compensation') || p.startsWith('storage'))
        .sort(),
      ['compensation: expected a number <= 1', 'storage: expected a number > 0'],
      'without the schema: the bound crossed, still in our words',
    );
  },
);

t.test('durations and sizes parse to milliseconds and bytes', async (t) => {
  const parsed = Schema.parse({
    scaleInterval: '2m',
    nodes: [
      { type: 'm5.large', maxNodes: 3, memory: '600M' },
      { type: 'm5.large', maxNodes: 3, memory: '600Mi' },
    ],
  });
  t.equal(parsed.scaleInterval, 120_000);
  t.equal(parsed.nodes[0]?.memory, 600_000_000, 'M is decimal, as in Toil');
  t.equal(parsed.nodes[1]?.memory, 600 * 2 ** 20, 'Mi is binary');
});

t.test('a frozen config cannot be changed, however deep', async (t) => {
  const config = deepFreeze({ a: { b: [1, 2] } });
  t.throws(() => {
    config.a.b.push(3);
  });
  t.ok(Object.isFrozen(config.a));
});

t.test(
  'a required key of no stock type, left out, is said missing, not in zod\'s "nonoptional"',
  async (t) => {
    const result = z.object({ section: z.unknown() }).safeParse({});
    t.same(describeZodIssues(result.error!.issues), ['section: required, and missing']);
  },
);
