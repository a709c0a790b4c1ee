import t, { type Test } from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { RealClock } from '../../src/common/clock.js';
import { UserInputError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { destroyCluster } from '../../src/provisioner/cluster/destroyCluster.js';
import { launchCluster, type LaunchClusterOptions } from '../../src/provisioner/cluster/launchCluster.js';
import { parseLeaderConfig } from '../../src/leader/leaderConfig.js';
import type { IgnitionConfig } from '../../src/provisioner/aws/userData.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import {
  importTestKeyPair,
  localClusterSettings,
  startTestEndpoint,
  testCalls,
  testEc2Client,
} from '../fixtures/ec2Local.js';

const { TerminateInstancesCommand } = ec2Sdk();

const base: LaunchClusterOptions = {
  clusterName: 'life',
  zone: 'us-west-2a',
  zoneSource: '--zone',
  leaderNodeType: 't2.medium',
  nodeTypes: [
    { instanceType: 'm5.large', market: 'on-demand' },
    { instanceType: 'c5.large', market: 'spot', bid: 0.2 },
  ],
  workers: [3, 2],
  keyPairName: 'k',
  owner: 'me',
  tags: { team: 'x' },
  leaderStorageGiB: 80,
  nodeStorageGiB: 30,
  applianceImage: 'quay.io/ucsc_cgl/toil:1.0.0',
  waitTimeoutMs: 10_000,
  pollMs: 20,
};

/** A local EC2 endpoint (stopped when the test ends) with the key pair 'k' imported. */
async function endpointWithKeyPair(
  t: Test,
  timing: { bootDelayMs: number; shutdownDelayMs: number },
): Promise<{
  endpoint: Awaited<ReturnType<typeof startTestEndpoint>>;
  client: ReturnType<typeof testEc2Client>;
}> {
  const endpoint = await startTestEndpoint(timing);
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  await importTestKeyPair(client, 'k');
  return { endpoint, client };
}

