import t from 'tap';
import type { EC2Client, SpotPrice } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { INSTANCE_TYPES_BY_NAME, LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startEc2Endpoint, type Ec2Endpoint } from '../../src/localcloud/ec2/index.js';
import { SpotMarket } from '../../src/localcloud/ec2/spotMarket.js';
import { parseSpotPriceScript } from '../../src/localcloud/ec2/spotPriceScript.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { awsCliAvailable, awsEc2 } from '../fixtures/awsCli.js';
import { testEc2Client } from '../fixtures/ec2Local.js';

const { DescribeInstancesCommand, DescribeSpotPriceHistoryCommand, RunInstancesCommand } = ec2Sdk();

type Test = Parameters<Parameters<typeof t.test>[0]>[0];
const T2_MEDIUM = INSTANCE_TYPES_BY_NAME.get('t2.medium')!;

async function endpointAt(
  clock: ManualClock,
  spotMarket: ConstructorParameters<typeof SpotMarket>[1] = {},
): Promise<Ec2Endpoint> {
  return startEc2Endpoint({
    clock,
    log: silentLogger(),
    bootDelayMs: 1000,
    shutdownDelayMs: 1000,
    tickMs: 10_000,
    spotMarket,
  });
}

async function history(
  ec2: EC2Client,
  input: ConstructorParameters<typeof DescribeSpotPriceHistoryCommand>[0],
) {
  const out: SpotPrice[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(new DescribeSpotPriceHistoryCommand({ ...input, NextToken: token }));
    out.push(...(page.SpotPriceHistory ?? []));
    token = page.NextToken || undefined;
  } while (token);
  return out;
}

t.test(
  'the spot market is a seeded walk: it moves, stays under on-demand, and differs by zone and seed',
  async (t) => {
    const opened = Date.UTC(2026, 0, 1);
    const a = new SpotMarket(opened, { seed: 7 });
    const b = new SpotMarket(opened, { seed: 7 });
    const other = new SpotMarket(opened, { seed: 8 });
    const day = Array.from({ length: 288 }, (_, i) => opened + i * 300_000);
    const prices = day.map((at) => a.priceAt(T2_MEDIUM, 'us-west-2a', at));
    t.ok(new Set(prices).size > 20, `${new Set(prices).size} distinct prices in a day`);
    t.ok(
      prices.every((p) => p > 0 && p <= T2_MEDIUM.onDemandPrice),
      `within (0, on-demand]: ${Math.min(...prices)}..${Math.max(...prices)}`,
    );
    const mean = prices.reduce((s, p) => s + p, 0) / prices.length;
    t.ok(
      mean > 0.2 * T2_MEDIUM.onDemandPrice && mean < 0.5 * T2_MEDIUM.onDemandPrice,
      `mean ${mean.toFixed(4)} near 35 % of on-demand ${T2_MEDIUM.onDemandPrice}`,
    );
    // Read in another order, the same seed tells the same story.
    t.same(
      [...day].reverse().map((at) => b.priceAt(T2_MEDIUM, 'us-west-2a', at)),
      [...prices].reverse(),
    );
    t.not(other.priceAt(T2_MEDIUM, 'us-west-2a', day[100]!), prices[100], 'another seed, another walk');
    t.not(a.priceAt(T2_MEDIUM, 'us-west-2b', day[100]!), prices[100], 'another zone, another walk');
    const high = new SpotMarket(opened, { seed: 7, baseFraction: 0.9 });
    t.ok(
      high.priceAt(T2_MEDIUM, 'us-west-2a', opened) > 0.7 * T2_MEDIUM.onDemandPrice,
      'baseFraction sets the level',
    );
  },
);

