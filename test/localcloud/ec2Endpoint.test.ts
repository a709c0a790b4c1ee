import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { CliAgentLauncher } from '../../src/localcloud/ec2/agents.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startEc2Endpoint, type Ec2Endpoint } from '../../src/localcloud/ec2/index.js';
import { parseNodeUserData, splitCommandLine } from '../../src/localcloud/ec2/nodeUserData.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { buildUserData } from '../../src/provisioner/aws/userData.js';
import { createClusterGroup, localClusterSettings, testCalls, testEc2Client } from '../fixtures/ec2Local.js';

const { RunInstancesCommand, DescribeInstancesCommand, DeleteSecurityGroupCommand } = ec2Sdk();

/** A real process that stands in for the agent binary: it lives until killed. */
const SLEEPER = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((x) => x !== '');
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e as Error,
  );
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function manualEndpoint(
  clock: ManualClock,
  extra: { mesosMaster?: string } = {},
): Promise<Ec2Endpoint> {
  return startEc2Endpoint({
    clock,
    log: silentLogger(),
    bootDelayMs: 30_000,
    shutdownDelayMs: 5_000,
    tickMs: 1000,
    launcher: new CliAgentLauncher({ log: silentLogger(), command: SLEEPER }),
    ...extra,
  });
}

t.test(
  'errors are EC2-shaped: status ≥ 400, <Response><Errors><Error><Code>, and a request id header',
  async (t) => {
    const endpoint = await startEc2Endpoint({ clock: new ManualClock(), log: silentLogger() });
    t.teardown(() => endpoint.stop());
    const res = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0',
    });
    t.equal(res.status, 400);
    t.match(res.headers.get('x-amzn-requestid'), /^[0-9a-f-]{36}$/);
    const body = await res.text();
    t.match(
      body,
      /<Response><Errors><Error><Code>InvalidInstanceID\.NotFound<\/Code><Message>The instance ID 'i-0123456789abcdef0' does not exist<\/Message><\/Error><\/Errors><RequestID>/,
    );
    const unknown = await fetch(endpoint.url, {
      method: 'POST',
      body: 'Action=LaunchRockets&Version=2016-11-15',
    });
    t.equal(unknown.status, 400);
    t.match(await unknown.text(), /<Code>InvalidAction<\/Code>/);
    const badFilter = await rejection(
      testEc2Client(endpoint.url).send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }),
      ),
    );
    t.equal(badFilter.name, 'InvalidParameterValue');
    const badPage = await rejection(
      testEc2Client(endpoint.url).send(new DescribeInstancesCommand({ MaxResults: 3 })),
    );
    t.equal(badPage.name, 'InvalidParameterValue', 'MaxResults below 5 is refused, as EC2 does');
  },
);

