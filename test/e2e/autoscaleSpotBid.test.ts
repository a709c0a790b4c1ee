import { join } from 'node:path';
import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { testEc2Client } from '../fixtures/ec2Local.js';
import {
  byteSorted,
  liveWorkers,
  makeCluster,
  nonEmptyLines,
  sleep,
  startLocalCloud,
  FAST_SCALING,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

const { DescribeSpotInstanceRequestsCommand } = ec2Sdk();

/**
 * Toil's canonical spot form, `--nodeTypes t2.medium:0.03` (a bid below the $0.0464 on-demand
 * price) against `toil localcloud`, whose spot market sits near 35 % of on-demand: the run
 * launches spot workers with MaxPrice 0.03, sorts, and releases them.
 */
t.test(
  'the seed form with t2.medium:0.03 --maxNodes 2 launches spot workers bidding $0.03, sorts, releases them',
  async (t) => {
    const dir = testDir(t, {});
    const cloud = await startLocalCloud();
    t.teardown(async () => {
      cloud.child.kill('SIGTERM');
      await cloud.done;
    });
    await makeCluster(cloud.ec2Url, 'seed');
    const r = await runToil(
      [
        'run',
        join(REPO_ROOT, 'examples/sort.ts'),
        'file:js',
        '--numLines',
        '500',
        '--fileToSort',
        'in.txt',
        '--outputFile',
        'out.txt',
        '--provisioner',
        'aws',
        '--nodeTypes',
        't2.medium:0.03',
        '--maxNodes',
        '2',
        '--defaultPreemptable',
        ...FAST_SCALING,
        '--batchSystem',
        'mesos',
        '--mesosMaster',
        cloud.mesosMaster,
        '--zone',
        'us-west-2a',
        '--clusterName',
        'seed',
        '--logLevel',
        'info',
      ],
      { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url } },
    );
    t.equal(r.code, 0, 'toil run exits 0');
    if (r.code !== 0) t.comment(r.stderr.slice(-4000));
    t.same(
      nonEmptyLines(join(dir, 'out.txt')),
      byteSorted(nonEmptyLines(join(dir, 'in.txt'))),
      'sorted correctly',
    );
    const requests = (await testEc2Client(cloud.ec2Url).send(new DescribeSpotInstanceRequestsCommand({})))
      .SpotInstanceRequests!;
    t.ok(
      requests.length >= 1 && requests.length <= 2,
      `${requests.length} spot worker(s), within --maxNodes 2`,
    );
    t.same(
      [...new Set(requests.map((q) => q.SpotPrice))],
      ['0.030000'],
      'every spot request bid MaxPrice 0.03',
    );
    await sleep(300);
    t.same(await liveWorkers(cloud.ec2Url), [], 'no worker left pending or running');
  },
);
