/**
 * The scaler's model: what a policy sees (a snapshot of the cluster and its queue at `now`) and
 * what it answers (a plan). Everything here is plain, serialisable data: the leader builds a
 * snapshot every tick, runs a policy, logs and exposes the plan, then acts on it. The policy itself
 * reads no clock and does no I/O, so the same function powers the leader, `toil plan` and the
 * simulator.
 *
 * Units: times are milliseconds since the Unix epoch (`now`, `launchedAt`…), durations given to
 * a policy are seconds (Toil's flags are seconds), sizes are bytes, prices are USD per hour.
 */

import type { SpotExposure } from './spotRisk.js';

export type CapacityType = 'spot' | 'on-demand';
export type Architecture = 'x86_64' | 'arm64';
export type PolicyName = 'cost' | 'toil-classic';

/** What one instance type offers, as the catalogue describes it (before any overhead). */
export interface InstanceType {
  readonly name: string;
  readonly cores: number;
  readonly memoryBytes: number;
  /** Instance-store bytes, or the root EBS volume (`nodeStorage`) for EBS-only types. */
  readonly diskBytes: number;
  /** True when `diskBytes` is local instance store rather than the root EBS volume. */
  readonly instanceStore: boolean;
  readonly architecture: Architecture;
  readonly gpus: number;
  /** On-demand USD/h in the configured region. */
  readonly onDemandPrice: number;
}

/** Resources a job asks for or a node has free. */
export interface Resources {
  readonly cores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly gpus?: number;
}

/** What a job needs from a node (resources plus placement constraints). */
export interface JobRequest extends Resources {
  /** May run on spot capacity. */
  readonly preemptable: boolean;
  /** Required CPU architecture; any when absent. */
  readonly architecture?: Architecture;
}

/** Jobs waiting for a place to run. */
export interface QueuedJob extends JobRequest {
  /** Identifies the job (or the first of a group) in messages. */
  readonly id: string;
  /** The job's name: runtimes are learned per name. */
  readonly name: string;
  /** Declared walltime in seconds; wins over any learned estimate. */
  readonly walltimeSeconds?: number;
  /** How many identical jobs this entry stands for (default 1): big queues come grouped. */
  readonly count?: number;
  /** Service jobs run until their workflow ends; Toil assumes targetTime × 24 + 3600 s for them. */
  readonly service?: boolean;
  /** Why a job that may run on spot is planned for on-demand (lost on spot too often): a plan note. */
  readonly onDemandBecause?: string;
}

/** A job already running on a node. */
export interface RunningJob extends JobRequest {
  readonly id: string;
  readonly name: string;
  readonly nodeId: string;
  /** When it started (ms since epoch). */
  readonly startedAt: number;
  readonly walltimeSeconds?: number;
  readonly service?: boolean;
  readonly onDemandBecause?: string;
}

export type NodeState = 'booting' | 'registered' | 'draining';

/** A worker the provisioner knows about (launched and not yet terminated). */
export interface ExistingNode {
  readonly id: string;
  readonly instanceType: string;
  readonly zone: string;
  readonly capacityType: CapacityType;
  /** booting: launched, not yet an agent; registered: takes tasks; draining: takes no new tasks. */
  readonly state: NodeState;
  readonly launchedAt: number;
  /** When the agent registered with the batch system (absent while booting). */
  readonly registeredAt?: number;
  /**
   * When its agent, having registered, was first found gone from the batch system (or
   * disconnected); absent while it is there. Such a node is no capacity: it runs nothing.
   */
  readonly agentLostAt?: number;
  /** Static nodes (from `launch-cluster -w N`) are never retired unless the config says so. */
  readonly static?: boolean;
  /** Last time a task ran on it (ms); idleness is measured from here. */
  readonly lastBusyAt?: number;
  /** What this node costs per hour; the offering's current price when absent. */
  readonly pricePerHour?: number;
  /**
   * EC2 recommends rebalancing it (an early hint of a spot interruption): no new work is planned
   * there and the batch system places none; what runs there finishes; it is not drained for it.
   */
  readonly rebalanceRecommended?: boolean;
}

/**
 * How long a node's agent may be gone after registering before the node is replaced: an agent
 * restarted (or a network blip) registers again within seconds; one a job killed never does.
 */
export const AGENT_LOST_GRACE_SECONDS = 120;

/** A node whose agent registered and has been gone for longer than AGENT_LOST_GRACE_SECONDS. */
export function agentLostTooLong(node: Pick<ExistingNode, 'agentLostAt'>, now: number): boolean {
  return node.agentLostAt !== undefined && (now - node.agentLostAt) / 1000 > AGENT_LOST_GRACE_SECONDS;
}

/** A node still booting bootTimeout after its launch: its agent never registered (and may never). */
export function pastBootTimeout(
  node: Pick<ExistingNode, 'state' | 'launchedAt' | 'agentLostAt'>,
  now: number,
  bootTimeoutSeconds: number,
): boolean {
  // One whose agent registered and left did boot: agentLostTooLong judges it, not a boot failure.
  return (
    node.state === 'booting' &&
    node.agentLostAt === undefined &&
    (now - node.launchedAt) / 1000 > bootTimeoutSeconds
  );
}

