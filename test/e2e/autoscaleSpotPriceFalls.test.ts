import { join } from 'node:path';
import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { testEc2Client } from '../fixtures/ec2Local.js';
import { makeCluster, startLocalCloud, FAST_SCALING } from '../fixtures/leaderE2e.js';
import { REPO_ROOT, startToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

const { DescribeSpotInstanceRequestsCommand } = ec2Sdk();

const ABOVE_THE_BID =
  /observed spot price \$0\.04\/h for t2\.medium\/us-west-2a\/spot is above the bid \$0\.03\/h/;

/**
 * A bid under the spot price waits, as in Toil, and its nodes launch once the price falls under
 * it: Toil asks EC2 for them at every scaler pass, so within one --scaleInterval of the fall. The
 * prices of a priced-out offering were read again only every tick.spotPriceRefresh (10 min), so
 * the run waited up to ten minutes on a market that had long fallen.
 */
/** The local cloud's scripted market: above the $0.03 bid until the test lowers it. */
const MARKET = [{ instanceType: 't2.medium', zone: 'us-west-2a', at: '+0s', price: 0.04 }];
/** Well past a few scaler passes after the fall, well short of the ten-minute refresh. */
const LAUNCH_WITHIN_SECONDS = 30;

t.test(
  '--nodeTypes t2.medium:0.03 with the spot price above it: waits, then launches within seconds of the price falling under the bid',
  async (t) => {
    const dir = testDir(t, { 'prices.json': JSON.stringify(MARKET) });
    const cloud = await startLocalCloud(['--spot-price-file', join(dir, 'prices.json')]);
    t.teardown(async () => {
      cloud.child.kill('SIGTERM');
      await cloud.done;
    });
    await makeCluster(cloud.ec2Url, 'falls');
    const run = startToil(
      [
        'run',
        join(REPO_ROOT, 'examples/sort.ts'),
        'file:js',
        ...['--numLines', '100', '--fileToSort', 'in.txt', '--outputFile', 'out.txt'],
        ...['--provisioner', 'aws', '--nodeTypes', 't2.medium:0.03', '--maxNodes', '1'],
        '--defaultPreemptable',
        ...FAST_SCALING,
        ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster],
        ...['--zone', 'us-west-2a', '--clusterName', 'falls', '--logLevel', 'info'],
      ],
      { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url } },
    );
    t.teardown(() => run.child.kill('SIGKILL'));
    const stderr: string[] = [];
    run.child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    // The fall comes once the run has said it waits on the price, however long it took to start.
    await waitFor(
      'the run to wait on the price above the bid',
      () => ABOVE_THE_BID.test(stderr.join('')),
      120_000,
    );
    const fell = Date.now();
    const lowered = await fetch(`${cloud.ec2Url}/_localcloud/spot-price`, {
      method: 'POST',
      body: JSON.stringify({ instanceType: 't2.medium', zone: 'us-west-2a', price: 0.02 }),
    });
    t.equal(lowered.status, 200, 'the market falls under the bid');
    const deadline = setTimeout(() => run.child.kill('SIGTERM'), (LAUNCH_WITHIN_SECONDS + 30) * 1000);
    const r = await run.done;
    clearTimeout(deadline);
    const endedAfter = (Date.now() - fell) / 1000;
    t.equal(r.code, 0, `toil run exits 0 (ended ${endedAfter.toFixed(1)} s after the fall)`);
    if (r.code !== 0) t.comment(r.stderr.slice(-3000));
    const requests = (await testEc2Client(cloud.ec2Url).send(new DescribeSpotInstanceRequestsCommand({})))
      .SpotInstanceRequests!;
    t.same(
      requests.map((q) => q.SpotPrice),
      ['0.030000'],
      'one spot node, bidding MaxPrice 0.03',
    );
    // EC2's CreateTime is to the second.
    const launchedAfter = requests.map((q) => (q.CreateTime!.getTime() - fell) / 1000);
    t.ok(
      launchedAfter.every((s) => s >= -1 && s <= LAUNCH_WITHIN_SECONDS),
      `launched once the price had fallen under the bid, within ${LAUNCH_WITHIN_SECONDS} s (${launchedAfter.join(', ')} s after)`,
    );
  },
);
