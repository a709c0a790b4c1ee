import t from 'tap';
import { buildOfferings } from '../../src/scaler/offerings.js';
import { planScaling } from '../../src/scaler/policy.js';
import type { OfferingState, ScalingPlan } from '../../src/scaler/types.js';
import { config, jobs, running, snapshot } from './fixtures/scaler.js';

/**
 * The cost policy prices spot offerings from observed prices (DescribeSpotPriceHistory, through
 * the snapshot), honouring Toil's `type:bid`: t2.medium is $0.0464/h on demand in us-west-2.
 */
const ZONES = ['us-west-2a', 'us-west-2b', 'us-west-2c'];
const ON_DEMAND = 0.0464;

const cfg = (nodeTypes: unknown, extra: Record<string, unknown> = {}) =>
  config({ region: 'us-west-2', zones: ZONES, nodeTypes, maxNodes: 10, ...extra });

const observed = (prices: Record<string, number>, refusals: Record<string, number> = {}): OfferingState[] =>
  Object.entries(prices).map(([zone, price]) => ({
    instanceType: 't2.medium',
    zone,
    capacityType: 'spot',
    pricePerHour: price,
    ...(refusals[zone] ? { recentRefusals: refusals[zone] } : {}),
  }));

const launched = (p: ScalingPlan): string[] =>
  p.launch.map((l) => `${l.count} ${l.capacityType} ${l.zone} $${l.pricePerHour}`).sort();
const said = (p: ScalingPlan): string => [...p.waiting.map((w) => w.reason), ...p.notes].join('\n');

const spotWork = jobs(2, { cores: 2, memoryBytes: 2 ** 30, preemptable: true, walltimeSeconds: 3600 });

interface Row {
  readonly name: string;
  readonly nodeTypes: unknown;
  readonly extra?: Record<string, unknown>;
  readonly offerings?: OfferingState[];
  readonly want: string[];
  readonly says?: RegExp;
}

const rows: Row[] = [
  {
    name: 'the cheapest observed zone wins',
    nodeTypes: 't2.medium:0.03',
    offerings: observed({ 'us-west-2a': 0.02, 'us-west-2b': 0.014, 'us-west-2c': 0.018 }),
    want: ['2 spot us-west-2b $0.014'],
  },
  {
    name: 'a zone whose price is above the bid is skipped; another zone is used',
    nodeTypes: 't2.medium:0.03',
    offerings: observed({ 'us-west-2a': 0.012, 'us-west-2b': 0.04, 'us-west-2c': 0.035 }),
    want: ['2 spot us-west-2a $0.012'],
  },
  {
    name: 'every zone above the bid: nothing launched, the reason names the observed price and the bid',
    nodeTypes: 't2.medium:0.03',
    offerings: observed({ 'us-west-2a': 0.04, 'us-west-2b': 0.041, 'us-west-2c': 0.042 }),
    want: [],
    says: /observed spot price \$0\.04\/h for t2\.medium\/us-west-2a\/spot is above the bid \$0\.03\/h/,
  },
  {
    name: 'every zone above the bid, with preemptableCompensation 1: on-demand instead',
    nodeTypes: 't2.medium:0.03,t2.medium',
    extra: { preemptableCompensation: 1 },
    offerings: observed({ 'us-west-2a': 0.04, 'us-west-2b': 0.041, 'us-west-2c': 0.042 }),
    want: [`2 on-demand us-west-2a $${ON_DEMAND}`],
    says: /above the bid \$0\.03\/h/,
  },
  {
    name: 'no price observed yet never blocks: planned at the bid, the launch lets EC2 decide',
    nodeTypes: 't2.medium:0.03',
    want: ['2 spot us-west-2a $0.03'],
  },
  {
    name: 'a bid above on-demand: unobserved spot is planned at on-demand, not at the bid',
    nodeTypes: 't2.medium:0.5',
    want: [`2 spot us-west-2a $${ON_DEMAND}`],
  },
  {
    name: 'no bid: spot is capped at on-demand (an observed price above it is skipped)',
    nodeTypes: [{ type: 't2.medium', spot: true }],
    offerings: observed({ 'us-west-2a': 0.05, 'us-west-2b': 0.02, 'us-west-2c': 0.047 }),
    want: ['2 spot us-west-2b $0.02'],
  },
  {
    name: 'no bid and every zone above on-demand: waits, saying so',
    nodeTypes: [{ type: 't2.medium', spot: true }],
    offerings: observed({ 'us-west-2a': 0.05, 'us-west-2b': 0.05, 'us-west-2c': 0.05 }),
    want: [],
    says: /observed spot price \$0\.05\/h for t2\.medium\/us-west-2a\/spot is above on-demand \$0\.0464\/h/,
  },
  {
    name: 'equal prices: the zone refused least lately wins',
    nodeTypes: 't2.medium:0.03',
    offerings: observed(
      { 'us-west-2a': 0.015, 'us-west-2b': 0.015, 'us-west-2c': 0.015 },
      { 'us-west-2a': 2, 'us-west-2b': 1 },
    ),
    want: ['2 spot us-west-2c $0.015'],
  },
];

