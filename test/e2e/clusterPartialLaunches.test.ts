import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { motoForClusters } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';

const { DescribeInstancesCommand } = ec2Sdk();

/**
 * RunInstances with MinCount 1 may launch fewer than MaxCount without an error (AWS: as many as it
 * has capacity for). moto always launches MinCount, so every request of a launch-cluster -w 4 gets
 * one worker: the command must keep asking for the rest while requests launch some, and say so,
 * instead of stopping short with no reason given.
 */
t.setTimeout(180_000);

t.test(
  'launch-cluster asks again for the workers a request launched fewer of, and says so, until -w is met',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { ec2, env } = await motoForClusters(t);
    const r = await runToil(
      [
        'launch-cluster',
        'partial',
        ...['--leaderNodeType', 't2.medium', '--nodeTypes', 't2.micro', '-w', '4'],
        ...['--zone', 'us-west-2a', '--keyPairName', 'k'],
      ],
      env,
    );
    t.equal(r.code, 0, `every worker asked for: exit 0 (${r.stderr})`);
    t.equal(r.stderr, '', 'no shortfall said');
    const asked = [
      ...r.stdout.matchAll(
        /EC2 launched 1 of the (\d) asked for in one request \(as many as it had capacity for\); asking again for the other (\d)/g,
      ),
    ];
    t.same(
      asked.map((m) => [Number(m[1]), Number(m[2])]),
      [
        [4, 3],
        [3, 2],
        [2, 1],
      ],
      'each short request is said, with what is asked for next',
    );
    t.match(r.stdout, /4 on-demand t2\.micro worker\(s\) launched/);
    t.match(r.stdout, /cluster 'partial' is up: leader i-\w+ \(.*\), 4 worker\(s\)/);

    const reservations = (await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [];
    const workers = reservations
      .flatMap((res) => res.Instances ?? [])
      .filter((i) => i.InstanceType === 't2.micro' && i.State?.Name === 'running');
    t.equal(workers.length, 4, 'EC2 (read back independently) runs the four workers');
  },
);
