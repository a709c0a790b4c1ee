import t from 'tap';
import { createLogger } from '../../../src/common/log.js';
import { readCatalogue } from '../../../src/scaler/catalogueFile.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import { runCostDollars } from '../../../src/scaler/tick/state.js';
import { localClusterWithLeader } from '../../fixtures/ec2Local.js';
import { FakeAgents, MemoryTickStore, tickTestConfig } from '../../fixtures/leaderFakes.js';

/**
 * Static workers (launch-cluster --workers) are priced at what they cost, whatever the run's node
 * types: an on-demand one of a type the run does not configure at the catalogue's on-demand price,
 * a spot one at the observed spot price of its type and zone (read for the static spot workers'
 * types too, from the tick after they are first seen; until then at on-demand, an upper bound). Their cost while the leader runs is counted apart from the nodes it
 * launched, and in the run's total. One leader's scaler on the local EC2 endpoint through the real
 * SDK client, on a stepped clock.
 */
const MIN = 60_000;

t.test(
  'static workers of a type the run does not configure are priced from the catalogue, not at $0, and their cost counts',
  async (t) => {
    const { clock, provisioner } = await localClusterWithLeader(t, 'price');
    const staticWorker = async (instanceType: string, market: 'on-demand' | 'spot') => {
      const { nodes } = await provisioner.launch({
        offering: { instanceType, zone: 'us-west-2a', market },
        count: 1,
        clientToken: `price-${instanceType}-${market}`,
        staticWorker: true,
      });
      return nodes[0]!.instanceId;
    };
    const onDemand = await staticWorker('t2.medium', 'on-demand');
    const spotUnconfigured = await staticWorker('t2.medium', 'spot');
    const spotConfigured = await staticWorker('c5.large', 'spot');
    const agents = new FakeAgents();
    for (const id of [onDemand, spotUnconfigured, spotConfigured]) agents.register(id);
    // As `--nodeTypes 'c5.large:0.05,c5.large'`: no t2.medium among the run's node types.
    const cfg = tickTestConfig({ nodeTypes: 'c5.large:0.05,c5.large', maxNodes: 2, idleGrace: '1h' });
    const store = new MemoryTickStore();
    const scaler = new ClusterScaler({
      provisioner,
      cluster: agents,
      store,
      clock,
      log: createLogger({ level: 'silent' }),
      config: () => cfg,
    });
    await scaler.restore();
    const first = await scaler.tick();
    t.same(first.report.launched, [], 'nothing queued: nothing launched');

    const catalogue = await readCatalogue();
    const t2OnDemand = catalogue.types.get('t2.medium')!.onDemandPrice['us-west-2']!;
    t.ok(t2OnDemand > 0, 'the catalogue prices t2.medium in us-west-2');
    const byId = new Map(scaler.nodes.map((n) => [n.id, n]));
    t.match(
      byId.get(onDemand),
      { pricePerHour: t2OnDemand, priceSource: 'on-demand', static: true, staticWorker: true },
      'an on-demand static worker of an unconfigured type: the catalogue on-demand price',
    );
    t.match(
      byId.get(spotUnconfigured),
      { pricePerHour: t2OnDemand, priceSource: 'on-demand', capacityType: 'spot' },
      'at the first tick, a spot one of an unconfigured type: no spot price read yet, the on-demand price, said so',
    );
    const c5Spot = scaler.spotPrices.prices.find(
      (p) => p.instanceType === 'c5.large' && p.zone === 'us-west-2a',
    );
    t.ok(c5Spot, 'the spot price of the configured spot type is read');
    t.match(
      byId.get(spotConfigured),
      { pricePerHour: c5Spot?.price, priceSource: 'spot-market', capacityType: 'spot' },
      'a spot one of a configured spot type: the observed spot price',
    );
    for (const n of scaler.nodes)
      t.not(n.pricePerHour, 0, `${n.id} (${n.instanceType} ${n.capacityType}) not $0`);
    const firstHourly = scaler.nodes.reduce((s, n) => s + n.pricePerHour, 0);

    await clock.advance(30 * MIN);
    await scaler.tick();
    const t2Spot = scaler.spotPrices.prices.find(
      (p) => p.instanceType === 't2.medium' && p.zone === 'us-west-2a',
    );
    t.ok(
      t2Spot && t2Spot.price > 0 && t2Spot.price < t2OnDemand,
      `t2.medium's spot price is read: $${t2Spot?.price}/h`,
    );
    t.match(
      scaler.nodes.find((n) => n.id === spotUnconfigured),
      { pricePerHour: t2Spot?.price, priceSource: 'spot-market' },
      'from the next tick, the spot static worker of an unconfigured type: its observed spot price',
    );
    await clock.advance(30 * MIN);
    const last = await scaler.tick();
    t.same(last.report.launched, [], 'still nothing launched');
    const hourly = scaler.nodes.reduce((s, n) => s + n.pricePerHour, 0);
    t.ok(hourly < firstHourly, 'the spot price is below the on-demand bound it replaced');
    const persisted = scaler.persisted;
    t.equal(persisted.costDollars, 0, 'no node launched: nothing spent on launched nodes');
    const expected = (firstHourly + hourly) / 2;
    t.ok(
      Math.abs((persisted.staticWorkersCostDollars ?? 0) - expected) < 1e-9,
      `an hour of the static workers counted, each half hour at the price known then: $${persisted.staticWorkersCostDollars} (expected ${expected})`,
    );
    t.equal(runCostDollars(persisted), persisted.staticWorkersCostDollars, 'and in the run total');
  },
);