/** The provisioner's latest knowledge about one offering (price, recent capacity failures). */
export interface OfferingState {
  readonly instanceType: string;
  readonly zone: string;
  readonly capacityType: CapacityType;
  /** Current price (spot prices come from the provisioner); the catalogue's when absent. */
  readonly pricePerHour?: number;
  /** The provisioner found no capacity here; do not plan on it before this time (ms). */
  readonly unavailableUntil?: number;
  /** Launches refused here lately (capacity, price): among equal prices, the zone with fewer wins. */
  readonly recentRefusals?: number;
  /** Why it is unavailable until `unavailableUntil`, when not for want of capacity. */
  readonly unavailableBecause?: string;
}

/**
 * Where an offering's price comes from: observed on the market (spot price history), the bid (a
 * spot price not yet observed: the most it may cost), or the on-demand list price.
 */
export type PriceSource = 'observed' | 'bid' | 'on-demand';

/** An offering a policy may launch: instance type × zone × capacity type, with its price. */
export interface Offering {
  readonly key: string;
  readonly instanceType: string;
  readonly zone: string;
  readonly capacityType: CapacityType;
  readonly pricePerHour: number;
  readonly priceSource?: PriceSource;
  /** Launches refused here lately (see OfferingState). */
  readonly recentRefusals?: number;
  /** Index of the configured node type this offering belongs to (limits are per node type). */
  readonly nodeTypeIndex: number;
  readonly available: boolean;
  /** Why it is not available (capacity, bid below market), for reasons in the plan. */
  readonly unavailableReason?: string;
  /** Seconds until a capacity backoff ends (absent when available, or refused for its price). */
  readonly availableInSeconds?: number;
}

/** Nodes the provisioner was asked for last tick but could not get (Toil's "deficit"). */
export interface LaunchShortfall {
  readonly instanceType: string;
  readonly capacityType: CapacityType;
  readonly count: number;
}

/**
 * What a policy carries from one tick to the next. Returned in the plan and passed back in the
 * next snapshot, so the policy stays a pure function.
 */
export interface ScalerState {
  /** EWMA of the wanted node count per key (offering or node shape), unclamped, as Toil keeps it. */
  readonly smoothed: Readonly<Record<string, number>>;
  /** Jobs issued so far (queued + running + completed), to tell when new work last arrived (cost policy). */
  readonly issued?: number;
  /** When the count of issued jobs last grew (ms since epoch; cost policy). */
  readonly arrivedAt?: number;
  /** Jobs issued and completed over the recent window, decayed (cost policy: a fan-in is no arrival). */
  readonly flow?: WorkFlowState;
  /** When the plan last took a draining node back (undrained it), per node id (ms since epoch; cost policy). */
  readonly takenBackAt?: Readonly<Record<string, number>>;
  /** Nodes that never registered, in a row, per offering and over the cluster (cost policy; cost/bootBackoff.ts). */
  readonly bootFailures?: Readonly<Record<string, BootFailureRun>>;
  /** Spot node time observed and the interruptions in it, for the measured interruption rate (cost policy; spotRisk.ts). */
  readonly spotExposure?: SpotExposure;
  /** When a queued name of unknown runtime was first seen with none of it running (ms; cost policy's first-sighting probe). */
  readonly firstSeenAt?: Readonly<Record<string, number>>;
}

/** Decayed sums of jobs issued and completed, and the counts they were last taken at. */
export interface WorkFlowState {
  /** When they were last taken (ms since epoch). */
  readonly at: number;
  /** Completions counted then (the runtime history's total). */
  readonly completed: number;
  readonly inflow: number;
  readonly outflow: number;
}

/**
 * Nodes that never registered, counted in a row: per offering, and over the whole cluster (key
 * `*`). A node of the offering (for the cluster: any node) registering after the last failure
 * ends the run of failures.
 */
export interface BootFailureRun {
  readonly count: number;
  /** When the last of them was found past bootTimeout (ms). */
  readonly lastAt: number;
  /** The latest launch time among them (ms): a node launched no later was counted already. */
  readonly lastLaunchAt: number;
}

/** Learned runtimes, plain data the leader persists in the job store (see runtimes.ts). */
export interface RuntimeHistory {
  readonly byName: Readonly<Record<string, RuntimeStats>>;
  /** All completions together (Toil's fallback for an unknown name). */
  readonly total: { readonly count: number; readonly sumSeconds: number };
}

export interface RuntimeStats {
  /** All completions ever seen for this name. */
  readonly count: number;
  readonly sumSeconds: number;
  /** The most recent runtimes, newest last, at most RECENT_WINDOW of them. */
  readonly recent: readonly number[];
  /** `total.count` at this name's last completion: which names completed most recently. */
  readonly lastCompletion?: number;
}

