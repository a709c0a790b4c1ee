import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { motoForClusters } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';

const { DescribeInstancesCommand, DescribeSecurityGroupsCommand } = ec2Sdk();

/**
 * An instance type EC2 offers but the leader's scaler cannot price (m1.large, a first-generation
 * type absent from the catalogue) would be written into the leader's config, which its daemon then
 * refuses at boot: launch-cluster refuses it first, exit 2, before anything is made. moto is the EC2
 * here: it offers m1.large, as AWS does. Toil's docs' own example (--nodeTypes m3.large,t2.micro)
 * is priced, so it launches.
 */
t.setTimeout(180_000);

t.test(
  "launch-cluster refuses a node type the leader's daemon would refuse, before making anything",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { ec2, env } = await motoForClusters(t);
    const launch = (...types: string[]) =>
      runToil(['launch-cluster', 'docs', ...types, '--zone', 'us-west-2a', '--keyPairName', 'k'], env);

    const workers = await launch(
      '--leaderNodeType',
      't2.medium',
      '--nodeTypes',
      'm1.large,t2.micro',
      '-w',
      '1,4',
    );
    t.equal(workers.code, 2, workers.stderr);
    t.match(
      workers.stderr,
      /^toil: --nodeTypes: the leader's daemon would refuse the config it boots with \(scaler\.nodeTypes\[0\]: unknown instance type "m1\.large" \(did you mean .*\)\): its scaler knows the instance types of config\/instances\.json/,
    );
    const leaderOnly = await launch('--leaderNodeType', 'm1.large');
    t.equal(leaderOnly.code, 2, leaderOnly.stderr);
    t.match(leaderOnly.stderr, /^toil: --leaderNodeType \(the workers' type without --nodeTypes\): /);

    const instances = await ec2.send(new DescribeInstancesCommand({}));
    t.same(instances.Reservations ?? [], [], 'no instance launched');
    const groups = await ec2.send(new DescribeSecurityGroupsCommand({}));
    t.same(
      (groups.SecurityGroups ?? []).map((g) => g.GroupName).filter((n) => n !== 'default'),
      [],
      'no security group made',
    );
  },
);
