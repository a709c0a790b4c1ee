import t from 'tap';
import {
  EC2_TRUST_POLICY,
  clusterIamNames,
  leaderPolicy,
  workerPolicy,
  workerProfileFor,
} from '../../src/provisioner/aws/iamPolicies.js';
import { isAllowed, type PolicyRequest } from '../../src/localcloud/iamPolicyEval.js';
import { REBALANCE_RECOMMENDED_TAG } from '../../src/ports/provisioner.js';
import { LEADER_HEARTBEAT_TAG, LEADER_TAG } from '../../src/ports/leaderHeartbeat.js';

/**
 * The cluster's roles, read as IAM would read them, request by request: a worker reaches the
 * job-store buckets' objects and, of EC2, only the rebalance-recommended tag on its cluster's
 * instances (no other EC2 call or tag, no IAM, no other bucket, no bucket administration); the
 * leader scales only its own cluster and passes only the worker role.
 */
const CLUSTER = 'seed';
const WORKER_ROLE = 'arn:aws:iam::123456789012:role/toil-seed-worker';
const leader = leaderPolicy({ clusterName: CLUSTER, region: 'us-west-2', workerRoleArn: WORKER_ROLE });
const worker = workerPolicy({ clusterName: CLUSTER, region: 'us-west-2' });
const MUNGE_KEY = 'arn:aws:ssm:us-west-2:123456789012:parameter/toil/seed/munge-key';
const OTHER_MUNGE_KEY = 'arn:aws:ssm:us-west-2:123456789012:parameter/toil/other/munge-key';

const JOB_OBJECT = 'arn:aws:s3:::autoscaling-sort-jobstore--toil/jobs/abc';
const JOB_BUCKET = 'arn:aws:s3:::autoscaling-sort-jobstore--toil';
const OTHER_OBJECT = 'arn:aws:s3:::payroll-exports/2026/november.csv';
const OTHER_BUCKET = 'arn:aws:s3:::payroll-exports';
const INSTANCE = 'arn:aws:ec2:us-west-2:123456789012:instance/i-0123456789abcdef0';
const OWN = { 'ec2:ResourceTag/clusterName': CLUSTER };
const OTHERS = { 'ec2:ResourceTag/clusterName': 'someone-else' };
/** A CreateTags of `keys` on an instance tagged for `cluster`. */
const tagging = (cluster: string, keys: string[]): PolicyRequest => ({
  action: 'ec2:CreateTags',
  resource: INSTANCE,
  context: {
    'ec2:ResourceTag/clusterName': cluster,
    'aws:TagKeys': keys,
    ...Object.fromEntries(keys.map((k) => [`aws:RequestTag/${k}`, '2026-11-30T04:00:00Z'])),
  },
});