/** Everything a policy sees at one tick. */
export interface ScalingSnapshot {
  /** The time of this tick (ms since epoch). */
  readonly now: number;
  readonly queued: readonly QueuedJob[];
  readonly running: readonly RunningJob[];
  readonly nodes: readonly ExistingNode[];
  /** Prices and availability the provisioner observed; the catalogue fills the rest. */
  readonly offerings?: readonly OfferingState[];
  readonly runtimes?: RuntimeHistory;
  /** The previous plan's `state`. */
  readonly state?: ScalerState;
  /** Spot nodes asked for last tick and not obtained (only the toil-classic policy uses it). */
  readonly lastShortfall?: readonly LaunchShortfall[];
  /**
   * false: the batch system cannot keep preemptable jobs off on-demand room (Slurm places jobs
   * itself), so the plan never sets `preemptableStaysOnSpot` nor counts on it. Absent: it can.
   */
  readonly preemptableCanStayOnSpot?: boolean;
  /**
   * false: some batch system cannot honour keep-off hints (`keepOff`), so the plan sets none.
   * Absent: they are honoured (Mesos and Slurm both do).
   */
  readonly keepOffHonoured?: boolean;
  /**
   * Spot nodes of this cluster reclaimed so far (a running total: the leader's count over all its
   * runs, the simulator's over the run). With the spot node time the cost policy observes, it
   * gives the interruption rate that prices a long preemptable job's restarts (spotRisk.ts).
   */
  readonly spotInterruptions?: number;
}

export interface KeepOffHint {
  readonly nodeId: string;
  readonly requests: readonly string[];
}

export interface LaunchAction {
  readonly instanceType: string;
  readonly zone: string;
  readonly capacityType: CapacityType;
  readonly count: number;
  readonly pricePerHour: number;
  readonly reason: string;
}

export interface NodeAction {
  readonly nodeId: string;
  readonly reason: string;
}

/** A job no allowed node type can ever run, with what fails. */
export interface UnschedulableJob {
  readonly jobId: string;
  readonly jobName: string;
  /** How many identical jobs share this problem. */
  readonly count: number;
  readonly request: JobRequest;
  /** Failing constraints, e.g. "memory: asks 300.0 GiB, r5.8xlarge offers 247.1 GiB". */
  readonly constraints: readonly string[];
  readonly largestNodeType: string;
  /**
   * The disk is short because the type offering the most is an EBS-only type whose root volume
   * (`nodeStorage`, or its `nodeStorageOverrides` entry) is too small: that type, and the root
   * volume in GiB that gives the job its disk.
   */
  readonly rootVolume?: { readonly instanceType: string; readonly neededGiB: number };
  readonly message: string;
}

/** Jobs that can run but that this plan does not make room for (limits, budget, no spot). */
export interface WaitingJobs {
  readonly jobName: string;
  readonly count: number;
  readonly reason: string;
}

/**
 * A policy's answer. Drain comes before terminate: `terminate` names only nodes already draining
 * or drained in this same plan, that run nothing, or booting nodes that never registered; the
 * executor drains first, checks emptiness, then terminates. `undrain` returns a draining node to service (cheaper than a
 * launch when demand comes back).
 */
export interface ScalingPlan {
  readonly policy: PolicyName;
  readonly launch: readonly LaunchAction[];
  readonly drain: readonly NodeAction[];
  readonly undrain: readonly NodeAction[];
  readonly terminate: readonly NodeAction[];
  readonly unschedulable: readonly UnschedulableJob[];
  readonly waiting: readonly WaitingJobs[];
  /** Decisions worth telling a person that are not actions (e.g. preemptable work moved to on-demand). */
  readonly notes: readonly string[];
  /** USD/h of the nodes that exist now, and after this plan is carried out. */
  readonly hourlyCost: { readonly current: number; readonly planned: number };
  readonly state: ScalerState;
  /**
   * Preemptable jobs that a registered spot node could hold are kept off on-demand room (the batch
   * system does not fall back to it after its patience); set while the spot pool has room. Absent
   * or false: they take on-demand room left after non-preemptable work, as before.
   */
  readonly preemptableStaysOnSpot?: boolean;
  /**
   * With `preemptableStaysOnSpot` only: the requests (`placementKey`) of preemptable work no
   * registered spot node could hold that still waits for spot (the plan launches, or is booting,
   * spot nodes for it) instead of taking on-demand room first. Absent: none.
   */
  readonly preemptableWaitsForSpot?: readonly string[];
  /**
   * Placement keys of preemptable requests planned as on-demand work (spot risk: restarts at the
   * measured interruption rate make spot dearer per job): the batch system places them on
   * on-demand room only, with the switch on or off. Spot nodes also keep them off (`keepOff`).
   */
  readonly preemptableOnOnDemand?: readonly string[];
  /**
   * Keep-off hints: per registered node, the requests (`placementKey`) the batch system places no
   * more of there while this plan stands, because that work would cost much less elsewhere and
   * would keep the node billed for itself. The node still takes other work; nothing running is
   * touched. Replaced by every plan; absent: no hint. None where a batch system cannot honour
   * them (`keepOffHonoured: false`); the plan never counts on them either way.
   */
  readonly keepOff?: readonly KeepOffHint[];
}
