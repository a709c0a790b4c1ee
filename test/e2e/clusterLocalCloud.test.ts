import t from 'tap';
import { spawn } from 'node:child_process';
import type { Instance } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { testEc2Client } from '../fixtures/ec2Local.js';
import { TOIL_BIN, runToil } from '../fixtures/ec2ToilCli.js';
import { processAlive as alive } from '../../src/common/processIdentity.js';

const {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  ImportKeyPairCommand,
} = ec2Sdk();

/**
 * The whole loop against `toil localcloud` (EC2 endpoint + Mesos master in one process): the
 * cluster utilities make a real cluster whose workers register as Mesos agents, and destroy it.
 */
const SECRET = 'e2e-secret-key-that-must-never-leak';
const KEY_ID = 'AKIDE2ESCANME0000000';

interface LocalCloud {
  ec2Url: string;
  mesosUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

async function startLocalCloud(bootDelay = '300ms'): Promise<LocalCloud> {
  const child = spawn(
    process.execPath,
    [
      TOIL_BIN,
      'localcloud',
      '--ec2-port',
      '0',
      '--mesos-port',
      '0',
      '--boot-delay',
      bootDelay,
      '--shutdown-delay',
      '200ms',
      '--logLevel',
      'debug',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_ACCESS_KEY_ID: KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET,
      },
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!/Mesos master: (\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`toil localcloud did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    ec2Url: /EC2 endpoint: (\S+)/.exec(out)![1]!,
    mesosUrl: /Mesos master: (\S+)/.exec(out)![1]!,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test(
  'launch-cluster -w 2 against toil localcloud gives a leader and two Mesos agents; destroy-cluster removes everything, twice',
  async (t) => {
    // Boots that take 2 s: at the default 300 ms, launch-cluster's first look at a busy machine
    // can come after the leader already runs, and the progress while it boots is not seen.
    const cloud = await startLocalCloud('2s');
    t.teardown(() => cloud.stop());
    const ec2 = testEc2Client(cloud.ec2Url);
    await ec2.send(
      new ImportKeyPairCommand({
        KeyName: 'e2e',
        PublicKeyMaterial: Buffer.from(
          'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e',
        ),
      }),
    );
    const env = {
      AWS_ENDPOINT_URL_EC2: cloud.ec2Url,
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      TOIL_APPLIANCE_SELF: 'quay.io/ucsc_cgl/toil:9.1.0',
    };
    const instancesOf = async (cluster: string): Promise<Instance[]> =>
      (
        (
          await ec2.send(
            new DescribeInstancesCommand({ Filters: [{ Name: 'tag:clusterName', Values: [cluster] }] }),
          )
        ).Reservations ?? []
      ).flatMap((r) => r.Instances ?? []);

    const launch = await runToil(
      [
        'launch-cluster',
        'lc',
        '--nodeType',
        't2.medium',
        '--keyPairName',
        'e2e',
        '-w',
        '2',
        '--zone',
        'us-west-2a',
        '--sshCidr',
        '127.0.0.1/32',
        '-t',
        'team=e2e',
        '--logLevel',
        'debug',
      ],
      env,
    );
    t.equal(launch.code, 0, launch.stderr);
    t.match(launch.stdout, /security group sg-\w+ \(lc\) created/);
    t.match(launch.stdout, /leader i-\w+: pending/, 'progress shown while the leader boots');
    t.match(launch.stdout, /2 worker\(s\) running/);

    const instances = await instancesOf('lc');
    t.equal(instances.length, 3);
    const leader = instances.find((i) =>
      i.Tags?.some((x) => x.Key === 'ToilNodeType' && x.Value === 'leader'),
    )!;
    const workers = instances.filter((i) => i !== leader);
    t.ok(leader, 'one leader');
    for (const i of instances) {
      t.equal(i.State?.Name, 'running');
      t.equal(i.MetadataOptions?.HttpTokens, 'required', `${i.InstanceId} requires IMDSv2`);
      t.equal(i.MetadataOptions?.HttpPutResponseHopLimit, 3);
      const tags = Object.fromEntries((i.Tags ?? []).map((x) => [x.Key, x.Value]));
      t.same([tags.Name, tags.Owner, tags.clusterName, tags.team], ['lc', 'e2e', 'lc', 'e2e']);
      t.equal(
        tags['toil-static-worker'],
        i === leader ? undefined : 'launch-cluster',
        `${i.InstanceId}: a worker is marked as the cluster's static capacity, the leader is not`,
      );
    }

    const agents = await until('two agents', async () => {
      const state = (await (await fetch(`${cloud.mesosUrl}/master/state`)).json()) as {
        slaves: {
          hostname: string;
          attributes: Record<string, unknown>;
          resources: { cpus: number; mem: number };
        }[];
      };
      return state.slaves.length >= 2 ? state.slaves : undefined;
    });
    t.equal(agents.length, 2, 'exactly two agents registered');
    t.same(
      agents.map((a) => a.hostname).sort(),
      workers.map((w) => w.PrivateIpAddress).sort(),
      'each agent reports its instance private address',
    );
    for (const a of agents) {
      t.same(String(a.attributes.preemptable), 'false', 'on-demand workers are not preemptable');
      t.same([a.resources.cpus, a.resources.mem], [2, 4096], "t2.medium's shape");
    }

    const group = (
      await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['lc'] }] }))
    ).SecurityGroups![0]!;
    const ssh = group.IpPermissions!.find((p) => p.FromPort === 22)!;
    t.same(
      ssh.IpRanges!.map((r) => r.CidrIp),
      ['127.0.0.1/32'],
      'SSH only from --sshCidr',
    );
    t.notOk(
      group.IpPermissions!.some((p) => p.IpRanges?.some((r) => r.CidrIp === '0.0.0.0/0')),
      'nothing open to the world',
    );
    t.ok(
      group.IpPermissions!.some(
        (p) => p.IpProtocol === '-1' && p.UserIdGroupPairs?.[0]?.GroupId === group.GroupId,
      ),
      'all traffic within the group',
    );

    // No credential in user data (read as the instance reads it) or in any log.
    for (const i of instances) {
      const base = `${cloud.ec2Url}/imds/${i.InstanceId}/latest`;
      const token = await (
        await fetch(`${base}/api/token`, {
          method: 'PUT',
          headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
        })
      ).text();
      const userData = await (
        await fetch(`${base}/user-data`, { headers: { 'x-aws-ec2-metadata-token': token } })
      ).text();
      t.match(userData, /"ignition":\{"version":"2\.2\.0"\}/);
      t.match(userData, /quay\.io\/ucsc_cgl\/toil:9\.1\.0/, 'the appliance image from TOIL_APPLIANCE_SELF');
      t.notOk(
        userData.includes(SECRET) || userData.includes(KEY_ID) || /AWS_SECRET|AWS_ACCESS_KEY/.test(userData),
        `${i.InstanceId}: no credential in user data`,
      );
    }
    const state = (await (await fetch(`${cloud.ec2Url}/_localcloud/state`)).json()) as {
      instances: { instanceId: string; agentPid?: number }[];
    };
    const pids = state.instances.map((i) => i.agentPid).filter((p): p is number => p !== undefined);
    t.equal(pids.length, 2, 'two agent processes');

    const destroy = await runToil(['destroy-cluster', 'lc', '--zone', 'us-west-2a'], env);
    t.equal(destroy.code, 0, destroy.stderr);
    t.match(
      destroy.stdout,
      /terminating leader i-\w+[\s\S]*terminating 2 worker\(s\)[\s\S]*deleting security group/,
      'leader first, then workers, then the group',
    );
    t.ok(
      (await instancesOf('lc')).every((i) => i.State?.Name === 'terminated'),
      'every instance terminated',
    );
    t.same(
      (
        await ec2.send(
          new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['lc'] }] }),
        )
      ).SecurityGroups,
      [],
      'no security group left',
    );
    await until(
      'agent processes to exit',
      async () => (pids.every((p) => !alive(p)) ? true : undefined),
      10_000,
    );
    t.pass('the agents of terminated instances were killed');

    const again = await runToil(['destroy-cluster', 'lc', '--zone', 'us-west-2a'], env);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /nothing left of cluster 'lc'/);

    for (const text of [launch.stdout, launch.stderr, destroy.stdout, destroy.stderr, cloud.output()])
      t.notOk(text.includes(SECRET), 'no secret key in any output or log');
    t.ok(launch.stderr.length > 0, 'debug logging was on, so the scan read real log lines');
  },
);

