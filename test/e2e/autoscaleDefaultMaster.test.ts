import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { AwsCluster } from '../../src/provisioner/aws/awsCluster.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { localClusterSettings, testCalls, testEc2Client } from '../fixtures/ec2Local.js';
import { FAST_SCALING, liveWorkers, startLocalCloud } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

const { CreateSubnetCommand, CreateVpcCommand } = ec2Sdk();

/**
 * `toil run --provisioner aws --batchSystem mesos` without --mesosMaster takes Toil's default, the
 * leader's own address: the private IP of the cluster's leader instance, port 5050, where every
 * worker's agent is told the master is. The local cloud's clusters live in a VPC on loopback
 * addresses (127.N.M.0/24), so a leader's private IP is an address of this machine, and the local
 * cloud's Mesos master listens on port 5050 of one leader's.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowDeclaresNothing.ts');
// A full autoscaled run (a worker booted, one job, the worker released) and five refusals: about
// 35 s on a quiet two-core machine.
t.setTimeout(180_000);

// Its own loopback block, so port 5050 on it is free of other tests running at the same time.
const block = `127.${100 + Math.floor(Math.random() * 150)}`;
const HOME_SUBNET = `${block}.1.0/24`;
const AWAY_SUBNET = `${block}.2.0/24`;
// The first address a new subnet hands out (EC2 keeps the first four).
const HOME_LEADER = `${block}.1.4`;
const AWAY_LEADER = `${block}.2.4`;

/** A cluster whose leader is launched into `subnetId`, its group in `vpcId`: the leader's private IP. */
async function clusterIn(
  ec2Url: string,
  clusterName: string,
  vpcId: string,
  subnetId: string,
): Promise<string | undefined> {
  const client = testEc2Client(ec2Url);
  try {
    const calls = testCalls(client);
    const deps = { calls, clock: new RealClock(), log: silentLogger() };
    await new AwsCluster({ ...deps, clusterName }).ensureSecurityGroup({ vpcId, tags: { clusterName } });
    const provisioner = new AwsProvisioner({
      ...deps,
      settings: localClusterSettings(clusterName, {
        applianceImage: 'local',
        owner: 'test',
        nodeStorageGiB: 50,
        subnetId,
        vpcId,
      }),
    });
    const { nodes } = await provisioner.launch({
      offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
      count: 1,
      clientToken: `leader-${clusterName}`,
      role: 'leader',
    });
    return nodes[0]?.privateIp;
  } finally {
    client.destroy();
  }
}