t.test(
  "instances boot after the boot delay on the injected clock, and a running worker becomes a process with its type's resources",
  async (t) => {
    const clock = new ManualClock();
    const endpoint = await manualEndpoint(clock, { mesosMaster: '127.0.0.1:5999' });
    t.teardown(() => endpoint.stop());
    const calls = testCalls(testEc2Client(endpoint.url));
    await createClusterGroup(calls, 'boot', 'us-west-2a');
    const p = new AwsProvisioner({
      calls,
      clock,
      log: silentLogger(),
      settings: localClusterSettings('boot'),
    });
    const leader = (
      await p.launch({
        offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
        count: 1,
        clientToken: 'l',
        role: 'leader',
      })
    ).nodes[0]!;
    const spot = (
      await p.launch({
        offering: { instanceType: 'r5.large', zone: 'us-west-2a', market: 'spot' },
        count: 1,
        clientToken: 's',
      })
    ).nodes[0]!;
    const od = (
      await p.launch({
        offering: { instanceType: 'c5.xlarge', zone: 'us-west-2a', market: 'on-demand', rootVolumeGiB: 40 },
        count: 1,
        clientToken: 'o',
      })
    ).nodes[0]!;
    t.same(
      (await p.listNodes()).map((n) => n.state),
      ['pending', 'pending', 'pending'],
    );
    await clock.advance(29_000);
    t.same(
      (await p.listNodes()).map((n) => n.state),
      ['pending', 'pending', 'pending'],
      'still pending before the boot delay',
    );
    t.equal(endpoint.cloud.instances.get(spot.instanceId)!.process, undefined, 'no process before running');
    await clock.advance(1_000);
    t.same(
      (await p.listNodes()).map((n) => n.state),
      ['running', 'running', 'running'],
    );
    t.equal(
      endpoint.cloud.instances.get(leader.instanceId)!.process,
      undefined,
      'the leader starts no agent',
    );
    const spotPid = endpoint.cloud.instances.get(spot.instanceId)!.process!.pid!;
    const odPid = endpoint.cloud.instances.get(od.instanceId)!.process!.pid!;
    t.ok(alive(spotPid) && alive(odPid), 'both workers are live processes');
    const spotArgs = cmdline(spotPid);
    t.same(
      spotArgs.slice(-4, -2),
      ['--exit-with', String(process.pid)],
      'it stops once its local cloud is gone',
    );
    t.same(spotArgs.slice(-16, -8), [
      'localcloud',
      'agent',
      '--master',
      '127.0.0.1:5999',
      '--resources',
      'cpus:2;mem:16384;disk:20480',
      '--attributes',
      'preemptable:true',
    ]);
    t.same(cmdline(odPid).slice(-10, -8), ['--attributes', 'preemptable:false']);
    t.same(cmdline(odPid).slice(-8, -6), [
      '--hostname',
      endpoint.cloud.instances.get(od.instanceId)!.privateIp,
    ]);
    // The instance's disk: a temp dir of its own holding the agent's work dir, gone with it.
    const [workFlag, odWorkDir] = cmdline(odPid).slice(-2);
    t.equal(workFlag, '--work-dir');
    const odDisk = dirname(odWorkDir!);
    t.match(basename(odDisk), new RegExp(`^toil-localcloud-${od.instanceId}-`), 'its own temp dir');
    t.ok(existsSync(odDisk), 'made before the agent starts');
    const odEnv = readFileSync(`/proc/${odPid}/environ`, 'utf8').split('\0');
    t.ok(odEnv.includes(`TMPDIR=${join(odDisk, 'tmp')}`), "its jobs' temp dir is on it");
    t.match(
      cmdline(odPid).join(' '),
      /cpus:4;mem:8192;disk:40960/,
      "the launch's rootVolumeGiB sizes its disk (the spot one, asking none, has the cluster's 20 GiB)",
    );
    const env = readFileSync(`/proc/${spotPid}/environ`, 'utf8').split('\0');
    const imds = env.find((v) => v.startsWith('AWS_EC2_METADATA_SERVICE_ENDPOINT='))?.split('=')[1] ?? '';
    t.match(imds, /^http:\/\/127\.0\.0\.1:\d+$/, 'the agent knows its own metadata endpoint');
    const imdsToken = await (
      await fetch(`${imds}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      })
    ).text();
    t.equal(
      await (
        await fetch(`${imds}/latest/meta-data/instance-id`, {
          headers: { 'x-aws-ec2-metadata-token': imdsToken },
        })
      ).text(),
      spot.instanceId,
      'which answers for its own instance',
    );

    await p.terminate([od.instanceId]);
    await until(() => !alive(odPid));
    t.pass('terminating an instance kills its agent process');
    await until(() => !existsSync(odDisk)).catch(() => undefined);
    t.notOk(existsSync(odDisk), "and removes its disk (the agent's work dir and temp dir)");
    t.equal(
      (await p.listNodes({ includeTerminated: true })).find((n) => n.instanceId === od.instanceId)?.state,
      'shutting-down',
    );
    await clock.advance(5_000);
    t.equal(
      (await p.listNodes({ includeTerminated: true })).find((n) => n.instanceId === od.instanceId)?.state,
      'terminated',
    );
  },
);

t.test(
  'the metadata service requires IMDSv2 tokens and announces a spot interruption two minutes ahead',
  async (t) => {
    const clock = new ManualClock();
    const endpoint = await manualEndpoint(clock, { mesosMaster: '127.0.0.1:5999' });
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    const userData = buildUserData({
      role: 'worker',
      clusterName: 'imds',
      applianceImage: 'img:1',
      zone: 'us-west-2a',
      leaderPrivateIp: '10.9.9.9',
      preemptable: true,
      tags: {},
    });
    const r = await ec2.send(
      new RunInstancesCommand({
        ImageId: LOCAL_IMAGE.imageId,
        InstanceType: 'm5.large',
        MinCount: 1,
        MaxCount: 1,
        UserData: userData,
        MetadataOptions: { HttpTokens: 'required' },
        InstanceMarketOptions: { MarketType: 'spot' },
      }),
    );
    const id = r.Instances![0]!.InstanceId!;
    await clock.advance(30_000);
    const base = `${endpoint.url}/imds/${id}/latest`;
    t.equal((await fetch(`${base}/meta-data/instance-id`)).status, 401, 'no token: refused');
    const token = await (
      await fetch(`${base}/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      })
    ).text();
    const get = (path: string): Promise<Response> =>
      fetch(`${base}${path}`, { headers: { 'x-aws-ec2-metadata-token': token } });
    t.equal(await (await get('/meta-data/instance-id')).text(), id);
    t.equal(await (await get('/meta-data/instance-life-cycle')).text(), 'spot');
    t.equal(await (await get('/meta-data/placement/availability-zone')).text(), 'us-west-2a');
    t.equal(
      parseNodeUserData(Buffer.from(await (await get('/user-data')).text()).toString('base64'))?.role,
      'worker',
    );
    t.equal((await get('/meta-data/spot/instance-action')).status, 404, 'no notice yet');
    t.equal((await get('/meta-data/events/recommendations/rebalance')).status, 404, 'no rebalance yet');
    const rebalanced = await fetch(`${endpoint.url}/_localcloud/rebalance/${id}`, { method: 'POST' });
    t.equal(rebalanced.status, 200, 'the control surface recommends a rebalance');
    t.same(
      await (await get('/meta-data/events/recommendations/rebalance')).json(),
      { noticeTime: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') },
      'the metadata shows it, as EC2 does',
    );
    t.equal((await get('/meta-data/spot/instance-action')).status, 404, 'a rebalance is no notice');
    const pid = endpoint.cloud.instances.get(id)!.process!.pid!;
    t.ok(alive(pid));

    const res = await fetch(`${endpoint.url}/_localcloud/spot-interruption/${id}`, { method: 'POST' });
    t.equal(res.status, 200, 'the control surface announces an interruption');
    const notice = (await (await get('/meta-data/spot/instance-action')).json()) as {
      action: string;
      time: string;
    };
    t.equal(notice.action, 'terminate');
    t.equal(Date.parse(notice.time), clock.now() + 120_000, 'two minutes of warning');
    await clock.advance(119_000);
    t.equal(
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!
        .State!.Name,
      'running',
      'still running during the notice',
    );
    await clock.advance(1_000);
    const after = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!
      .Instances![0]!;
    t.equal(after.State!.Name, 'shutting-down');
    t.equal(after.StateReason?.Code, 'Server.SpotInstanceTermination');
    await until(() => !alive(pid));
    t.pass("the interrupted instance's agent was killed");
    t.equal(
      (await fetch(`${endpoint.url}/_localcloud/spot-interruption/${id}`, { method: 'POST' })).status,
      200,
      'interrupting a reclaimed instance is a no-op',
    );
    t.equal(endpoint.faults.counts.interruptions, 1);
  },
);