t.test('spot offerings priced from observed prices and bids', async (t) => {
  for (const row of rows) {
    const p = planScaling(
      snapshot({ queued: spotWork, ...(row.offerings ? { offerings: row.offerings } : {}) }),
      cfg(row.nodeTypes, row.extra),
    );
    t.same(launched(p), row.want, row.name);
    if (row.says) t.match(said(p), row.says, `${row.name}: the reason`);
  }
});

t.test('each offering says where its price comes from', async (t) => {
  const offerings = buildOfferings(
    cfg('t2.medium:0.03,t2.medium'),
    snapshot({ offerings: observed({ 'us-west-2b': 0.014 }) }),
  );
  const by = Object.fromEntries(offerings.map((o) => [o.key, `${o.priceSource} $${o.pricePerHour}`]));
  t.same(by, {
    't2.medium/us-west-2a/spot': 'bid $0.03',
    't2.medium/us-west-2b/spot': 'observed $0.014',
    't2.medium/us-west-2c/spot': 'bid $0.03',
    't2.medium/us-west-2a/on-demand': `on-demand $${ON_DEMAND}`,
    't2.medium/us-west-2b/on-demand': `on-demand $${ON_DEMAND}`,
    't2.medium/us-west-2c/on-demand': `on-demand $${ON_DEMAND}`,
  });
});

t.test(
  'a job moved to on-demand after spot losses: on-demand is launched though spot is cheap, and the plan says why',
  async (t) => {
    const because = 'lost with its spot node 4 times (--preemptableRetries 3)';
    const [moved] = jobs(1, { name: 'align', cores: 2, memoryBytes: 2 ** 30, walltimeSeconds: 3600 });
    const queued = [{ ...moved!, onDemandBecause: because }, ...spotWork];
    const snap = snapshot({
      queued,
      running: [
        running('align-9', 'i-od', { name: 'align', onDemandBecause: because }),
        running('other', 'i-od', { name: 'other' }),
      ],
      offerings: observed({ 'us-west-2a': 0.012, 'us-west-2b': 0.02, 'us-west-2c': 0.02 }),
    });
    for (const policy of ['cost', 'toil-classic'] as const) {
      const p = planScaling(snap, cfg('t2.medium:0.03,t2.medium'), policy);
      t.ok(
        p.launch.some((l) => l.capacityType === 'on-demand'),
        `${policy}: an on-demand node for the moved job (${launched(p).join(', ')})`,
      );
      t.same(
        p.notes.filter((n) => n.includes('moved to on-demand')),
        [`2 jobs 'align' (1 queued, 1 running) moved to on-demand: ${because}`],
        `${policy}: one note per name and reason`,
      );
    }
    const plain = planScaling(snapshot({ queued: spotWork }), cfg('t2.medium:0.03,t2.medium'));
    t.notMatch(said(plain), /moved to on-demand/, 'no note when no job was moved');
  },
);
