/**
 * The Provisioner port: what the scaler and the cluster utilities need from a cloud, for one
 * cluster. Adapters (src/provisioner/aws) translate the cloud's errors once, into the typed errors
 * of src/provisioner/errors.ts, so callers branch on `code`/`disposition` and never on a cloud's error names.
 */
import type { LeaderBeat } from './leaderHeartbeat.js';

export type Market = 'spot' | 'on-demand';

export type NodeRole = 'leader' | 'worker';

/** Something the cloud sells: an instance type in a zone, on one market. */
export interface Offering {
  readonly instanceType: string;
  readonly zone: string;
  readonly market: Market;
  /** Spot only: the most to pay per hour; absent means up to the on-demand price. */
  readonly maxPrice?: number;
  /**
   * The root EBS volume in GiB, for types without instance store: the disk the scaler counted on
   * when it chose this offering (`nodeStorage`, `nodeStorageOverrides`). Absent: the adapter's
   * cluster-wide default.
   */
  readonly rootVolumeGiB?: number;
}

/** The EBS type of every node's root volume (what the AWS adapter asks RunInstances for). */
export const ROOT_VOLUME_TYPE = 'gp3';

/**
 * The largest root volume EC2 makes of that type: 64 TiB (the EC2 API reference's VolumeSize:
 * gp3 and io2 1-65536 GiB since 2025; gp2, io1, st1 and sc1 stay at 16 TiB).
 */
export const MAX_ROOT_VOLUME_GIB = 65_536;

export type NodeState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** One instance of the cluster as the cloud reports it. */
export interface ProvisionedNode {
  readonly instanceId: string;
  readonly role: NodeRole;
  readonly instanceType: string;
  readonly zone: string;
  readonly market: Market;
  readonly state: NodeState;
  /** Milliseconds since the epoch. */
  readonly launchTime: number;
  readonly privateIp: string | undefined;
  readonly publicIp: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** Whether the instance requires IMDSv2 session tokens (it always should). */
  readonly imdsV2Required: boolean;
  /**
   * Why the cloud ended it, on a node shutting down or gone (EC2's StateReason code:
   * `Server.SpotInstanceTermination` for a spot reclaim, `Client.UserInitiatedShutdown` for a
   * terminate call), when the cloud says.
   */
  readonly stateReason?: string;
  /** The client token of the launch that made it (EC2's ClientToken), when the cloud says. */
  readonly clientToken?: string;
  /** The image it booted (EC2's ImageId), when the cloud says. */
  readonly imageId?: string;
}

export interface LaunchRequest {
  readonly offering: Offering;
  /** How many to ask for; the cloud may give fewer (at least one) when capacity is short. */
  readonly count: number;
  /**
   * Idempotency key: a launch repeated with the same token (after a timeout, a lost response, a
   * restart) returns the instances of the first one and never launches a second set.
   */
  readonly clientToken: string;
  /** Default 'worker'. */
  readonly role?: NodeRole;
  /**
   * A worker `launch-cluster --workers` starts: meant to stay as the cluster's static capacity. It
   * carries STATIC_WORKER_TAG, so a leader counts it as such rather than as an instance of unknown
   * origin to warn of.
   */
  readonly staticWorker?: boolean;
  /**
   * The launching leader's heartbeat, written in the launch's own tags (never a later call), so
   * the instance never exists without its leader's mark: a leader killed the moment the launch
   * took effect leaves an instance another leader can judge. Given only by a leader that has
   * shown it may renew the mark (`checkLeaderMark`, or a beat written), so a mark at launch never
   * goes stale for want of the right to renew it.
   */
  readonly leaderBeat?: LeaderBeat;
}

/** The tag (value `launch-cluster`) on the workers `launch-cluster --workers` starts. */
export const STATIC_WORKER_TAG = 'toil-static-worker';

export interface LaunchResult {
  readonly requested: number;
  /** The instances launched (1 ≤ length ≤ requested). */
  readonly nodes: readonly ProvisionedNode[];
}

export interface SpotPrice {
  readonly instanceType: string;
  readonly zone: string;
  /** Dollars per hour. */
  readonly price: number;
  /** When the price took effect (ms since the epoch). */
  readonly at: number;
}

/** A spot instance the cloud has announced it will reclaim (AWS: two minutes ahead). */
export interface InterruptionNotice {
  readonly instanceId: string;
  /** When the notice was given (ms since the epoch). */
  readonly noticedAt: number;
  /** When the instance is expected to go (ms since the epoch). */
  readonly terminateAt: number;
}