t.test(
  'launch-cluster tops up partial launches, reports missing capacity, refuses a second cluster of the name; destroy is idempotent',
  async (t) => {
    const { endpoint, client } = await endpointWithKeyPair(t, { bootDelayMs: 50, shutdownDelayMs: 30 });
    const deps = { calls: testCalls(client), clock: new RealClock(), log: silentLogger() };
    // Only two m5.large to be had (the top-up attempt is refused); no spot c5.large at all.
    endpoint.faults.limitCapacity({ instanceType: 'm5.large', remaining: 2 });
    endpoint.faults.refuseCapacity({ instanceType: 'c5.large', market: 'spot' });
    const lines: string[] = [];
    const launched = launchCluster(base, { ...deps, progress: (l) => lines.push(l) });
    // Capacity for the third m5.large appears while the first launch is being answered.
    await new Promise((r) => setTimeout(r, 5));
    const cluster = await launched;
    t.equal(cluster.leader.state, 'running');
    t.equal(cluster.leader.role, 'leader');
    t.equal(
      endpoint.cloud.instances.get(cluster.leader.instanceId)!.rootVolumeGiB,
      80,
      '--leaderStorage sizes the root volume',
    );
    // The leader's daemon is told to scale the worker types launch-cluster was given.
    const ignition = JSON.parse(
      Buffer.from(endpoint.cloud.instances.get(cluster.leader.instanceId)!.userData!, 'base64').toString(),
    ) as IgnitionConfig;
    const leaderYaml = ignition.storage.files.find((f) => f.path === '/etc/toil/leader.yaml')!;
    const leaderConfig = parseLeaderConfig(
      decodeURIComponent(leaderYaml.contents.source.replace(/^data:,/, '')),
      await readCatalogue(),
    );
    t.same(
      leaderConfig.scaler.nodeTypes.map((n) => n.label),
      ['m5.large', 'c5.large:0.2'],
      "the leader's config names the cluster's worker types",
    );
    // What the daemon launches and what it plans with are the same --nodeStorage (it used to
    // launch the default 50 GiB and plan with 50, whatever launch-cluster was given).
    t.equal(leaderConfig.provisioner.kind === 'aws' && leaderConfig.provisioner.nodeStorageGiB, 30);
    t.same(
      leaderConfig.scaler.nodeTypes.flatMap((n) => n.instanceTypes.map((i) => i.diskBytes / 2 ** 30)),
      [30, 30],
      "the daemon's scaler plans workers with --nodeStorage's disk",
    );
    t.same(
      cluster.workers.map((w) => w.instanceType),
      ['m5.large', 'm5.large'],
    );
    t.ok(
      cluster.workers.every((w) => endpoint.cloud.instances.get(w.instanceId)!.rootVolumeGiB === 30),
      '--nodeStorage sizes workers',
    );
    t.ok(
      lines.includes(
        'no --sshCidr given: SSH to the cluster stays closed (pass --sshCidr YOUR.IP/32 to open it)',
      ),
    );
    t.ok(
      lines.includes('no on-demand capacity for m5.large in us-west-2a: 2 of 3 launched'),
      lines.join('\n'),
    );
    t.ok(lines.includes('no spot capacity for c5.large in us-west-2a: 0 of 2 launched'));
    const group = [...endpoint.cloud.securityGroups.values()].find((g) => g.name === 'life')!;
    t.same(
      group.ingress.map((r) => [r.protocol, r.sourceGroupId === group.id, r.fromPort]),
      [['-1', true, undefined]],
      'no SSH rule without --sshCidr',
    );

    const again = await launchCluster(base, { ...deps, progress: () => {} }).catch((e: unknown) => e);
    t.ok(again instanceof UserInputError);
    t.match((again as Error).message, /cluster 'life' already exists \(3 instance\(s\)\); destroy it first/);

    // A name with nothing of it is nothing to destroy (a launch that removed all it made looks the
    // same), said naming the clusters there, so a typo shows.
    const typoLines: string[] = [];
    const typo = await destroyCluster(
      'lief',
      { ...deps, progress: (l) => typoLines.push(l) },
      { timeoutMs: 10_000, pollMs: 20 },
    );
    t.same(typo.terminated, [], 'the typo terminated nothing');
    t.same(typoLines, [
      "nothing to destroy: nothing of cluster 'lief' is in this region (no instance, security group, IAM role or munge key of it, live or recently terminated); clusters here: life",
    ]);
    t.equal(
      [...endpoint.cloud.instances.values()].filter((i) => i.state === 'running').length,
      3,
      'the typo terminated nothing',
    );

    const destroyed = await destroyCluster(
      'life',
      { ...deps, progress: () => {} },
      { timeoutMs: 10_000, pollMs: 20 },
    );
    t.equal(destroyed.terminated.length, 3);
    t.same(destroyed.securityGroupsDeleted, [group.id]);
    t.ok([...endpoint.cloud.instances.values()].every((i) => i.state === 'terminated'));
    const twice = await destroyCluster(
      'life',
      { ...deps, progress: () => {} },
      { timeoutMs: 10_000, pollMs: 20 },
    );
    t.same(twice, {
      terminated: [],
      spotRequestsCancelled: [],
      securityGroupsDeleted: [],
      iamRemoved: [],
      parametersDeleted: [],
    });
    const progressLines: string[] = [];
    await destroyCluster(
      'life',
      { ...deps, progress: (l) => progressLines.push(l) },
      { timeoutMs: 10_000, pollMs: 20 },
    );
    t.same(progressLines, ["nothing left of cluster 'life': already destroyed (3 instance(s) terminated)"]);
    const noneLines: string[] = [];
    await destroyCluster(
      'lief',
      { ...deps, progress: (l) => noneLines.push(l) },
      { timeoutMs: 10_000, pollMs: 20 },
    );
    t.match(noneLines.join('\n'), /clusters here: none$/, 'no live cluster left in the region');
  },
);

t.test(
  'a spot bid below the spot price is named as such, with the fix, not as missing capacity',
  async (t) => {
    const { client } = await endpointWithKeyPair(t, { bootDelayMs: 0, shutdownDelayMs: 0 });
    const lines: string[] = [];
    const cluster = await launchCluster(
      {
        ...base,
        clusterName: 'lowbid',
        nodeTypes: [{ instanceType: 'c5.large', market: 'spot', bid: 0.001 }],
        workers: [2],
      },
      {
        calls: testCalls(client),
        clock: new RealClock(),
        log: silentLogger(),
        progress: (l) => lines.push(l),
      },
    );
    t.equal(cluster.workers.length, 0);
    t.ok(
      lines.some((l) =>
        /^spot c5\.large in us-west-2a: the bid \$0\.001\/h is below the spot price \(.*SpotMaxPriceTooLow.*\): 0 of 2 launched; raise the bid \(--nodeTypes c5\.large:BID\) or drop it for on-demand$/.test(
          l,
        ),
      ),
      lines.join('\n'),
    );
    t.notOk(
      lines.some((l) => l.startsWith('no spot capacity')),
      'not reported as missing capacity',
    );
  },
);

