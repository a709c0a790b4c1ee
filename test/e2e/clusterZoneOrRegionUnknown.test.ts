import t from 'tap';
import { forEachLimited } from '../../src/common/forEachLimited.js';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { endpointWithKeyPair, motoForClusters, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { motoAvailable, MOTO_MISSING_REASON } from '../fixtures/motoServer.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';

const { DescribeInstancesCommand, DescribeSecurityGroupsCommand } = ec2Sdk();

/**
 * A zone its region lacks (`us-west-2z`), or a zone or region of no region EC2 has (`eu-west-9a`),
 * given to a cluster command is refused up front: exit 2, one line naming where it came from and
 * what EC2 has, nothing made, reached or destroyed. destroy-cluster took such a zone for its region
 * alone and destroyed the cluster there without a word of it (ssh- and rsync-cluster reached it the
 * same way); launch-cluster in a region that does not exist said its key pair was missing, the
 * local cloud answering every region. EC2's DescribeRegions says which regions exist.
 */
t.setTimeout(240_000);
// The local cloud's cases and moto's are independent: side by side.
t.jobs = 2;

const EU = 'eu-central-1, eu-central-2, eu-north-1, eu-south-1, eu-south-2, eu-west-1, eu-west-2, eu-west-3';
const ZONES = '(its zones: us-west-2a, us-west-2b, us-west-2c)';

t.test('cluster commands refuse a zone or region EC2 does not have, touching nothing', async (t) => {
  const { endpoint, env } = await endpointWithKeyPair(t);
  const launched = await runToil(
    ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'us-west-2a'],
    env,
  );
  t.equal(launched.code, 0, launched.stderr);
  const running = () =>
    [...endpoint.cloud.instances.values()]
      .filter((i) => i.tags.get('clusterName') === 'c1' && i.state === 'running')
      .map((i) => i.id);
  const leaders = running();
  t.equal(leaders.length, 1, 'the cluster has its leader');
  const groups = () => [...endpoint.cloud.securityGroups.values()].map((g) => g.name).sort();
  const groupsBefore = groups();

  const cases: [what: string, args: string[], extraEnv: Record<string, string>, line: string][] = [
    [
      'destroy-cluster --zone with a zone its region lacks',
      ['destroy-cluster', 'c1', '--zone', 'us-west-2z'],
      {},
      `toil: --zone: zone 'us-west-2z' is not in region us-west-2 ${ZONES}`,
    ],
    [
      'destroy-cluster with TOIL_AWS_ZONE a zone its region lacks',
      ['destroy-cluster', 'c1'],
      { TOIL_AWS_ZONE: 'us-west-2z' },
      `toil: TOIL_AWS_ZONE: zone 'us-west-2z' is not in region us-west-2 ${ZONES}`,
    ],
    [
      'ssh-cluster --zone with a zone its region lacks',
      ['ssh-cluster', '--zone', 'us-west-2z', 'c1', 'true'],
      {},
      `toil: --zone: zone 'us-west-2z' is not in region us-west-2 ${ZONES}`,
    ],
    [
      'rsync-cluster -z with a zone its region lacks',
      ['rsync-cluster', '-z', 'us-west-2z', 'c1', 'f', ':/tmp'],
      {},
      `toil: --zone: zone 'us-west-2z' is not in region us-west-2 ${ZONES}`,
    ],
    [
      'destroy-cluster --zone in a region EC2 does not have',
      ['destroy-cluster', 'c1', '--zone', 'eu-west-9a'],
      {},
      `toil: --zone: zone 'eu-west-9a' is in no region EC2 has: there is no eu-west-9 (expected a zone of a region it lists, like ${EU})`,
    ],
    [
      'destroy-cluster with TOIL_AWS_REGION a region EC2 does not have',
      ['destroy-cluster', 'c1'],
      { TOIL_AWS_REGION: 'eu-west-9' },
      `toil: TOIL_AWS_REGION: 'eu-west-9' is not a region EC2 has (expected one it lists, like ${EU})`,
    ],
    [
      'launch-cluster --zone in a region EC2 does not have',
      ['launch-cluster', 'c2', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'eu-west-9a'],
      {},
      `toil: --zone: zone 'eu-west-9a' is in no region EC2 has: there is no eu-west-9 (expected a zone of a region it lists, like ${EU})`,
    ],
  ];
  // Refused before anything is touched, so side by side: each is a process of its own.
  await forEachLimited(cases, 4, async ([what, args, extra, line]) => {
    const r = await runToil(args, { ...env, ...extra });
    oneLineRefusal(t, what, r, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });
  t.same(running(), leaders, "the cluster's leader still runs");
  t.same(groups(), groupsBefore, 'no security group made or removed');
  t.equal(
    [...endpoint.cloud.instances.values()].filter((i) => i.tags.get('clusterName') === 'c2').length,
    0,
    'launch-cluster made no instance in the home region',
  );
  const eu9 = testEc2Client(endpoint.url, 'eu-west-9');
  t.teardown(() => eu9.destroy());
  const euInstances = (await eu9.send(new DescribeInstancesCommand({}))).Reservations ?? [];
  t.same(euInstances, [], 'launch-cluster made no instance in eu-west-9');
  const euGroups = (await eu9.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
  t.same(
    euGroups.map((g) => g.GroupName),
    ['default'],
    'launch-cluster made no security group in eu-west-9',
  );

  const destroyed = await runToil(['destroy-cluster', 'c1', '--zone', 'us-west-2b'], env);
  t.equal(destroyed.code, 0, `a zone of the cluster's region destroys it: ${destroyed.stderr}`);
  t.same(running(), [], 'the cluster is gone');
});

t.test(
  "launch-cluster on moto: a region that has no endpoint is refused by EC2's list of regions",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { ec2, env } = await motoForClusters(t);
    const r = await runToil(
      ['launch-cluster', 'c2', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'eu-west-9a'],
      env,
    );
    oneLineRefusal(
      t,
      'launch-cluster --zone eu-west-9a',
      r,
      /^toil: --zone: zone 'eu-west-9a' is in no region EC2 has: there is no eu-west-9 \(expected a zone of a region it lists, like eu-central-1, [a-z0-9, -]*eu-west-3\)$/,
    );
    const reservations = (await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [];
    t.same(reservations, [], 'no instance made');
  },
);
