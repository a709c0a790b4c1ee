import t from 'tap';
import { ConfigError } from '../../src/common/configErrors.js';
import { parseCatalogue } from '../../src/scaler/catalogue.js';
import {
  estimatedPricesWarning,
  maxHourlyCostWarning,
  parseScalerConfig,
  parseNodeTypesString,
  zoneInRegion,
} from '../../src/scaler/config.js';
import { catalogue } from './fixtures/scaler.js';

/** A catalogue entry's sizes (the tests below vary its prices). */
const entry = { cores: 2, memoryGiB: 4, instanceStoreGiB: 0, architecture: 'x86_64', gpus: 0 } as const;

function problems(raw: unknown): string[] {
  try {
    parseScalerConfig(raw, catalogue());
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

t.test("Toil's defaults apply and the result is frozen", async (t) => {
  const c = parseScalerConfig({ nodeTypes: 'c5.large,m5.large:0.05' }, catalogue());
  t.equal(c.targetTimeSeconds, 1800);
  t.equal(c.betaInertia, 0.1);
  t.equal(c.scaleIntervalSeconds, 60);
  t.equal(c.preemptableCompensation, 0);
  t.equal(c.policy, 'cost');
  t.equal(c.objective, 'balanced', 'the cost policy trades a little cost for speed by default');
  t.equal(c.unknownRuntimeSeconds, 300, 'a job with no history is first assumed to take 5 min');
  t.same(
    c.nodeTypes.map((n) => [n.label, n.capacityType, n.bid, n.minNodes, n.maxNodes]),
    [
      ['c5.large', 'on-demand', undefined, 0, 10],
      ['m5.large:0.05', 'spot', 0.05, 0, 10],
    ],
  );
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.nodeTypes[0]));
  t.equal(
    c.nodeTypes[0]!.instanceTypes[0]!.diskBytes,
    50 * 2 ** 30,
    'EBS-only types get nodeStorage (50 GiB)',
  );
});

t.test('durations, lists padded like Toil, preemptible spellings, object node types', async (t) => {
  const c = parseScalerConfig(
    {
      nodeTypes: ['c5.large/c5a.large', { type: 'r5.large', spot: true, maxNodes: 4 }],
      maxNodes: [3],
      minNodes: [1],
      targetTime: '30m',
      scaleInterval: '30s',
      preemptibleCompensation: 0.5,
      maxPreemptibleNodes: 7,
    },
    catalogue(),
  );
  t.equal(c.targetTimeSeconds, 1800);
  t.equal(c.scaleIntervalSeconds, 30);
  t.equal(c.preemptableCompensation, 0.5);
  t.equal(c.maxPreemptableNodes, 7);
  t.same(
    c.nodeTypes.map((n) => [n.label, n.capacityType, n.minNodes, n.maxNodes, n.instanceTypes.length]),
    [
      ['c5.large/c5a.large', 'on-demand', 1, 3, 2],
      ['r5.large:spot', 'spot', 0, 4, 1],
    ],
  );
});

t.test('--nodeTypes syntax errors (Toil parse_node_types rows)', async (t) => {
  const rows: { name: string; value: string; problem?: RegExp; types?: number }[] = [
    { name: 'empty', value: '', types: 0 },
    { name: 'plain', value: 'c5.large', types: 1 },
    { name: 'class with bid', value: 'c5.4xlarge/c5a.4xlarge:0.42,t2.large', types: 2 },
    { name: 'same type with and without bid', value: 'm5a.large:0.01,m5a.large', types: 2 },
    { name: 'non-numeric bid', value: 'c5.large:cheap', problem: /not a number/ },
    { name: 'trailing colon', value: 'c5.large:', problem: /not a number/ },
    { name: 'multiple bids', value: 'c5.large:0.1:0.2', problem: /more than one bid/ },
    { name: 'empty type in class', value: 'c5.large/', problem: /empty instance type/ },
    { name: 'bid inside class', value: 'c5.large:0.1/m5.large', problem: /not a number/ },
  ];
  for (const row of rows) {
    const r = parseNodeTypesString(row.value);
    if (row.problem) t.match(r.problems.join('\n'), row.problem, row.name);
    else t.equal(r.nodeTypes.length, row.types, row.name);
  }
});