t.test('a scripted price file: relative, absolute and epoch times; mistakes name the entry', async (t) => {
  const opened = Date.UTC(2026, 0, 1);
  const script = parseSpotPriceScript(
    JSON.stringify([
      { instanceType: 't2.medium', zone: 'us-west-2a', at: '+10m', price: 0.05 },
      { instanceType: 't2.medium', at: '2026-01-01T01:00:00Z', price: 0.02 },
      { instanceType: 'c5.large', at: opened + 1000, price: 0.03 },
    ]),
    opened,
  );
  t.same(
    script.map((s) => s.at - opened),
    [600_000, 3_600_000, 1000],
  );
  const m = new SpotMarket(opened, { script });
  t.equal(m.priceAt(T2_MEDIUM, 'us-west-2a', opened + 600_000), 0.05);
  t.not(m.priceAt(T2_MEDIUM, 'us-west-2b', opened + 600_000), 0.05, 'the zone narrows the entry');
  t.equal(m.priceAt(T2_MEDIUM, 'us-west-2b', opened + 3_600_000), 0.02, 'no zone: every zone');
  t.throws(() => parseSpotPriceScript('[{"instanceType":"t2.medium","at":"+1m","price":-1}]', opened), {
    message: /^entry \[0\]\.price: /,
  });
  t.throws(() => parseSpotPriceScript('[{"instanceType":"t2.medium","at":"soon","price":1}]', opened), {
    message: /^entry \[0\]\.at: expected "\+90s"/,
  });
  t.throws(() => parseSpotPriceScript('{', opened), { message: /^not JSON/ });
});

t.test(
  'DescribeSpotPriceHistory honours StartTime/EndTime, the zone, ProductDescription and filters, and moves with the clock',
  async (t) => {
    const clock = new ManualClock();
    const endpoint = await endpointAt(clock, { seed: 3 });
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    const opened = clock.now();

    const all = await history(ec2, { InstanceTypes: ['t2.medium'], ProductDescriptions: ['Linux/UNIX'] });
    t.same([...new Set(all.map((p) => p.AvailabilityZone))].sort(), [
      'us-west-2a',
      'us-west-2b',
      'us-west-2c',
    ]);
    const inA = all.filter((p) => p.AvailabilityZone === 'us-west-2a');
    t.ok(inA.length > 10, `${inA.length} changes in 2a over the 6 h of history`);
    const times = all.map((p) => p.Timestamp!.getTime());
    t.same(
      times,
      [...times].sort((x, y) => y - x),
      'newest first',
    );

    const start = opened - 3_600_000;
    const end = opened - 1_800_000;
    const window = await history(ec2, {
      InstanceTypes: ['t2.medium'],
      AvailabilityZone: 'us-west-2b',
      StartTime: new Date(start),
      EndTime: new Date(end),
    });
    t.ok(window.length >= 2, `${window.length} entries in the half-hour window`);
    t.ok(
      window.every((p) => p.AvailabilityZone === 'us-west-2b'),
      'only the zone asked for',
    );
    t.ok(
      window.every((p) => p.Timestamp!.getTime() <= end),
      'nothing after EndTime',
    );
    t.equal(
      window.filter((p) => p.Timestamp!.getTime() <= start).length,
      1,
      'exactly one entry from before StartTime: the price in effect at StartTime',
    );
    t.equal(
      Number(window.at(-1)!.SpotPrice),
      endpoint.cloud.spotMarket.priceAt(T2_MEDIUM, 'us-west-2b', start),
      'which is the price at StartTime',
    );

    const filtered = await history(ec2, {
      InstanceTypes: ['t2.medium', 'c5.large'],
      Filters: [{ Name: 'availability-zone', Values: ['us-west-2c'] }],
      StartTime: new Date(opened),
    });
    t.same(
      filtered.map((p) => `${p.InstanceType}/${p.AvailabilityZone}`).sort(),
      ['c5.large/us-west-2c', 't2.medium/us-west-2c'],
      'StartTime = now: one current price per pair; the zone filter honoured',
    );
    t.same(await history(ec2, { InstanceTypes: ['t2.medium'], ProductDescriptions: ['Windows'] }), []);

    const paged = await ec2.send(
      new DescribeSpotPriceHistoryCommand({ InstanceTypes: ['t2.medium'], MaxResults: 5 }),
    );
    t.equal(paged.SpotPriceHistory!.length, 5);
    t.ok(paged.NextToken, 'a next page');

    const before = await history(ec2, { InstanceTypes: ['t2.medium'], AvailabilityZone: 'us-west-2a' });
    await clock.advance(3_600_000);
    const later = await history(ec2, {
      InstanceTypes: ['t2.medium'],
      AvailabilityZone: 'us-west-2a',
      StartTime: new Date(opened + 1),
    });
    t.ok(later.length > 5, `an hour later, ${later.length} new entries`);
    t.ok(
      later.slice(0, -1).every((p) => p.Timestamp!.getTime() > opened),
      'all but the one in effect at StartTime are new',
    );
    t.same(
      (
        await history(ec2, {
          InstanceTypes: ['t2.medium'],
          AvailabilityZone: 'us-west-2a',
          EndTime: new Date(opened),
        })
      ).map((p) => [p.SpotPrice, p.Timestamp!.getTime()]),
      before.map((p) => [p.SpotPrice, p.Timestamp!.getTime()]),
      'the past does not change when read again',
    );
  },
);