t.test(
  'a security group in use cannot be deleted (DependencyViolation) until its instances are terminated',
  async (t) => {
    const clock = new ManualClock();
    const endpoint = await manualEndpoint(clock);
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    const groupId = await createClusterGroup(testCalls(ec2), 'dep', 'us-west-2a');
    const r = await ec2.send(
      new RunInstancesCommand({
        ImageId: LOCAL_IMAGE.imageId,
        InstanceType: 't2.micro',
        MinCount: 1,
        MaxCount: 1,
        SecurityGroupIds: [groupId],
      }),
    );
    const err = await rejection(ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })));
    t.equal(err.name, 'DependencyViolation');
    endpoint.cloud.terminateInstances([r.Instances![0]!.InstanceId!]);
    await clock.advance(5_000);
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    t.equal([...endpoint.cloud.securityGroups.values()].filter((g) => g.name === 'dep').length, 0);
  },
);

t.test('user data round-trips: what the provisioner writes is what a booting node reads', async (t) => {
  const tags = { Owner: 'a "quoted" owner', clusterName: 'c' };
  const spec = parseNodeUserData(
    buildUserData({
      role: 'worker',
      clusterName: 'c',
      applianceImage: 'reg.example/toil:9',
      zone: 'us-west-2a',
      leaderPrivateIp: '10.0.0.7',
      preemptable: false,
      tags,
    }),
  );
  t.same(spec?.role, 'worker');
  t.same(spec?.master, '10.0.0.7:5050');
  t.same(spec?.attributes, { preemptable: 'false' });
  t.same(spec?.image, 'reg.example/toil:9');
  const leader = parseNodeUserData(
    buildUserData({
      role: 'leader',
      clusterName: 'c',
      applianceImage: 'img',
      zone: 'us-west-2a',
      preemptable: false,
      tags,
    }),
  );
  t.same([leader?.role, leader?.args[0]], ['leader', 'mesos-master']);
  t.same(splitCommandLine('a "b c" "d\\"e" f'), ['a', 'b c', 'd"e', 'f']);
  t.equal(
    parseNodeUserData(Buffer.from('#!/bin/sh\necho hi').toString('base64')),
    undefined,
    'not Toil user data',
  );
});

t.test('a worker whose user data starts a slurmd starts no Mesos agent', async (t) => {
  const clock = new ManualClock();
  const endpoint = await manualEndpoint(clock, { mesosMaster: '127.0.0.1:5999' });
  t.teardown(() => endpoint.stop());
  const calls = testCalls(testEc2Client(endpoint.url));
  await createClusterGroup(calls, 'slurmish', 'us-west-2a');
  const p = new AwsProvisioner({
    calls,
    clock,
    log: silentLogger(),
    settings: localClusterSettings('slurmish', { clusterType: 'slurm' }),
  });
  const offering = { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' } as const;
  await p.launch({ offering, count: 1, clientToken: 'l', role: 'leader' });
  const [worker] = (await p.launch({ offering, count: 1, clientToken: 'w' })).nodes;
  await clock.advance(30_000);
  const inst = endpoint.cloud.instances.get(worker!.instanceId)!;
  t.equal(inst.state, 'running');
  t.equal(inst.process, undefined, 'no agent: its user data joins Slurm');
});
