import type { ObservedSpotPrice, SpotPriceFeedStatus } from '../spotPriceFeed.js';
import type { CapacityType, ScalingPlan } from '../types.js';
import type { StoppedNode } from './stoppedNodes.js';

/** One failed provisioner call of a tick. `plan` is the plan (1-based) whose action failed. */
export interface TickError {
  readonly action: string;
  readonly code: string;
  readonly message: string;
  readonly plan: number;
  readonly disposition?: string;
  /** type/zone/capacity, for launches. */
  readonly offering?: string;
}

/** One launch call of a tick that the cloud answered. */
export interface TickLaunch {
  readonly plan: number;
  readonly offering: string;
  readonly capacityType: CapacityType;
  readonly asked: number;
  readonly got: number;
  /** The instances it got. */
  readonly instanceIds: readonly string[];
}

/** What one tick did, as /status and the logs show it. */
export interface TickReport {
  /** Ticks since this leader started (1 = the first). */
  readonly seq: number;
  readonly at: number;
  readonly durationMs: number;
  readonly plan: ScalingPlan;
  /** Plans made in this tick (more than one when an offering was unavailable). */
  readonly plans: number;
  readonly launched: readonly string[];
  readonly launches: readonly TickLaunch[];
  readonly terminated: readonly string[];
  readonly drained: readonly string[];
  /** Draining nodes a plan took back (their drain undone, with the plan's reason in `plan.undrain`). */
  readonly takenBack: readonly string[];
  readonly errors: readonly TickError[];
  /** Observed spot prices the plan used, with their age; and how the last read went. */
  readonly spotPrices?: readonly ObservedSpotPrice[];
  readonly spotPriceFeed?: SpotPriceFeedStatus;
  /** Spot nodes whose interruption notice was seen this tick (drained at once). */
  readonly interruptionNotices?: readonly string[];
  /** Instances of other leaders retired because their leader stopped beating (deadLeaders.ts). */
  readonly retired?: readonly string[];
  /** Instances of ours terminated because someone stopped them (stoppedNodes.ts); in `terminated` too. */
  readonly stopped?: readonly StoppedNode[];
  /** Instances of ours that ended without our asking, seen gone in this tick. */
  readonly gone?: readonly GoneNode[];
}

/** A node of ours the cloud ended without our asking: a spot reclaim, a terminate from outside. */
export interface GoneNode {
  readonly nodeId: string;
  /** Why, for people: `spot reclaimed`, or `terminated by someone else (Client.…)`. */
  readonly reason: string;
}

/** What the act step of one tick did so far (filled in by every plan of the tick). */
export interface TickOutcome {
  readonly launched: string[];
  readonly launches: TickLaunch[];
  readonly terminated: string[];
  readonly drained: string[];
  readonly takenBack: string[];
  readonly errors: TickError[];
  readonly retired: string[];
  readonly stopped: StoppedNode[];
  readonly gone: GoneNode[];
}

export function emptyOutcome(): TickOutcome {
  return {
    launched: [],
    launches: [],
    terminated: [],
    drained: [],
    takenBack: [],
    errors: [],
    retired: [],
    stopped: [],
    gone: [],
  };
}

/** Reports kept for /status: the last ticks that did something (launch, drain, take-back, terminate, error). */
export class ReportHistory {
  private readonly size: number;
  private readonly kept: TickReport[] = [];

  constructor(size = 30) {
    this.size = size;
  }

  add(report: TickReport): void {
    if (
      report.launches.length +
        report.terminated.length +
        report.drained.length +
        report.takenBack.length +
        report.errors.length +
        (report.retired?.length ?? 0) +
        (report.gone?.length ?? 0) ===
      0
    )
      return;
    this.kept.push(report);
    if (this.kept.length > this.size) this.kept.shift();
  }

  get reports(): readonly TickReport[] {
    return this.kept;
  }
}