t.test(
  'a price above an instance’s max price: the 2-minute notice in IMDS, then the instance is reclaimed; MaxPrice below the market is refused',
  async (t) => {
    const clock = new ManualClock();
    const opened = clock.now();
    const endpoint = await endpointAt(clock, {
      script: [{ instanceType: 't2.medium', zone: 'us-west-2a', at: opened, price: 0.012 }],
    });
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    const launch = (maxPrice?: string) =>
      ec2.send(
        new RunInstancesCommand({
          ImageId: LOCAL_IMAGE.imageId,
          InstanceType: 't2.medium',
          MinCount: 1,
          MaxCount: 1,
          Placement: { AvailabilityZone: 'us-west-2a' },
          InstanceMarketOptions: {
            MarketType: 'spot',
            ...(maxPrice ? { SpotOptions: { MaxPrice: maxPrice } } : {}),
          },
        }),
      );
    const bid = (await launch('0.030000')).Instances![0]!.InstanceId!;
    const capped = (await launch()).Instances![0]!.InstanceId!;
    await clock.advance(1000);
    const state = async (id: string) =>
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
    t.equal((await state(bid)).State!.Name, 'running');

    endpoint.setSpotPrice('t2.medium', 'us-west-2a', 0.04);
    const noticedAt = clock.now();
    const imds = `${endpoint.url}/imds/${bid}/latest/meta-data/spot/instance-action`;
    const notice = (await (await fetch(imds)).json()) as { action: string; time: string };
    t.equal(notice.action, 'terminate');
    t.equal(
      Date.parse(notice.time),
      noticedAt + 120_000,
      'reclaimed two minutes after the price passed $0.03',
    );
    t.equal(
      (await fetch(`${endpoint.url}/imds/${capped}/latest/meta-data/spot/instance-action`)).status,
      404,
      'no bid: capped at on-demand $0.0464, no notice at $0.04',
    );
    await expectRefused(t, launch('0.030000'), 'SpotMaxPriceTooLow', 'a new launch at $0.03 is refused');
    await clock.advance(120_000);
    const after = await state(bid);
    t.equal(after.State!.Name, 'shutting-down');
    t.equal(after.StateReason?.Code, 'Server.SpotInstanceTermination');
    t.equal((await state(capped)).State!.Name, 'running');
    t.equal(endpoint.faults.counts.interruptions, 1);
  },
);

t.test('DryRun=true answers DryRunOperation and launches nothing', async (t) => {
  const clock = new ManualClock();
  const endpoint = await endpointAt(clock);
  t.teardown(() => endpoint.stop());
  const ec2 = testEc2Client(endpoint.url);
  await expectRefused(
    t,
    ec2.send(
      new RunInstancesCommand({
        ImageId: LOCAL_IMAGE.imageId,
        InstanceType: 't2.medium',
        MinCount: 1,
        MaxCount: 1,
        DryRun: true,
      }),
    ),
    'DryRunOperation',
    'a dry run',
  );
  t.equal(endpoint.cloud.instances.size, 0, 'nothing launched');
  t.equal(endpoint.cloud.reservations.length, 0);
});

async function expectRefused(t: Test, p: Promise<unknown>, code: string, what: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  t.equal(e?.name, code, `${what}: ${code}`);
}

