import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { REBALANCE_RECOMMENDED_TAG, type ProvisionedNode } from '../../src/ports/provisioner.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { clusterIamNames, workerPolicy } from '../../src/provisioner/aws/iamPolicies.js';
import { ClusterView } from '../../src/scaler/tick/clusterView.js';
import { emptyTickState } from '../../src/scaler/tick/state.js';
import {
  createClusterGroup,
  localClusterSettings,
  startTestEndpoint,
  testCalls,
  testEc2Client,
} from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/workflowCli.js';

/**
 * The rebalance recommendation, end to end on the local cloud: nodes launched by the provisioner
 * with the cluster's instance profiles; each worker runs `toil rebalance-watch` as a process of
 * its own because its user data's unit says so (the local cloud reads nothing else); EC2
 * recommends rebalancing one worker (the control endpoint), its watch reads that from its own
 * metadata service and tags its instance through the EC2 endpoint with the worker role's
 * credentials, held to the worker policy; and the leader's reading of the cluster (listNodes,
 * then the scaler's ClusterView) shows that node, and only it, as rebalance-recommended.
 */
const CLUSTER = 'rebalance-e2e';
const ZONE = 'us-west-2a';
const names = clusterIamNames(CLUSTER);
const profile = (name: string): string => `arn:aws:iam::123456789012:instance-profile/${name}`;

t.test('a worker told to rebalance tags itself; the scaler sees it rebalance-recommended', async (t) => {
  const endpoint = await startTestEndpoint({
    nodeCommands: true,
    rolePolicies: (role) =>
      role === names.workerRole ? workerPolicy({ clusterName: CLUSTER, region: 'us-west-2' }) : undefined,
  });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  t.teardown(() => client.destroy());
  const calls = testCalls(client);
  await createClusterGroup(calls, CLUSTER, ZONE);
  const provisioner = new AwsProvisioner({
    calls,
    settings: localClusterSettings(CLUSTER, {
      instanceProfiles: { leader: profile(names.leaderProfile), worker: profile(names.workerProfile) },
    }),
    clock: new RealClock(),
    log: silentLogger(),
  });
  await provisioner.launch({
    offering: { instanceType: 't2.medium', zone: ZONE, market: 'on-demand' },
    count: 1,
    clientToken: 'leader',
    role: 'leader',
  });
  const { nodes } = await provisioner.launch({
    offering: { instanceType: 't2.medium', zone: ZONE, market: 'spot' },
    count: 2,
    clientToken: 'workers',
  });
  const [told, other] = nodes.map((n) => n.instanceId) as [string, string];

  // Each worker's watch is up once its instance runs (a process of the instance, not of this test).
  const watchOf = (id: string) => endpoint.cloud.instances.get(id)?.unitProcesses[0];
  for (let i = 0; i < 100 && !(watchOf(told)?.pid && watchOf(other)?.pid); i++) await sleep(50);
  t.ok(watchOf(told)?.pid && watchOf(other)?.pid, 'both workers run their watch');
  const leaderId = [...endpoint.cloud.instances.values()].find(
    (i) => i.tags.get('ToilNodeType') === 'leader',
  )!.id;
  t.same(endpoint.cloud.instances.get(leaderId)!.unitProcesses, [], 'the leader runs none');

  const answer = await fetch(`${endpoint.url}/_localcloud/rebalance/${told}`, { method: 'POST' });
  t.equal(answer.status, 200, 'the local cloud recommends rebalancing the worker');

  // The leader's reading: listNodes, as every tick does; the watch polls every 5 s.
  let workers: readonly ProvisionedNode[] = [];
  const tagged = (): ProvisionedNode | undefined =>
    workers.find((n) => n.instanceId === told && n.tags[REBALANCE_RECOMMENDED_TAG] !== undefined);
  for (let i = 0; i < 60 && !tagged(); i++) {
    await sleep(250);
    workers = await provisioner.listNodes({ role: 'worker' });
  }
  const rebalanceAt = endpoint.cloud.instances.get(told)!.rebalanceAt!;
  t.equal(
    tagged()?.tags[REBALANCE_RECOMMENDED_TAG],
    new Date(rebalanceAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'the worker tagged itself with the notice time',
  );
  t.equal(endpoint.stats.byAction.get('CreateTags'), 1, 'with one CreateTags');
  t.ok(
    (await credentialRequests(endpoint.url, told)) >= 1,
    "signed with the worker role's credentials from its instance metadata",
  );

  const view = new ClusterView(Date.now(), workers, { agents: [], queued: [], running: [] });
  const seen = view.snapshot(emptyTickState()).nodes;
  t.same(
    seen.filter((n) => n.rebalanceRecommended).map((n) => n.id),
    [told],
    "the scaler's view: that worker, and only it, rebalance-recommended",
  );
  t.ok(
    seen.some((n) => n.id === other),
    'the other worker is seen as well',
  );
});

t.test('toil rebalance-watch: --help says what it does; a bad interval is refused (exit 2)', async (t) => {
  const help = await runToil(['rebalance-watch', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: toil rebalance-watch/);
  t.match(help.stdout, /events\/recommendations\/rebalance/);
  t.match(help.stdout, /toil-rebalance-recommended/);
  for (const flag of ['--interval', '--max-backoff', '--region', '--logLevel']) t.match(help.stdout, flag);
  const bad = await runToil(['rebalance-watch', '--interval', '0']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--interval 0: expected a duration of at least 100 ms/);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function credentialRequests(url: string, id: string): Promise<number> {
  const s = (await (await fetch(`${url}/_localcloud/state`)).json()) as {
    instances: { instanceId: string; roleCredentialRequests: number }[];
  };
  return s.instances.find((i) => i.instanceId === id)?.roleCredentialRequests ?? -1;
}
