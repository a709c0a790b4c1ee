import { createHash } from 'node:crypto';
import { REBALANCE_RECOMMENDED_TAG } from '../../ports/provisioner.js';
import { LEADER_HEARTBEAT_TAG, LEADER_TAG } from '../../ports/leaderHeartbeat.js';
import { mungeKeyParameterArn } from './mungeKey.js';
import { TAG_CLUSTER } from './tags.js';

/**
 * The IAM a cluster gets from launch-cluster, as data: names, the trust policy, and the
 * least-privilege inline policies of the leader's and the workers' roles. Pure, so a table test
 * reads exactly what launch-cluster sends.
 *
 * - The **leader** scales the cluster: it may describe EC2 (Describe* has no resource-level
 *   permissions), launch instances only when they carry the cluster's `clusterName` tag, tag only
 *   at launch, terminate and cancel only what carries that tag, pass the worker role (and no
 *   other) to EC2, and use the job-store buckets.
 * - A **worker** runs jobs: it may read and write objects in the job-store buckets; of EC2, it may
 *   only put the rebalance-recommended tag on its cluster's instances (its `toil rebalance-watch`
 *   marks its own instance: EC2 tells the recommendation to the instance alone). Nothing else — no
 *   other EC2 call or tag, no IAM, no other bucket, no bucket creation or deletion.
 * - Both may read the cluster's munge key (a Slurm cluster's; mungeKey.ts) and no other parameter.
 *
 * Job-store buckets are the ones toil names `NAME--toil` (the locator `aws:REGION:NAME`); the job
 * store's name is chosen at `toil run`, after the cluster exists, so the suffix is the scope.
 */

export type PolicyDocument = {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
};

export type PolicyStatement = {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  /** Operator → key → value or values (`StringEquals`, `ForAllValues:StringEquals`). */
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
};

export interface ClusterIamNames {
  readonly leaderRole: string;
  readonly workerRole: string;
  /** Each profile has its role's name (the local cloud relies on it to name the role). */
  readonly leaderProfile: string;
  readonly workerProfile: string;
  /** The one inline policy on each role. */
  readonly policyName: string;
}

/** IAM role and profile names are at most 64 characters; a long cluster name is shortened with a hash. */
const NAME_LIMIT = 64;

export function clusterIamNames(clusterName: string): ClusterIamNames {
  const room = NAME_LIMIT - 'toil--worker'.length;
  const base =
    clusterName.length <= room
      ? clusterName
      : `${clusterName.slice(0, room - 9)}-${createHash('sha256').update(clusterName).digest('hex').slice(0, 8)}`;
  return {
    leaderRole: `toil-${base}-leader`,
    workerRole: `toil-${base}-worker`,
    leaderProfile: `toil-${base}-leader`,
    workerProfile: `toil-${base}-worker`,
    policyName: 'toil-cluster',
  };
}

/** Lets EC2 instances assume the role (what an instance profile needs); trust policies name no Resource. */
export const EC2_TRUST_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
} as const;

export const JOB_STORE_BUCKETS = 'arn:aws:s3:::*--toil';
export const JOB_STORE_OBJECTS = 'arn:aws:s3:::*--toil/*';

/** What a job store's user does inside its bucket (reads, writes, deletes, multipart). */
const OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'];
/** Listing the bucket (HeadBucket, ListObjectsV2, ListMultipartUploads). */
const LIST_ACTIONS = ['s3:ListBucket', 's3:ListBucketMultipartUploads', 's3:GetBucketLocation'];
/** Making and removing a job store's bucket: the leader's (toil run creates it and removes it on success). */
const BUCKET_ADMIN_ACTIONS = [
  's3:CreateBucket',
  's3:DeleteBucket',
  's3:PutBucketTagging',
  's3:PutEncryptionConfiguration',
  's3:PutBucketPublicAccessBlock',
];

/** The EC2 calls the leader's scaler and destroy path describe with (no resource-level permissions exist). */
const DESCRIBE_ACTIONS = [
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeSpotPriceHistory',
  'ec2:DescribeSpotInstanceRequests',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeImages',
];

export interface LeaderPolicyInput {
  readonly clusterName: string;
  readonly region: string;
  /** The worker role's ARN, the only role the leader may hand to EC2. */
  readonly workerRoleArn: string;
}