t.test('every bad field is reported with its path', async (t) => {
  const rows: { name: string; raw: unknown; want: RegExp }[] = [
    {
      name: 'min > max',
      raw: { nodeTypes: 'c5.large', minNodes: 5, maxNodes: 2 },
      want: /^scaler\.minNodes: minNodes 5 is more than maxNodes 2/,
    },
    {
      name: 'min > max on an object node type',
      raw: { nodeTypes: [{ type: 'c5.large', minNodes: 3, maxNodes: 1 }] },
      want: /^scaler\.nodeTypes\[0\]\.minNodes: /,
    },
    {
      name: 'negative bid',
      raw: { nodeTypes: [{ type: 'c5.large', bid: -1 }] },
      want: /^scaler\.nodeTypes\[0\]\.bid: expected a number > 0$/,
    },
    {
      name: 'negative bid in Toil syntax',
      raw: { nodeTypes: 'c5.large:-0.1' },
      want: /^scaler\.nodeTypes: .*negative bid/,
    },
    {
      name: 'a bid of 0 in Toil syntax (EC2 takes none: the work would wait for ever)',
      raw: { nodeTypes: 'c5.large:0,c5.large' },
      want: /^scaler\.nodeTypes: node type 1 \("c5\.large:0"\) has a bid of 0: a bid is the most a spot node may cost per hour, in dollars \(e\.g\. c5\.large:0\.05\)/,
    },
    {
      name: 'a bid of 0',
      raw: { nodeTypes: [{ type: 'c5.large', bid: 0 }] },
      want: /^scaler\.nodeTypes\[0\]\.bid: expected a number > 0$/,
    },
    {
      name: 'negative price override',
      raw: { nodeTypes: 'c5.large', instanceTypes: { 'c5.large': { onDemandPrice: -0.1 } } },
      want: /^scaler\.instanceTypes\.c5\.large\.onDemandPrice: expected a number >= 0$/,
    },
    {
      // It passed, and EC2 refused every launch there: the work waited for ever.
      name: 'a zone of another region',
      raw: { nodeTypes: 't2.medium', region: 'us-west-2', zones: ['us-west-2a', 'us-east-1a'] },
      want: /^scaler\.zones\[1\]: zone us-east-1a is not in region us-west-2 \(expected a zone of us-west-2, like us-west-2a, or set region to the zone's\)$/,
    },
    {
      name: 'a zone of the default region (us-east-1) with none set',
      raw: { nodeTypes: 't2.medium', zones: ['us-west-2a'] },
      want: /^scaler\.zones\[0\]: zone us-west-2a is not in region us-east-1 /,
    },
    {
      name: 'unknown instance type with a hint',
      raw: { nodeTypes: 'c5.lrage' },
      want: /^scaler\.nodeTypes: unknown instance type "c5\.lrage" \(did you mean c5\.large/,
    },
    {
      name: 'unknown type in an object entry',
      raw: { nodeTypes: [{ type: 'm5.hugeee' }] },
      want: /^scaler\.nodeTypes\[0\]\.type: unknown instance type "m5\.hugeee"/,
    },
    {
      name: 'compensation above 1',
      raw: { nodeTypes: 'c5.large', preemptableCompensation: 1.5 },
      want: /^scaler\.preemptableCompensation: expected a number from 0 to 1$/,
    },
    {
      name: 'compensation below 0 (preemptible spelling)',
      raw: { nodeTypes: 'c5.large', preemptibleCompensation: -0.1 },
      want: /^scaler\.preemptableCompensation: expected a number from 0 to 1$/,
    },
    {
      name: 'betaInertia above 0.9',
      raw: { nodeTypes: 'c5.large', betaInertia: 0.95 },
      want: /^scaler\.betaInertia: expected a number from 0 to 0\.9$/,
    },
    {
      name: 'bad duration',
      raw: { nodeTypes: 'c5.large', targetTime: 'soon' },
      want: /^scaler\.targetTime: expected a duration/,
    },
    { name: 'unknown key', raw: { nodeTypes: 'c5.large', maxNodez: 3 }, want: /maxNodez/ },
    {
      name: 'all maxNodes 0',
      raw: { nodeTypes: 'c5.large', maxNodes: 0 },
      want: /^scaler\.maxNodes: every node type has maxNodes 0/,
    },
    {
      name: 'both spellings',
      raw: { nodeTypes: 'c5.large', preemptableCompensation: 0, preemptibleCompensation: 0 },
      want: /not both/,
    },
    { name: 'no node types', raw: { nodeTypes: [] }, want: /^scaler\.nodeTypes: at least one/ },
    {
      name: 'an empty item in a list of node types',
      raw: { nodeTypes: ['c5.large', ''] },
      want: /^scaler\.nodeTypes\[1\]: an empty node type \(expected e\.g\. "c5\.large"\)$/,
    },
    {
      name: 'node types missing',
      raw: { maxNodes: 3 },
      want: /^scaler\.nodeTypes: required: the node types to scale, e\.g\. "c5\.large,m5\.large:0\.05"/,
    },
    {
      name: 'node types of the wrong kind',
      raw: { nodeTypes: 5 },
      want: /^scaler\.nodeTypes: expected node types as Toil's --nodeTypes string/,
    },
    {
      name: 'maxTotalNodes below sum of minNodes',
      raw: { nodeTypes: 'c5.large', minNodes: 3, maxTotalNodes: 2 },
      want: /^scaler\.maxTotalNodes: /,
    },
    ...(['maxPreemptableNodes', 'maxTotalNodes', 'maxHourlyCost'] as const).map((key) => ({
      name: `${key} with policy toil-classic, which would ignore it`,
      raw: { nodeTypes: 'c5.large:0.05,c5.large', policy: 'toil-classic', [key]: 3 },
      want: new RegExp(
        `^scaler\\.${key}: policy toil-classic does not honour it \\(Toil has no such limit\\)`,
      ),
    })),
  ];
  for (const row of rows) {
    const p = problems(row.raw);
    t.ok(
      p.some((x) => row.want.test(x)),
      `${row.name}: ${p.join(' | ')}`,
    );
  }
  t.same(
    problems({ nodeTypes: 'c5.large', policy: 'toil-classic', maxNodes: 3 }),
    [],
    'toil-classic with the limits Toil has is fine',
  );
  t.same(
    problems({ region: 'us-west-2', nodeTypes: 'm3.large,t2.micro', maxNodes: '1,4' }),
    [],
    "the node types of Toil's docs' launch-cluster example (--nodeTypes m3.large,t2.micro -w 1,4) are priced",
  );
  const many = problems({ nodeTypes: 'c5.lrage', preemptableCompensation: 2, betaInertia: -1 });
  t.ok(many.length >= 2, 'several problems at once');
});

t.test('catalogue overrides change prices and add types', async (t) => {
  const c = parseScalerConfig(
    {
      nodeTypes: 'c5.large,x9.tiny',
      instanceTypes: {
        'c5.large': { onDemandPrice: 0.05 },
        'x9.tiny': { cores: 1, memoryGiB: 2, onDemandPrice: 0.01 },
      },
    },
    catalogue(),
  );
  t.equal(c.nodeTypes[0]!.instanceTypes[0]!.onDemandPrice, 0.05);
  t.equal(c.nodeTypes[1]!.instanceTypes[0]!.memoryBytes, 2 * 2 ** 30);
  t.equal(
    parseScalerConfig({ nodeTypes: 'c5.large', region: 'us-west-2' }, catalogue()).nodeTypes[0]!
      .instanceTypes[0]!.onDemandPrice,
    0.085,
  );
});

t.test("a region the catalogue has no price for: us-east-1's list price, said in one warning", async (t) => {
  // Prices differ by region here so that which one was taken shows.
  const priced = parseCatalogue({
    regions: ['us-east-1', 'us-west-2'],
    instanceTypes: {
      'c5.large': { ...entry, onDemandPrice: { 'us-east-1': 0.085, 'us-west-2': 0.09 } },
      'm5.large': { ...entry, memoryGiB: 8, onDemandPrice: { 'us-east-1': 0.096, 'us-west-2': 0.1 } },
    },
  });
  const rows: {
    name: string;
    raw: Record<string, unknown>;
    prices: number[];
    warning: RegExp | undefined;
  }[] = [
    {
      name: 'a priced region uses its own price',
      raw: { region: 'us-west-2', nodeTypes: 'c5.large,m5.large' },
      prices: [0.09, 0.1],
      warning: undefined,
    },
    {
      name: "an unpriced region uses us-east-1's, with the warning",
      raw: { region: 'eu-west-1', nodeTypes: 'c5.large,m5.large:0.05' },
      prices: [0.085, 0.096],
      warning:
        /^the instance catalogue has no on-demand price for region eu-west-1: c5\.large, m5\.large priced at us-east-1's list price, so costs shown are estimates; for exact prices give scaler\.instanceTypes\.<type>\.onDemandPrice \(USD\/h in eu-west-1\)/,
    },
    {
      name: 'an instanceTypes: price for the region wins, and only the types without one are named',
      raw: {
        region: 'eu-west-1',
        nodeTypes: 'c5.large,m5.large',
        instanceTypes: { 'c5.large': { onDemandPrice: 0.096 } },
      },
      prices: [0.096, 0.096],
      warning: /region eu-west-1: m5\.large priced/,
    },
    {
      name: 'instanceTypes: prices for every node type: no warning',
      raw: {
        region: 'eu-central-1',
        nodeTypes: 'c5.large,m5.large',
        instanceTypes: { 'c5.large': { onDemandPrice: 0.097 }, 'm5.large': { onDemandPrice: 0.115 } },
      },
      prices: [0.097, 0.115],
      warning: undefined,
    },
  ];
  for (const row of rows) {
    const c = parseScalerConfig(row.raw, priced);
    t.same(
      c.nodeTypes.map((n) => n.instanceTypes[0]!.onDemandPrice),
      row.prices,
      `${row.name}: prices`,
    );
    const warning = estimatedPricesWarning(c);
    if (row.warning) t.match(warning, row.warning, `${row.name}: warning`);
    else t.equal(warning, undefined, `${row.name}: no warning`);
  }
  t.equal(
    parseScalerConfig({ region: 'eu-west-1', nodeTypes: 'c5.large' }, priced).catalogueTypes?.['m5.large']
      ?.onDemandPrice,
    0.096,
    'a static worker of a type no node type lists is priced the same way',
  );
  t.same(
    problems({ region: 'eu-west-1', nodeTypes: 'c5.lrage' }),
    ['scaler.nodeTypes: unknown instance type "c5.lrage" (did you mean c5.large?)'],
    'an unknown type is still refused in an unpriced region',
  );
});

t.test('scaler.objective: cost, balanced or speed', async (t) => {
  for (const objective of ['cost', 'balanced', 'speed'])
    t.equal(parseScalerConfig({ nodeTypes: 'c5.large', objective }, catalogue()).objective, objective);
  // The names it takes and what was given, with the name meant when it surely was one (case, one
  // typo, a part of it); not a guess at any distance ("fast" is two edits from "cost").
  const rows: [given: Record<string, unknown>, problem: string][] = [
    [{ objective: 'cheap' }, 'scaler.objective: expected one of cost, balanced, speed, got "cheap"'],
    [{ objective: 'fast' }, 'scaler.objective: expected one of cost, balanced, speed, got "fast"'],
    [
      { objective: 'Speed' },
      'scaler.objective: expected one of cost, balanced, speed, got "Speed" (did you mean speed?)',
    ],
    [
      { objective: 'balance' },
      'scaler.objective: expected one of cost, balanced, speed, got "balance" (did you mean balanced?)',
    ],
    [{ objective: 1 }, 'scaler.objective: expected one of cost, balanced, speed, got 1'],
    [
      { policy: 'classic' },
      'scaler.policy: expected one of cost, toil-classic, got "classic" (did you mean toil-classic?)',
    ],
  ];
  for (const [given, problem] of rows)
    t.same(problems({ nodeTypes: 'c5.large', ...given }), [problem], JSON.stringify(given));
});

t.test('maxNodes and minNodes as Toil\'s flags spell them: "2,3" is one count per node type', async (t) => {
  const c = parseScalerConfig(
    { nodeTypes: 'c5.large:0.05,m5.large', maxNodes: '2, 3', minNodes: '0,1' },
    catalogue(),
  );
  t.same(
    c.nodeTypes.map((n) => [n.label, n.minNodes, n.maxNodes]),
    [
      ['c5.large:0.05', 0, 2],
      ['m5.large', 1, 3],
    ],
  );
  t.same(problems({ nodeTypes: 'c5.large', maxNodes: 'lots' }), [
    'scaler.maxNodes: expected a whole number >= 0, or one per node type: a list ([2, 3]) or Toil\'s "2,3"',
  ]);
  t.same(problems({ nodeTypes: 'c5.large', minNodes: '1,,2' }), [
    'scaler.minNodes: expected a whole number >= 0, or one per node type: a list ([2, 3]) or Toil\'s "2,3"',
  ]);
});

t.test('zones of the region, Local Zones among them, are accepted', async (t) => {
  const c = parseScalerConfig(
    { nodeTypes: 't2.medium', region: 'us-west-2', zones: ['us-west-2a', 'us-west-2d', 'us-west-2-lax-1a'] },
    catalogue(),
  );
  t.same(c.zones, ['us-west-2a', 'us-west-2d', 'us-west-2-lax-1a']);
  t.ok(zoneInRegion('us-east-1a', 'us-east-1'));
  t.notOk(zoneInRegion('us-east-10a', 'us-east-1'), 'us-east-10 is another region');
  t.notOk(zoneInRegion('us-east-1', 'us-east-1'), 'a region is no zone');
});

t.test('a maxHourlyCost no node the scaler may launch fits under', async (t) => {
  // The shipped catalogue: c5.large $0.085/h, c5.xlarge $0.17/h on demand.
  const rows: { name: string; raw: Record<string, unknown>; refused?: RegExp; warning?: RegExp }[] = [
    {
      name: 'on-demand only, budget under the cheapest: refused, naming it',
      raw: { nodeTypes: 'c5.xlarge,c5.large', maxHourlyCost: 0.05 },
      refused:
        /^scaler\.maxHourlyCost: \$0\.05\/h is below the cheapest node the scaler may launch \(c5\.large at \$0\.085\/h\): it could never launch one; raise it, or add a cheaper node type$/,
    },
    {
      name: 'a cheaper type the scaler may not launch (maxNodes 0) does not count',
      raw: { nodeTypes: 'c5.large,c5.xlarge', maxNodes: '0,3', maxHourlyCost: 0.1 },
      refused: /^scaler\.maxHourlyCost: \$0\.1\/h is below the cheapest node .*\(c5\.xlarge at \$0\.17\/h\)/,
    },
    {
      name: 'spot and on-demand, budget under every on-demand price: a warning, on-demand work named',
      raw: { nodeTypes: 'c5.large:0.05,c5.large', maxHourlyCost: 0.05 },
      warning:
        /^maxHourlyCost \$0\.05\/h is below the on-demand price of every node type \(the cheapest, c5\.large, is \$0\.085\/h\): the scaler can launch only spot nodes, while their market price is under it, and work that is not preemptable never gets a node$/,
    },
    {
      name: 'spot only: a warning without the on-demand clause',
      raw: { nodeTypes: 'c5.large:0.05', maxHourlyCost: 0.05 },
      warning: /only spot nodes, while their market price is under it$/,
    },
    {
      name: 'a budget that buys the cheapest on-demand node: neither',
      raw: { nodeTypes: 'c5.large', maxHourlyCost: 0.085 },
    },
    { name: 'no budget: neither', raw: { nodeTypes: 'c5.large:0.01' } },
  ];
  for (const row of rows) {
    const p = problems(row.raw);
    if (row.refused) {
      t.equal(p.length, 1, `${row.name}: one problem (${p.join(' | ')})`);
      t.match(p[0], row.refused, row.name);
      continue;
    }
    t.same(p, [], `${row.name}: valid`);
    const warning = maxHourlyCostWarning(parseScalerConfig(row.raw, catalogue()));
    if (row.warning) t.match(warning, row.warning, row.name);
    else t.equal(warning, undefined, row.name);
  }
});
