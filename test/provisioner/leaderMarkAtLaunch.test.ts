import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { silentLogger } from '../../src/common/log.js';
import { ManualClock } from '../../src/common/clock.js';
import { readHeartbeat } from '../../src/ports/leaderHeartbeat.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { clusterIamNames, leaderPolicy, type PolicyDocument } from '../../src/provisioner/aws/iamPolicies.js';
import {
  createClusterGroup,
  localClusterSettings,
  roleKeys,
  startTestEndpoint,
  testCalls,
  testEc2Client,
} from '../fixtures/ec2Local.js';

const { EC2Client } = ec2Sdk();

/**
 * The leader's mark at launch, on the local EC2 endpoint through the real SDK, signed with the
 * leader instance's role credentials and judged by the role's policy as IAM would: the dry run
 * that tells a leader it may write its heartbeat says yes under launch-cluster's leader policy
 * and no under a policy from before the heartbeat (and writes nothing either way); a launch given
 * the mark carries it in its own tags.
 */
const CLUSTER = 'markcheck';
const names = clusterIamNames(CLUSTER);
const profileArn = (name: string) => `arn:aws:iam::123456789012:instance-profile/${name}`;
const current = leaderPolicy({
  clusterName: CLUSTER,
  region: 'us-west-2',
  workerRoleArn: `arn:aws:iam::123456789012:role/${names.workerRole}`,
});
/** The leader policy of a cluster made before the heartbeat: no CreateTags of the mark. */
const beforeHeartbeat: PolicyDocument = {
  ...current,
  Statement: current.Statement.filter((s) => s.Sid !== 'LeaderHeartbeat'),
};

t.test("a leader's dry run of its mark, and a launch that carries it, under its role's policy", async (t) => {
  let policy = current;
  const endpoint = await startTestEndpoint({
    nodeCommands: { startCommand: () => ({ pid: undefined, stop: async () => {} }) },
    rolePolicies: (role) => (role === names.leaderRole ? policy : undefined),
  });
  t.teardown(() => endpoint.stop());
  const admin = testEc2Client(endpoint.url);
  t.teardown(() => admin.destroy());
  const adminCalls = testCalls(admin);
  await createClusterGroup(adminCalls, CLUSTER, 'us-west-2a');
  const clock = new ManualClock(Date.now());
  const settings = localClusterSettings(CLUSTER, {
    instanceProfiles: { leader: profileArn(names.leaderProfile), worker: profileArn(names.workerProfile) },
  });
  const launched = await new AwsProvisioner({
    calls: adminCalls,
    settings,
    clock,
    log: silentLogger(),
  }).launch({
    offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
    count: 1,
    clientToken: 'markcheck-leader',
    role: 'leader',
  });
  const leaderId = launched.nodes[0]!.instanceId;
  await new Promise((r) => setTimeout(r, 300));

  const client = new EC2Client({
    region: 'us-west-2',
    endpoint: endpoint.url,
    credentials: await roleKeys(endpoint.url, leaderId),
    maxAttempts: 1,
  });
  t.teardown(() => client.destroy());
  // The leader's daemon: its own credentials, the cluster's settings (it is not told the profiles).
  const leader = new AwsProvisioner({
    calls: testCalls(client),
    settings: localClusterSettings(CLUSTER),
    clock,
    log: silentLogger(),
  });
  const beat = { leaderId: 'leader-x', at: clock.now(), everyMs: 300_000 };

  await t.resolves(leader.checkLeaderMark(beat), "launch-cluster's leader policy: it may write the mark");
  t.same(
    [...endpoint.cloud.instances.get(leaderId)!.tags.keys()].filter((k) => k.startsWith('toil-leader')),
    [],
    'the dry run wrote nothing',
  );

  policy = beforeHeartbeat;
  await t.rejects(
    leader.checkLeaderMark(beat),
    { code: 'NOT_AUTHORISED', cloudCode: 'UnauthorizedOperation' },
    'a policy from before the heartbeat: it may not',
  );

  policy = current;
  const { nodes } = await leader.launch({
    offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'spot' },
    count: 1,
    clientToken: 'markcheck-w0',
    leaderBeat: beat,
  });
  const worker = (await leader.listNodes({ role: 'worker' })).find(
    (n) => n.instanceId === nodes[0]?.instanceId,
  );
  t.same(readHeartbeat(worker?.tags ?? {}), beat, 'the worker carries the mark from its launch');
  t.same(readHeartbeat(nodes[0]?.tags ?? {}), beat, 'as RunInstances answered');
});