t.test(
  'destroy-cluster also ends the workers a leader still running elsewhere launches while the cluster is destroyed',
  async (t) => {
    const { endpoint, client } = await endpointWithKeyPair(t, { bootDelayMs: 0, shutdownDelayMs: 200 });
    const deps = { calls: testCalls(client), clock: new RealClock(), log: silentLogger() };
    const name = 'racing';
    await launchCluster(
      { ...base, clusterName: name, nodeTypes: [{ instanceType: 'c5.large', market: 'spot' }], workers: [1] },
      { ...deps, progress: () => {} },
    );
    // A `toil run --provisioner aws` on another machine: it knew the leader and the group before the
    // destroy began, and launches a replacement while the cluster's workers are terminating.
    const elsewhere = new AwsProvisioner({
      calls: testCalls(client),
      settings: localClusterSettings(name),
      clock: new RealClock(),
      log: silentLogger(),
    });
    await elsewhere.leaderPrivateIp();
    let late: string[] = [];
    const lines: string[] = [];
    const destroyed = await destroyCluster(
      name,
      {
        ...deps,
        progress: (l) => {
          lines.push(l);
          if (l.startsWith('terminating 1 worker'))
            void elsewhere
              .launch({
                offering: { instanceType: 'c5.large', zone: 'us-west-2a', market: 'spot' },
                count: 1,
                clientToken: 'late-worker',
              })
              .then((r) => (late = r.nodes.map((n) => n.instanceId)));
        },
      },
      { timeoutMs: 3000, pollMs: 20 },
    );
    t.equal(late.length, 1, 'a worker was launched during the destroy');
    t.ok(destroyed.terminated.includes(late[0]!), 'and terminated by it');
    t.same(
      [...endpoint.cloud.instances.values()].filter((i) => i.state !== 'terminated').map((i) => i.id),
      [],
      'nothing of the cluster left running',
    );
    t.equal(destroyed.securityGroupsDeleted.length, 1, 'the group deleted');
    t.ok(
      lines.some((l) =>
        l.startsWith(`terminating 1 worker(s) launched while the cluster was destroyed: ${late[0]}`),
      ),
      lines.join('\n'),
    );
    t.same(
      [...endpoint.cloud.spotRequests.values()].filter((r) => r.state === 'open' || r.state === 'active'),
      [],
      'no spot request left open',
    );
  },
);

