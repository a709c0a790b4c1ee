import t from 'tap';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { parseScalerConfig } from '../../src/scaler/config.js';
import { localClusterWithLeader } from '../fixtures/ec2Local.js';
import { recordingProxy } from '../fixtures/recordingProxy.js';

/**
 * The bid of `--nodeTypes TYPE:BID` as RunInstances carries it to EC2 (the SDK's form, read off
 * the wire in front of the local EC2 endpoint): the shortest decimal that is the bid, as Toil's
 * str(bid) sends it, never rounded to six places (0.0123456789 went as 0.012346), nor in
 * exponent form.
 */
const CLUSTER = 'bidwire';
const catalogue = await readCatalogue();

t.test("a spot launch sends MaxPrice as the bid's shortest decimal, as Toil's str(bid) does", async (t) => {
  const proxies: Awaited<ReturnType<typeof recordingProxy>>[] = [];
  const { provisioner } = await localClusterWithLeader(t, CLUSTER, undefined, async (url) => {
    const proxy = await recordingProxy(t, url);
    proxies.push(proxy);
    return proxy.endpoint;
  });
  const wire = proxies[0]!;
  const cases: [bid: string, sent: string][] = [
    ['0.0123456789', '0.0123456789'],
    ['0.1', '0.1'],
    ['1e-2', '0.01'],
    ['0.050', '0.05'],
    ['2', '2'],
  ];
  for (const [i, [bid, sent]] of cases.entries()) {
    const config = parseScalerConfig({ region: 'us-west-2', nodeTypes: `t2.micro:${bid}` }, catalogue);
    const maxPrice = config.nodeTypes[0]!.bid;
    const before = wire.bodies().length;
    const launched = await provisioner.launch({
      offering: { instanceType: 't2.micro', zone: 'us-west-2a', market: 'spot', maxPrice },
      count: 1,
      clientToken: `${CLUSTER}-${i}`,
      role: 'worker',
    });
    t.equal(launched.nodes.length, 1, `t2.micro:${bid} launched`);
    const runs = wire
      .bodies()
      .slice(before)
      .map((b) => new URLSearchParams(b))
      .filter((p) => p.get('Action') === 'RunInstances');
    t.same(
      runs.map((p) => p.get('InstanceMarketOptions.SpotOptions.MaxPrice')),
      [sent],
      `t2.micro:${bid} sends MaxPrice ${sent}`,
    );
  }
});