const rows: { name: string; role: 'leader' | 'worker'; request: PolicyRequest; allowed: boolean }[] = [
  // The cluster's munge key (a Slurm cluster's): both roles read it, nothing else of SSM.
  ...(['worker', 'leader'] as const).flatMap((role) => [
    {
      name: `${role} reads its cluster's munge key`,
      role,
      request: { action: 'ssm:GetParameter', resource: MUNGE_KEY },
      allowed: true,
    },
    {
      name: `${role} reads another cluster's munge key`,
      role,
      request: { action: 'ssm:GetParameter', resource: OTHER_MUNGE_KEY },
      allowed: false,
    },
    {
      name: `${role} overwrites its cluster's munge key`,
      role,
      request: { action: 'ssm:PutParameter', resource: MUNGE_KEY },
      allowed: false,
    },
  ]),
  // The worker: job-store objects only.
  {
    name: 'worker reads a job-store object',
    role: 'worker',
    request: { action: 's3:GetObject', resource: JOB_OBJECT },
    allowed: true,
  },
  {
    name: 'worker writes a job-store object',
    role: 'worker',
    request: { action: 's3:PutObject', resource: JOB_OBJECT },
    allowed: true,
  },
  {
    name: 'worker deletes a job-store object',
    role: 'worker',
    request: { action: 's3:DeleteObject', resource: JOB_OBJECT },
    allowed: true,
  },
  {
    name: 'worker lists the job-store bucket',
    role: 'worker',
    request: { action: 's3:ListBucket', resource: JOB_BUCKET },
    allowed: true,
  },
  {
    name: 'worker reads another bucket',
    role: 'worker',
    request: { action: 's3:GetObject', resource: OTHER_OBJECT },
    allowed: false,
  },
  {
    name: 'worker writes another bucket',
    role: 'worker',
    request: { action: 's3:PutObject', resource: OTHER_OBJECT },
    allowed: false,
  },
  {
    name: 'worker lists another bucket',
    role: 'worker',
    request: { action: 's3:ListBucket', resource: OTHER_BUCKET },
    allowed: false,
  },
  {
    name: 'worker deletes the job-store bucket',
    role: 'worker',
    request: { action: 's3:DeleteBucket', resource: JOB_BUCKET },
    allowed: false,
  },
  {
    name: 'worker creates a bucket',
    role: 'worker',
    request: { action: 's3:CreateBucket', resource: JOB_BUCKET },
    allowed: false,
  },
  {
    name: 'worker lists instances',
    role: 'worker',
    request: { action: 'ec2:DescribeInstances', resource: '*' },
    allowed: false,
  },
  {
    name: 'worker launches an instance',
    role: 'worker',
    request: {
      action: 'ec2:RunInstances',
      resource: INSTANCE,
      context: { 'aws:RequestTag/clusterName': CLUSTER },
    },
    allowed: false,
  },
  {
    name: 'worker terminates a node of its cluster',
    role: 'worker',
    request: { action: 'ec2:TerminateInstances', resource: INSTANCE, context: OWN },
    allowed: false,
  },
  // The worker marks its own node rebalance-recommended, and tags nothing else.
  {
    name: 'worker tags a node of its cluster rebalance-recommended',
    role: 'worker',
    request: tagging(CLUSTER, [REBALANCE_RECOMMENDED_TAG]),
    allowed: true,
  },
  {
    name: "worker tags another cluster's instance rebalance-recommended",
    role: 'worker',
    request: tagging('someone-else', [REBALANCE_RECOMMENDED_TAG]),
    allowed: false,
  },
  {
    name: 'worker tags an instance of no cluster rebalance-recommended',
    role: 'worker',
    request: {
      action: 'ec2:CreateTags',
      resource: INSTANCE,
      context: { 'aws:TagKeys': [REBALANCE_RECOMMENDED_TAG] },
    },
    allowed: false,
  },
  {
    name: 'worker retags a node of its cluster into another cluster',
    role: 'worker',
    request: tagging(CLUSTER, ['clusterName']),
    allowed: false,
  },
  {
    name: 'worker slips another tag in beside the rebalance tag',
    role: 'worker',
    request: tagging(CLUSTER, [REBALANCE_RECOMMENDED_TAG, 'ToilNodeType']),
    allowed: false,
  },
  {
    name: 'worker tags a volume of its cluster rebalance-recommended',
    role: 'worker',
    request: {
      ...tagging(CLUSTER, [REBALANCE_RECOMMENDED_TAG]),
      resource: 'arn:aws:ec2:us-west-2:123456789012:volume/vol-0123456789abcdef0',
    },
    allowed: false,
  },
  {
    name: 'worker tags a node of its cluster in another region',
    role: 'worker',
    request: {
      ...tagging(CLUSTER, [REBALANCE_RECOMMENDED_TAG]),
      resource: 'arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0',
    },
    allowed: false,
  },
  {
    name: 'worker removes a tag of a node of its cluster',
    role: 'worker',
    request: {
      action: 'ec2:DeleteTags',
      resource: INSTANCE,
      context: { ...OWN, 'aws:TagKeys': [REBALANCE_RECOMMENDED_TAG] },
    },
    allowed: false,
  },
  {
    name: 'worker passes its own role',
    role: 'worker',
    request: { action: 'iam:PassRole', resource: WORKER_ROLE },
    allowed: false,
  },
  // The leader: its own cluster's nodes, the worker role, the job-store buckets.
  {
    name: 'leader lists instances',
    role: 'leader',
    request: { action: 'ec2:DescribeInstances', resource: '*' },
    allowed: true,
  },
  {
    name: 'leader launches a node tagged with its cluster',
    role: 'leader',
    request: {
      action: 'ec2:RunInstances',
      resource: INSTANCE,
      context: { 'aws:RequestTag/clusterName': CLUSTER },
    },
    allowed: true,
  },
  {
    name: 'leader launches an instance tagged for another cluster',
    role: 'leader',
    request: {
      action: 'ec2:RunInstances',
      resource: INSTANCE,
      context: { 'aws:RequestTag/clusterName': 'someone-else' },
    },
    allowed: false,
  },
  {
    name: 'leader launches an untagged instance',
    role: 'leader',
    request: { action: 'ec2:RunInstances', resource: INSTANCE },
    allowed: false,
  },
  {
    name: 'leader tags while launching',
    role: 'leader',
    request: {
      action: 'ec2:CreateTags',
      resource: INSTANCE,
      context: { 'ec2:CreateAction': 'RunInstances' },
    },
    allowed: true,
  },
  {
    name: 'leader retags an existing instance',
    role: 'leader',
    request: { action: 'ec2:CreateTags', resource: INSTANCE },
    allowed: false,
  },
  // The leader's heartbeat: its two tags on its cluster's instances, nothing else.
  {
    name: 'leader writes its heartbeat on a node of its cluster',
    role: 'leader',
    request: tagging(CLUSTER, [LEADER_TAG, LEADER_HEARTBEAT_TAG]),
    allowed: true,
  },
  {
    name: "leader writes its heartbeat on another cluster's instance",
    role: 'leader',
    request: tagging('someone-else', [LEADER_TAG, LEADER_HEARTBEAT_TAG]),
    allowed: false,
  },
  {
    name: 'leader slips the cluster tag in beside its heartbeat',
    role: 'leader',
    request: tagging(CLUSTER, [LEADER_HEARTBEAT_TAG, 'clusterName']),
    allowed: false,
  },
  {
    name: 'leader writes its heartbeat on a volume of its cluster',
    role: 'leader',
    request: {
      ...tagging(CLUSTER, [LEADER_HEARTBEAT_TAG]),
      resource: 'arn:aws:ec2:us-west-2:123456789012:volume/vol-0123456789abcdef0',
    },
    allowed: false,
  },
  {
    name: 'leader terminates a node of its cluster',
    role: 'leader',
    request: { action: 'ec2:TerminateInstances', resource: INSTANCE, context: OWN },
    allowed: true,
  },
  {
    name: "leader terminates another cluster's instance",
    role: 'leader',
    request: { action: 'ec2:TerminateInstances', resource: INSTANCE, context: OTHERS },
    allowed: false,
  },
  {
    name: 'leader passes the worker role to EC2',
    role: 'leader',
    request: {
      action: 'iam:PassRole',
      resource: WORKER_ROLE,
      context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    },
    allowed: true,
  },
  {
    name: 'leader passes an admin role',
    role: 'leader',
    request: {
      action: 'iam:PassRole',
      resource: 'arn:aws:iam::123456789012:role/admin',
      context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    },
    allowed: false,
  },
  {
    name: 'leader creates a role',
    role: 'leader',
    request: { action: 'iam:CreateRole', resource: 'arn:aws:iam::123456789012:role/x' },
    allowed: false,
  },
  {
    name: 'leader creates the job-store bucket',
    role: 'leader',
    request: { action: 's3:CreateBucket', resource: JOB_BUCKET },
    allowed: true,
  },
  {
    name: 'leader removes the job-store bucket',
    role: 'leader',
    request: { action: 's3:DeleteBucket', resource: JOB_BUCKET },
    allowed: true,
  },
  {
    name: 'leader reads another bucket',
    role: 'leader',
    request: { action: 's3:GetObject', resource: OTHER_OBJECT },
    allowed: false,
  },
  {
    name: 'leader deletes another bucket',
    role: 'leader',
    request: { action: 's3:DeleteBucket', resource: OTHER_BUCKET },
    allowed: false,
  },
  {
    name: 'leader stops an instance',
    role: 'leader',
    request: { action: 'ec2:StopInstances', resource: INSTANCE, context: OWN },
    allowed: false,
  },
];