t.test(
  'the aws CLI: describe-spot-price-history moves, honours the window and the zone; run-instances --dry-run changes nothing',
  { skip: awsCliAvailable ? false : 'the aws CLI is not on PATH' },
  async (t) => {
    const clock = new ManualClock();
    const endpoint = await endpointAt(clock, { seed: 5 });
    t.teardown(() => endpoint.stop());
    const aws = awsEc2(endpoint.url);
    const opened = clock.now();
    const iso = (ms: number): string => new Date(ms).toISOString();
    const window = async (from: number, to: number) => {
      const r = await aws(
        'describe-spot-price-history',
        '--instance-types',
        't2.medium',
        '--availability-zone',
        'us-west-2b',
        '--product-descriptions',
        'Linux/UNIX',
        '--start-time',
        iso(from),
        '--end-time',
        iso(to),
      );
      t.equal(r.status, 0, r.stderr);
      return (
        r.json as { SpotPriceHistory: { AvailabilityZone: string; SpotPrice: string; Timestamp: string }[] }
      ).SpotPriceHistory;
    };
    const first = await window(opened - 2 * 3_600_000, opened);
    t.ok(first.length > 5, `${first.length} entries in two hours`);
    t.ok(new Set(first.map((p) => p.SpotPrice)).size > 3, 'the price moves');
    t.ok(
      first.every((p) => p.AvailabilityZone === 'us-west-2b'),
      'the zone filter honoured',
    );
    t.equal(
      first.filter((p) => Date.parse(p.Timestamp) <= opened - 2 * 3_600_000).length,
      1,
      'one entry from before the window: the price in effect at its start',
    );
    await clock.advance(3_600_000);
    const next = await window(opened + 1, clock.now());
    t.ok(
      next.filter((p) => Date.parse(p.Timestamp) > opened).length > 5,
      'an hour later, the CLI sees the new changes',
    );
    t.ok(
      next.every((p) => Date.parse(p.Timestamp) <= clock.now()),
      'and nothing after the end of the window',
    );

    const dry = await aws(
      'run-instances',
      '--image-id',
      LOCAL_IMAGE.imageId,
      '--instance-type',
      't2.medium',
      '--count',
      '1',
      '--dry-run',
    );
    t.not(dry.status, 0);
    t.match(dry.stderr, /DryRunOperation.*Request would have succeeded, but DryRun flag is set/);
    const described = await aws('describe-instances');
    t.same((described.json as { Reservations: unknown[] }).Reservations, [], 'no instance exists');
  },
);

/**
 * As EC2 answers a type it sells, but not in this region: no rows for it, and the other types'
 * prices as usual. Only a name that is no instance type at all fails the request.
 */
t.test(
  'DescribeSpotPriceHistory: a real type the local region does not sell has no rows; a non-type is refused',
  async (t) => {
    const clock = new ManualClock();
    const endpoint = await endpointAt(clock);
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    t.notOk(INSTANCE_TYPES_BY_NAME.has('x1e.xlarge'), 'x1e.xlarge is not sold here');
    const rows = await history(ec2, {
      InstanceTypes: ['c5.large', 'x1e.xlarge'],
      AvailabilityZone: 'us-west-2a',
      StartTime: new Date(clock.now()),
    });
    t.ok(rows.length > 0, 'c5.large is priced');
    t.same([...new Set(rows.map((r) => r.InstanceType))], ['c5.large'], 'x1e.xlarge has no rows');
    await expectRefused(
      t,
      history(ec2, { InstanceTypes: ['c5.large', 'c5.lrage' as never], StartTime: new Date(clock.now()) }),
      'InvalidParameterValue',
      'a misspelt type',
    );
  },
);

/**
 * Every type a user may name (the leader's catalogue) is sold by the local region, so a run there
 * plans, prices and launches what it would on EC2: c5a.large had no spot price and no launch.
 */
t.test('the local region sells every type in the leader catalogue, with its shape', async (t) => {
  const catalogue = await readCatalogue();
  const missing = [...catalogue.types.keys()].filter((name) => !INSTANCE_TYPES_BY_NAME.has(name));
  t.same(missing, [], 'no catalogue type missing');
  const c5a = INSTANCE_TYPES_BY_NAME.get('c5a.large');
  const leader = catalogue.types.get('c5a.large');
  t.same([c5a?.vcpus, c5a?.memoryMiB], [leader?.cores, Math.round(leader!.memoryBytes / 2 ** 20)]);
});