export function leaderPolicy(input: LeaderPolicyInput): PolicyDocument {
  const ec2 = (type: string): string => `arn:aws:ec2:${input.region}:*:${type}/*`;
  const tagged = { StringEquals: { [`aws:RequestTag/${TAG_CLUSTER}`]: input.clusterName } };
  const owned = { StringEquals: { [`ec2:ResourceTag/${TAG_CLUSTER}`]: input.clusterName } };
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Describe', Effect: 'Allow', Action: DESCRIBE_ACTIONS, Resource: ['*'] },
      {
        Sid: 'LaunchTaggedNodes',
        Effect: 'Allow',
        Action: ['ec2:RunInstances'],
        Resource: [ec2('instance'), ec2('volume'), ec2('spot-instances-request')],
        Condition: tagged,
      },
      {
        Sid: 'LaunchIntoClusterGroup',
        Effect: 'Allow',
        Action: ['ec2:RunInstances'],
        Resource: [ec2('security-group')],
        Condition: owned,
      },
      {
        Sid: 'LaunchFromImageSubnetKey',
        Effect: 'Allow',
        Action: ['ec2:RunInstances'],
        Resource: [
          `arn:aws:ec2:${input.region}::image/*`,
          ec2('subnet'),
          ec2('network-interface'),
          ec2('key-pair'),
        ],
      },
      {
        Sid: 'TagOnlyAtLaunch',
        Effect: 'Allow',
        Action: ['ec2:CreateTags'],
        Resource: [ec2('instance'), ec2('volume'), ec2('spot-instances-request')],
        Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      },
      {
        // The leader's heartbeat on its cluster's instances (src/ports/leaderHeartbeat.ts): those
        // two tags and no other, so it can neither retag a node out of its cluster nor forge
        // another tag the cluster relies on.
        Sid: 'LeaderHeartbeat',
        Effect: 'Allow',
        Action: ['ec2:CreateTags'],
        Resource: [ec2('instance')],
        Condition: {
          ...owned,
          'ForAllValues:StringEquals': { 'aws:TagKeys': [LEADER_TAG, LEADER_HEARTBEAT_TAG] },
        },
      },
      {
        Sid: 'EndOwnNodes',
        Effect: 'Allow',
        Action: ['ec2:TerminateInstances', 'ec2:CancelSpotInstanceRequests'],
        Resource: [ec2('instance'), ec2('spot-instances-request')],
        Condition: owned,
      },
      {
        Sid: 'PassWorkerRole',
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [input.workerRoleArn],
        Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      },
      {
        Sid: 'JobStoreBuckets',
        Effect: 'Allow',
        Action: [...LIST_ACTIONS, ...BUCKET_ADMIN_ACTIONS],
        Resource: [JOB_STORE_BUCKETS],
      },
      { Sid: 'JobStoreObjects', Effect: 'Allow', Action: OBJECT_ACTIONS, Resource: [JOB_STORE_OBJECTS] },
      readMungeKey(input),
    ],
  };
}

/**
 * The cluster's munge key, and only it. A SecureString under the AWS-managed `aws/ssm` key needs
 * no kms:Decrypt grant: that key's policy lets SSM decrypt for any principal of the account that
 * may read the parameter.
 */
function readMungeKey(cluster: { clusterName: string; region: string }): PolicyStatement {
  return {
    Sid: 'ReadMungeKey',
    Effect: 'Allow',
    Action: ['ssm:GetParameter'],
    Resource: [mungeKeyParameterArn(cluster.clusterName, cluster.region)],
  };
}

export function workerPolicy(cluster: { clusterName: string; region: string }): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'JobStoreBuckets', Effect: 'Allow', Action: LIST_ACTIONS, Resource: [JOB_STORE_BUCKETS] },
      { Sid: 'JobStoreObjects', Effect: 'Allow', Action: OBJECT_ACTIONS, Resource: [JOB_STORE_OBJECTS] },
      readMungeKey(cluster),
      markRebalanceRecommended(cluster),
    ],
  };
}

/**
 * The one tag a worker may set: the rebalance recommendation, on an instance of its own cluster.
 * IAM has no documented condition tying the resource to the caller's own instance, so the
 * cluster tag is the scope; `ForAllValues` on the request's tag keys allows that key and no other
 * (CreateTags always carries at least one), so a worker can neither retag a node out of its
 * cluster nor touch another tag the leader relies on.
 */
function markRebalanceRecommended(cluster: { clusterName: string; region: string }): PolicyStatement {
  return {
    Sid: 'MarkRebalanceRecommended',
    Effect: 'Allow',
    Action: ['ec2:CreateTags'],
    Resource: [`arn:aws:ec2:${cluster.region}:*:instance/*`],
    Condition: {
      StringEquals: { [`ec2:ResourceTag/${TAG_CLUSTER}`]: cluster.clusterName },
      'ForAllValues:StringEquals': { 'aws:TagKeys': REBALANCE_RECOMMENDED_TAG },
    },
  };
}

/**
 * The profile a worker launched by the leader gets, from the leader's own: the cluster's worker
 * profile when the leader has the cluster's leader profile (made by launch-cluster); the same
 * profile when the user gave one with --awsEc2ProfileArn (Toil's rule: one profile for every
 * node); none when the leader has none.
 */
export function workerProfileFor(
  leaderProfileArn: string | undefined,
  clusterName: string,
): string | undefined {
  if (!leaderProfileArn) return undefined;
  const names = clusterIamNames(clusterName);
  const slash = leaderProfileArn.lastIndexOf('/');
  return leaderProfileArn.slice(slash + 1) === names.leaderProfile
    ? `${leaderProfileArn.slice(0, slash + 1)}${names.workerProfile}`
    : leaderProfileArn;
}