t.test(
  'launch-cluster whose leader is terminated while it waits says so at once, not at its deadline',
  async (t) => {
    const { client } = await endpointWithKeyPair(t, { bootDelayMs: 500, shutdownDelayMs: 0 });
    const deps = { calls: testCalls(client), clock: new RealClock(), log: silentLogger() };
    const started = Date.now();
    const failed = await launchCluster(
      { ...base, clusterName: 'gone', workers: [], waitTimeoutMs: 20_000 },
      {
        ...deps,
        progress: (l) => {
          const id = /^leader (i-\w+) \(t2\.medium\) launched; waiting for it to run$/.exec(l)?.[1];
          // As a toil destroy-cluster run meanwhile does.
          if (id)
            void deps.calls.call('TerminateInstances', (c) =>
              c.send(new TerminateInstancesCommand({ InstanceIds: [id] })),
            );
        },
      },
    ).catch((e: unknown) => e);
    t.match(
      (failed as Error).message,
      /instance\(s\) i-\w+ of cluster 'gone' terminated while waiting for running: someone else ended them \(a toil destroy-cluster meanwhile/,
    );
    t.ok(Date.now() - started < 10_000, 'at once, not after the 20 s wait');
  },
);

t.test(
  'two launches of one name at once: the first leader keeps it, the other terminates its own and is refused',
  async (t) => {
    const { endpoint, client } = await endpointWithKeyPair(t, { bootDelayMs: 50, shutdownDelayMs: 0 });
    const deps = {
      calls: testCalls(client),
      clock: new RealClock(),
      log: silentLogger(),
      progress: () => {},
    };
    const options: LaunchClusterOptions = {
      ...base,
      clusterName: 'race',
      nodeTypes: [{ instanceType: 'm5.large', market: 'on-demand' }],
      workers: [1],
    };
    // Both find the name free before either has launched its leader.
    const results = await Promise.allSettled([launchCluster(options, deps), launchCluster(options, deps)]);
    const kept = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    t.equal(kept.length, 1, 'one launch keeps the cluster');
    t.equal(refused.length, 1, 'the other is refused');
    const error = refused[0]!.reason as UserInputError;
    t.equal(error.code, 'CLUSTER_EXISTS');
    const winner = kept[0]!.value;
    t.match(
      error.message,
      new RegExp(
        `^cluster 'race' was launched at the same time by another launch-cluster, whose leader ${winner.leader.instanceId} came first and keeps it; this launch terminated its own leader i-`,
      ),
    );
    const live = [...endpoint.cloud.instances.values()].filter(
      (i) => i.tags.get('clusterName') === 'race' && i.state !== 'terminated' && i.state !== 'shutting-down',
    );
    t.same(
      live.map((i) => i.id).sort(),
      [winner.leader.instanceId, ...winner.workers.map((w) => w.instanceId)].sort(),
      "only the kept cluster's leader and worker are left",
    );
    t.equal(winner.workers.length, 1);
    t.equal(
      [...endpoint.cloud.securityGroups.values()].filter((g) => g.name === 'race').length,
      1,
      'one security group holds the name, the kept cluster uses it',
    );
  },
);

t.test(
  'a security group left by an earlier cluster of the name gets the cluster rules when reused',
  async (t) => {
    const { endpoint, client } = await endpointWithKeyPair(t, { bootDelayMs: 0, shutdownDelayMs: 0 });
    const { CreateSecurityGroupCommand } = ec2Sdk();
    // Tagged as launch-cluster tags its groups: an untagged one of the name is someone else's.
    const left = await client.send(
      new CreateSecurityGroupCommand({
        GroupName: 'leftover',
        Description: 'old',
        TagSpecifications: [
          { ResourceType: 'security-group', Tags: [{ Key: 'clusterName', Value: 'leftover' }] },
        ],
      }),
    );
    const lines: string[] = [];
    await launchCluster(
      { ...base, clusterName: 'leftover', nodeTypes: [], workers: [], sshCidr: '203.0.113.7/32' },
      {
        calls: testCalls(client),
        clock: new RealClock(),
        log: silentLogger(),
        progress: (l) => lines.push(l),
      },
    );
    t.ok(lines.includes(`security group ${left.GroupId} (leftover) reused`), lines.join('\n'));
    const rules = endpoint.cloud.securityGroups.get(left.GroupId!)!.ingress;
    t.ok(
      rules.some(
        (r) => r.protocol === 'tcp' && r.fromPort === 22 && r.toPort === 22 && r.cidr === '203.0.113.7/32',
      ),
      'ssh from --sshCidr',
    );
    t.ok(
      rules.some((r) => r.protocol === '-1' && r.sourceGroupId === left.GroupId),
      'all traffic within the cluster',
    );
    t.equal(rules.length, 2, JSON.stringify(rules));
  },
);

t.test('launch-cluster refuses arm64 types before anything is made, naming the flag', async (t) => {
  const { endpoint, client } = await endpointWithKeyPair(t, { bootDelayMs: 0, shutdownDelayMs: 0 });
  const deps = { calls: testCalls(client), clock: new RealClock(), log: silentLogger(), progress: () => {} };
  const rows: [what: string, options: Partial<LaunchClusterOptions>, flag: string, type: string][] = [
    [
      'a worker type',
      { nodeTypes: [{ instanceType: 'c6g.large', market: 'on-demand' }], workers: [1] },
      '--nodeTypes',
      'c6g.large',
    ],
    [
      'the leader type',
      { leaderNodeType: 'm6g.large', nodeTypes: [], workers: [] },
      '--leaderNodeType',
      'm6g.large',
    ],
  ];
  for (const [what, options, flag, type] of rows)
    await t.rejects(
      launchCluster({ ...base, clusterName: 'graviton', ...options }, deps),
      {
        code: 'BAD_NODE_TYPES',
        message: `${flag}: ${type} is an arm64 instance type: the nodes boot an x86_64 image and a Mesos cluster runs on amd64 only, as in Toil; choose an x86_64 type (c5, m5, r5, t3 …)`,
      },
      what,
    );
  t.equal(endpoint.cloud.instances.size, 0, 'no instance launched');
  t.equal(
    [...endpoint.cloud.securityGroups.values()].filter((g) => g.name === 'graviton').length,
    0,
    'no security group made',
  );
});