/** The instance a batch system's agent runs on, as the scaler last saw it. */
export interface AgentInstance {
  readonly instanceId: string;
  readonly instanceType: string;
  readonly market: 'spot' | 'on-demand';
  /** When it is reclaimed, as its spot interruption notice said (ms since the epoch); absent: none seen. */
  readonly reclaimAt?: number;
}

/**
 * The tag a node carries once EC2 recommends rebalancing it (its metadata shows
 * `events/recommendations/rebalance`: elevated risk of interruption, usually ahead of any notice).
 * EC2 shows the recommendation only to the instance itself, so the node tags itself (value: the
 * notice time); the leader reads it with `listNodes`, as every other tag.
 */
export const REBALANCE_RECOMMENDED_TAG = 'toil-rebalance-recommended';

export interface InstanceTypeInfo {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly architectures: readonly string[];
  readonly spot: boolean;
}

export interface ListOptions {
  readonly role?: NodeRole;
  /** Include stopping/stopped instances (default false: pending and running only). */
  readonly includeStopped?: boolean;
  /** Include shutting-down/terminated instances (default false). */
  readonly includeTerminated?: boolean;
}

export interface Provisioner {
  readonly clusterName: string;

  /**
   * The cluster's instances (all pages), pending and running unless `options` widen it. Raises
   * THROTTLED/EC2_UNAVAILABLE only after the adapter's own retries are spent.
   */
  listNodes(options?: ListOptions): Promise<ProvisionedNode[]>;

  /**
   * Launches up to `count` instances of the offering, tagged for this cluster at launch, requiring
   * IMDSv2, with user data that starts the appliance for the role. Idempotent by `clientToken`.
   * Partial launches are normal: resolves with the instances obtained (≥ 1).
   * Raises NO_CAPACITY / SPOT_PRICE_TOO_LOW ('unavailable': mark the offering, re-plan),
   * LIMIT_EXCEEDED ('fatal'), NOT_AUTHORISED ('fatal'), NOT_FOUND (e.g. the security group),
   * THROTTLED / EC2_UNAVAILABLE ('retry') once retries are spent, CLUSTER_NOT_FOUND for a worker
   * launch when the cluster has no leader.
   */
  launch(request: LaunchRequest): Promise<LaunchResult>;

  /**
   * Asks for the instances to be terminated and returns without waiting for them to go. Ids that
   * are already terminated or unknown to the cloud are not an error.
   */
  terminate(instanceIds: readonly string[]): Promise<void>;

  /**
   * The cluster's spot instances that have an interruption notice (AWS: spot requests whose status
   * is `marked-for-termination`, the same event the instance sees in its metadata as
   * `spot/instance-action`). Raises THROTTLED/EC2_UNAVAILABLE only after the adapter's retries.
   */
  interruptionNotices(): Promise<InterruptionNotice[]>;

  /** The current spot price of each type in each zone (default: the cluster's zone). */
  spotPrices(instanceTypes: readonly string[], zones?: readonly string[]): Promise<SpotPrice[]>;

  /**
   * Shapes of the named instance types (all the cloud offers when `names` is absent). Raises
   * UNKNOWN_INSTANCE_TYPE ('user') naming the unknown type when any name is not offered.
   */
  instanceTypes(names?: readonly string[]): Promise<InstanceTypeInfo[]>;

  /**
   * Writes the leader's heartbeat (src/ports/leaderHeartbeat.ts: its id and the beat's time and
   * interval) on these worker instances of the cluster, replacing the previous beat. Instances
   * already gone or unknown to the cloud are skipped, not an error. Nothing else of an instance
   * changes. Raises NOT_AUTHORISED ('fatal') when the credentials may not tag (a cluster whose
   * leader policy predates the heartbeat), THROTTLED/EC2_UNAVAILABLE after the adapter's retries.
   */
  markLeaderLive(instanceIds: readonly string[], beat: LeaderBeat): Promise<void>;

  /**
   * Resolves if these credentials may write the leader's heartbeat on the cluster's instances,
   * writing nothing (AWS: `CreateTags` of the mark with `DryRun`, on the cluster's leader instance,
   * which IAM judges as it would a real beat). Raises NOT_AUTHORISED ('fatal') when they may not,
   * CLUSTER_NOT_FOUND without a leader instance, THROTTLED/EC2_UNAVAILABLE after the adapter's retries.
   */
  checkLeaderMark(beat: LeaderBeat): Promise<void>;
}