t.test('the policy table: what each role may and may not do', async (t) => {
  for (const row of rows) {
    const policy = row.role === 'leader' ? leader : worker;
    t.equal(
      isAllowed(policy, row.request),
      row.allowed,
      `${row.name}: ${row.allowed ? 'allowed' : 'denied'}`,
    );
  }
});

t.test(
  "the worker policy names no IAM action, of EC2 CreateTags alone, and no resource outside the job-store buckets, its cluster's munge key and its region's instances",
  async (t) => {
    const actions = worker.Statement.flatMap((s) => s.Action);
    t.same(
      actions.filter((a) => !a.startsWith('s3:')),
      ['ssm:GetParameter', 'ec2:CreateTags'],
      'S3 actions, reading one parameter, tagging',
    );
    t.same(
      worker.Statement.flatMap((s) => s.Resource),
      [
        'arn:aws:s3:::*--toil',
        'arn:aws:s3:::*--toil/*',
        'arn:aws:ssm:us-west-2:*:parameter/toil/seed/munge-key',
        'arn:aws:ec2:us-west-2:*:instance/*',
      ],
    );
    t.same(
      worker.Statement.find((s) => s.Action.includes('ec2:CreateTags'))?.Condition,
      {
        StringEquals: { 'ec2:ResourceTag/clusterName': CLUSTER },
        'ForAllValues:StringEquals': { 'aws:TagKeys': REBALANCE_RECOMMENDED_TAG },
      },
      "tagging only its own cluster's instances, with the rebalance tag alone",
    );
    t.notOk(
      actions.some((a) => a.includes('*')),
      'no wildcard action',
    );
  },
);