t.test(
  'without --mesosMaster an autoscaled run uses the leader private IP at port 5050 and says so',
  async (t) => {
    const dir = testDir(t, {});
    // The local cloud's master on port 5050 of the home cluster's leader address.
    const cloud = await startLocalCloud(['--host', HOME_LEADER, '--mesos-port', '5050']);
    t.teardown(async () => {
      cloud.child.kill('SIGTERM');
      await cloud.done;
    });
    t.equal(
      cloud.mesosMaster,
      `${HOME_LEADER}:5050`,
      'the local master listens where the home leader will be',
    );
    const client = testEc2Client(cloud.ec2Url);
    const vpc = await client.send(new CreateVpcCommand({ CidrBlock: `${block}.0.0/16` }));
    const vpcId = vpc.Vpc!.VpcId!;
    const subnet = async (cidr: string) =>
      (
        await client.send(
          new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: 'us-west-2a' }),
        )
      ).Subnet!.SubnetId!;
    const [homeSubnet, awaySubnet] = [await subnet(HOME_SUBNET), await subnet(AWAY_SUBNET)];
    client.destroy();
    t.equal(await clusterIn(cloud.ec2Url, 'home', vpcId, homeSubnet), HOME_LEADER);
    t.equal(await clusterIn(cloud.ec2Url, 'away', vpcId, awaySubnet), AWAY_LEADER);

    const run = (clusterName: string, js: string, more: readonly string[] = []) =>
      runToil(
        [
          ...['run', WORKFLOW, `file:${js}`, '--provisioner', 'aws', '--nodeTypes', 't2.medium'],
          ...['--maxNodes', '1', ...FAST_SCALING, '--batchSystem', 'mesos', '--zone', 'us-west-2a'],
          ...['--clusterName', clusterName, '--workDir', dir, '--logLevel', 'warning', ...more],
        ],
        { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
      );
    const defaultLine = (leader: string) =>
      new RegExp(
        `^toil: no --mesosMaster given: using ${leader.replace(/\./g, '\\.')}:5050, the private address of cluster \\w+'s leader i-[0-9a-f]+ \\(Toil's default: the leader's own address, port 5050\\)$`,
        'm',
      );

    const ran = await run('home', 'js-home');
    t.equal(ran.code, 0, `the run on the default master succeeds: ${ran.stderr.slice(-2000)}`);
    t.match(ran.stderr, defaultLine(HOME_LEADER), 'the run says which master it chose, and why');
    t.match(ran.stderr, /^toil: workflow succeeded: 1 job run in /m);
    t.same(await liveWorkers(cloud.ec2Url), [], 'its worker is released');

    const away = await run('away', 'js-away');
    t.equal(away.code, 2, 'nothing answers on the away leader: refused (exit 2)');
    t.match(away.stderr, defaultLine(AWAY_LEADER));
    t.match(
      away.stderr,
      new RegExp(
        `^toil: the default Mesos master ${AWAY_LEADER.replace(/\./g, '\\.')}:5050 \\(the private address of cluster away's leader i-[0-9a-f]+\\): the Mesos master does not answer \\(.+\\) \\(expected a running Mesos master there; give --mesosMaster HOST:PORT for another\\)$`,
        'm',
      ),
      'the refusal names the default it tried, not a flag the user never typed',
    );

    const named = await run('home', 'js-named', ['--mesosMaster', '127.0.0.1:1']);
    t.equal(named.code, 2, 'an explicit --mesosMaster wins over the default');
    t.match(named.stderr, /^toil: --mesosMaster 127\.0\.0\.1:1: the Mesos master does not answer /m);
    t.notMatch(named.stderr, /no --mesosMaster given/, 'no default is looked up or said');

    const none = await run('nowhere', 'js-none');
    t.equal(none.code, 2, 'a cluster without a leader has no default master: refused');
    t.match(
      none.stderr,
      /^toil: no --mesosMaster given, and its default \(the private address of cluster nowhere's leader, port 5050\) is unknown: cluster 'nowhere' has no leader in region us-west-2; .*; or give --mesosMaster HOST:PORT$/m,
    );

    // With a --mesosMaster that answers, the cluster is still looked for before anything is made:
    // a typo in --clusterName or --zone failed at the first launch, after the job store was made.
    const typo = await run('hom', 'js-typo', ['--mesosMaster', cloud.mesosMaster]);
    t.equal(typo.code, 2, `a cluster name that is not there: refused (exit 2): ${typo.stderr}`);
    t.match(
      typo.stderr,
      /^toil: cluster 'hom' has no leader in region us-west-2; clusters here: .*\bhome\b.*; check the name and --zone$/m,
      'the refusal names the clusters the region has',
    );
    t.notOk(existsSync(join(dir, 'js-typo')), 'no job store was made');
    const elsewhere = await run('home', 'js-elsewhere', [
      '--mesosMaster',
      cloud.mesosMaster,
      '--zone',
      'us-east-1a',
    ]);
    t.equal(elsewhere.code, 2, `a zone the cluster is not in: refused (exit 2): ${elsewhere.stderr}`);
    t.match(
      elsewhere.stderr,
      /^toil: cluster 'home' has no leader in region us-east-1; .*check the name and --zone$/m,
    );
    t.notOk(existsSync(join(dir, 'js-elsewhere')), 'no job store was made');
    t.same(await liveWorkers(cloud.ec2Url), [], 'no refused run launched a worker');
  },
);
