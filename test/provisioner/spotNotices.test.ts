import t from 'tap';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { newCluster, type ContractTarget } from '../fixtures/provisionerContract.js';

/**
 * The AWS adapter, against the local endpoint's moving market: observed spot prices per zone, and
 * the interruption notices of this cluster's spot instances (spot requests `marked-for-termination`)
 * when the market passes their max price.
 */
t.test('spot prices per zone, and the interruption notices of this cluster only', async (t) => {
  const endpoint = await startTestEndpoint({
    bootDelayMs: 0,
    spotMarket: { script: [{ instanceType: 't2.medium', zone: 'us-west-2a', at: 0, price: 0.012 }] },
  });
  t.teardown(() => endpoint.stop());
  const target: ContractTarget = {
    name: 'local',
    client: testEc2Client(endpoint.url),
    imageId: LOCAL_IMAGE.imageId,
    zone: 'us-west-2a',
    otherZone: 'us-west-2b',
    honoursClientToken: true,
    launchesMaxCount: true,
  };
  const [mine, other] = [await newCluster(target), await newCluster(target)];
  for (const p of [mine, other])
    await p.launch({
      offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
      count: 1,
      clientToken: `${p.clusterName}-leader`,
      role: 'leader',
    });
  const spot = async (p: typeof mine) =>
    (
      await p.launch({
        offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'spot', maxPrice: 0.03 },
        count: 1,
        clientToken: `${p.clusterName}-spot`,
      })
    ).nodes[0]!.instanceId;
  const mySpot = await spot(mine);
  await spot(other);

  const prices = await mine.spotPrices(['t2.medium'], ['us-west-2a', 'us-west-2b']);
  t.same(
    prices.map((p) => `${p.zone} ${p.price}`).sort(),
    ['us-west-2a 0.012', `us-west-2b ${endpoint.cloud.spotPriceOf('t2.medium', 'us-west-2b')}`],
    'the newest price of each zone',
  );
  t.same(await mine.interruptionNotices(), [], 'no notice while the market is below the max price');

  endpoint.setSpotPrice('t2.medium', 'us-west-2a', 0.04);
  const notices = await mine.interruptionNotices();
  t.same(
    notices.map((n) => n.instanceId),
    [mySpot],
    "this cluster's outbid instance, not the other cluster's",
  );
  t.equal(notices[0]!.terminateAt - notices[0]!.noticedAt, 120_000, 'reclaimed two minutes after the notice');
  t.same(
    (await mine.spotPrices(['t2.medium'], ['us-west-2a'])).map((p) => p.price),
    [0.04],
    'the new price is observed',
  );
});