t.test('the trust policy lets EC2, and only EC2, assume the roles', async (t) => {
  t.same(EC2_TRUST_POLICY.Statement, [
    { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ]);
});

t.test('names: per cluster, at most 64 characters, distinct for long names', async (t) => {
  t.same(clusterIamNames('seed'), {
    leaderRole: 'toil-seed-leader',
    workerRole: 'toil-seed-worker',
    leaderProfile: 'toil-seed-leader',
    workerProfile: 'toil-seed-worker',
    policyName: 'toil-cluster',
  });
  const a = clusterIamNames(`${'a'.repeat(60)}-one`);
  const b = clusterIamNames(`${'a'.repeat(60)}-two`);
  t.ok(a.leaderRole.length <= 64 && a.workerProfile.length <= 64, `${a.leaderRole.length} characters`);
  t.not(a.leaderRole, b.leaderRole, 'two long names that share a prefix stay apart');
});

t.test("a worker's profile follows the leader's", async (t) => {
  const base = 'arn:aws:iam::123456789012:instance-profile/';
  t.equal(
    workerProfileFor(`${base}toil-seed-leader`, 'seed'),
    `${base}toil-seed-worker`,
    "the cluster's worker profile",
  );
  t.equal(workerProfileFor(`${base}my-own`, 'seed'), `${base}my-own`, '--awsEc2ProfileArn: the same profile');
  t.equal(workerProfileFor(undefined, 'seed'), undefined, 'none without one');
  t.equal(
    workerProfileFor(`${base}toil-other-leader`, 'seed'),
    `${base}toil-other-leader`,
    "another cluster's is not rewritten",
  );
});
