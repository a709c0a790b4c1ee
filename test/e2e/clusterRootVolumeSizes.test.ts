import t from 'tap';
import { endpointWithKeyPair } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

/**
 * The root volumes launch-cluster takes are the ones EC2 makes: a node's root is gp3, which EC2
 * (and the local cloud, test/localcloud/ec2LaunchRefusals.test.ts) makes up to 65536 GiB.
 */
// A launch-cluster run against an endpoint in this process; a busy two-core machine is slow.
t.setTimeout(180_000);

t.test('launch-cluster makes gp3 root volumes up to 64 TiB, past gp2 16 TiB', async (t) => {
  const { endpoint, env } = await endpointWithKeyPair(t);
  const r = await runToil(
    [
      ...['launch-cluster', 'big', '--nodeType', 't2.medium', '-w', '1', '--keyPairName', 'k'],
      ...['--zone', 'us-west-2a', '--leaderStorage', '65536', '--nodeStorage', '20000'],
    ],
    env,
  );
  t.equal(r.code, 0, `launched (stderr: ${r.stderr.slice(0, 2000)})`);
  const volumes = [...endpoint.cloud.instances.values()].map((i) => [
    i.tags.get('ToilNodeType'),
    i.rootVolumeGiB,
  ]);
  t.same(
    volumes.sort(),
    [
      ['leader', 65_536],
      ['worker', 20_000],
    ],
    'the leader has the largest gp3 volume, the worker one larger than gp2 allows',
  );
});
