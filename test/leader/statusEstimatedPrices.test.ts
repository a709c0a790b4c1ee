import t, { type Test } from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { nodesCostLine } from '../../src/cli/runAutoscaled.js';
import { LeaderDaemon, nodePriceShown } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import type { ObservedNode } from '../../src/scaler/tick/clusterView.js';
import { emptyTickState } from '../../src/scaler/tick/state.js';
import { fakeDaemonDeps } from '../fixtures/leaderFakes.js';

/**
 * A region the instance catalogue has no on-demand prices for is priced at us-east-1's list
 * prices (with a warning at start-up): every cost shown from then on is marked as an estimate —
 * /status (which the status page draws), each node's $/h there, and the cost line a
 * `toil run --provisioner aws` ends with. A region priced by the catalogue shows no such mark.
 */
const catalogue = await readCatalogue();

const scalerIn = (region: string) =>
  parseLeaderConfigObject(
    {
      http: { port: 0 },
      scaler: { region, zones: [`${region}a`], nodeTypes: ['t2.medium', 'c5.large'] },
    },
    catalogue,
  );

async function statusOf(t: Test, region: string): Promise<Record<string, unknown>> {
  const clock = new ManualClock();
  const daemon = new LeaderDaemon({
    ...fakeDaemonDeps(clock, scalerIn(region)),
    newBatchSystem: () => ({}) as never,
    runWorkflow: () => new Promise(() => {}),
  });
  const url = await daemon.start();
  t.teardown(() => daemon.stop());
  return (await (await fetch(`${url}/status`)).json()) as Record<string, unknown>;
}

t.test('/status in a region priced by estimate says which prices are estimates, and why', async (t) => {
  const status = await statusOf(t, 'eu-west-1');
  t.match(status['estimatedPrices'], {
    region: 'eu-west-1',
    from: 'us-east-1',
    types: ['t2.medium', 'c5.large'],
    why: /no on-demand price for region eu-west-1: t2\.medium, c5\.large priced at us-east-1's list price, so costs shown are estimates/,
  });
  t.match(status['costBreakdown'], { estimated: true });
});

t.test('/status in a region the catalogue prices: no estimate mark', async (t) => {
  const status = await statusOf(t, 'us-west-2');
  t.notOk('estimatedPrices' in status);
  t.same(status['costBreakdown'], { launchedDollars: 0, staticWorkersDollars: 0 });
});

t.test("a node's $/h is marked an estimate when it is the other region's list price", async (t) => {
  const estimated = scalerIn('eu-west-1').scaler.estimatedPrices;
  t.ok(estimated, 'the config carries the estimated types');
  const node = (o: Partial<ObservedNode>): ObservedNode =>
    ({
      instanceType: 't2.medium',
      capacityType: 'on-demand',
      pricePerHour: 0.0464,
      priceSource: 'launched',
      ...o,
    }) as ObservedNode;
  const rows: [what: string, n: ObservedNode, marked: boolean][] = [
    ['an on-demand node it launched', node({}), true],
    ['an on-demand node priced by the config', node({ priceSource: 'config' }), true],
    [
      'a spot node priced at on-demand (no spot price read)',
      node({ capacityType: 'spot', priceSource: 'on-demand' }),
      true,
    ],
    [
      'a spot node at the spot price read in the region',
      node({ capacityType: 'spot', priceSource: 'spot-market' }),
      false,
    ],
    ['a type not priced by estimate', node({ instanceType: 'm5.large' }), false],
    [
      'a type priced nowhere',
      node({ instanceType: 'x9.huge', priceSource: 'unknown', pricePerHour: 0 }),
      false,
    ],
  ];
  for (const [what, n, marked] of rows)
    t.equal(nodePriceShown(n, estimated).priceEstimated === true, marked, what);
  t.notOk(nodePriceShown(node({}), undefined).priceEstimated, 'no estimate in the config: no mark');
});

t.test('the cost line a run ends with says it is an estimate, and why', async (t) => {
  const estimated = scalerIn('eu-west-1').scaler.estimatedPrices;
  const state = { ...emptyTickState(), costDollars: 0.1234 };
  t.equal(
    nodesCostLine(state, estimated),
    "nodes cost about $0.1234 for the nodes it launched (an estimate: t2.medium, c5.large priced at us-east-1's list price, the catalogue having none for eu-west-1)",
  );
  t.equal(
    nodesCostLine({ ...state, staticWorkersCostDollars: 0.5 }, estimated),
    "nodes cost about $0.6234 (about $0.1234 for the nodes it launched, about $0.5000 for the cluster's static workers while it ran) (an estimate: t2.medium, c5.large priced at us-east-1's list price, the catalogue having none for eu-west-1)",
  );
  t.equal(
    nodesCostLine(state, undefined),
    'nodes cost $0.1234 for the nodes it launched',
    'priced by the catalogue: as before',
  );
});