t.test(
  'a spot worker is a preemptable agent, and destroy-cluster copes with a stopped leader and cancels spot requests',
  async (t) => {
    const cloud = await startLocalCloud();
    t.teardown(() => cloud.stop());
    const ec2 = testEc2Client(cloud.ec2Url);
    await ec2.send(
      new ImportKeyPairCommand({
        KeyName: 'e2e',
        PublicKeyMaterial: Buffer.from(
          'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e',
        ),
      }),
    );
    const env = { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_AWS_ZONE: 'us-west-2b' };
    const launch = await runToil(
      [
        'launch-cluster',
        'sp',
        '--leaderNodeType',
        't2.medium',
        '--nodeTypes',
        'c5.large:0.2',
        '-w',
        '1',
        '--keyPairName',
        'e2e',
      ],
      env,
    );
    t.equal(launch.code, 0, launch.stderr);
    t.match(launch.stdout, /1 spot c5\.large worker\(s\) launched/);
    const agents = await until('the spot agent', async () => {
      const s = (await (await fetch(`${cloud.mesosUrl}/master/state`)).json()) as {
        slaves: { attributes: Record<string, unknown> }[];
      };
      return s.slaves.length >= 1 ? s.slaves : undefined;
    });
    t.equal(String(agents[0]!.attributes.preemptable), 'true', 'the spot worker says preemptable:true');
    const all = (
      (
        await ec2.send(
          new DescribeInstancesCommand({ Filters: [{ Name: 'tag:clusterName', Values: ['sp'] }] }),
        )
      ).Reservations ?? []
    ).flatMap((r) => r.Instances ?? []);
    const leader = all.find((i) => i.InstanceLifecycle !== 'spot')!;
    t.equal(
      (await fetch(`${cloud.ec2Url}/_localcloud/stop/${leader.InstanceId}`, { method: 'POST' })).status,
      200,
    );
    const openBefore = await ec2.send(
      new DescribeSpotInstanceRequestsCommand({
        Filters: [
          { Name: 'tag:clusterName', Values: ['sp'] },
          { Name: 'state', Values: ['open', 'active'] },
        ],
      }),
    );
    t.equal(openBefore.SpotInstanceRequests!.length, 1, 'one active spot request before destroy');

    const destroy = await runToil(['destroy-cluster', 'sp'], env);
    t.equal(destroy.code, 0, destroy.stderr);
    t.match(destroy.stdout, /terminating leader i-\w+ \(stopped\)/);
    t.match(destroy.stdout, /cancelling 1 spot request/);
    const after = (
      (
        await ec2.send(
          new DescribeInstancesCommand({ Filters: [{ Name: 'tag:clusterName', Values: ['sp'] }] }),
        )
      ).Reservations ?? []
    ).flatMap((r) => r.Instances ?? []);
    t.same(
      after.map((i) => i.State?.Name),
      ['terminated', 'terminated'],
    );
    const openAfter = await ec2.send(
      new DescribeSpotInstanceRequestsCommand({
        Filters: [
          { Name: 'tag:clusterName', Values: ['sp'] },
          { Name: 'state', Values: ['open', 'active'] },
        ],
      }),
    );
    t.same(openAfter.SpotInstanceRequests, [], 'no open spot request left');
    t.same(
      (
        await ec2.send(
          new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['sp'] }] }),
        )
      ).SecurityGroups,
      [],
    );
  },
);
