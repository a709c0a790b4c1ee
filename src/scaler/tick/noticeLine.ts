import type { CapacityType, ScalingPlan } from '../types.js';
import type { TickError, TickLaunch } from './report.js';

/** A spot node of ours whose interruption notice a tick saw first. */
export interface NoticedNode {
  readonly nodeId: string;
  /** As the tick listed it (absent when it was not listed). */
  readonly instanceType?: string;
  readonly market?: CapacityType;
  readonly terminateAt: number;
  /** Our jobs running there when the notice was seen. */
  readonly runningJobs: number;
}

/** What the tick that saw the notice did: its last plan (none when it failed first) and its launches. */
export interface NoticeTick {
  readonly plan: ScalingPlan | undefined;
  readonly launches: readonly TickLaunch[];
  readonly errors: readonly TickError[];
  /** False once the leader stopped launching (SIGTERM). */
  readonly launching: boolean;
}

/** At most this many waiting entries of the plan are named (the plan's log line has them all). */
const WAITING_NAMED = 3;

/**
 * The one log line of a spot interruption notice: the node, when it goes, and what the plan of
 * the tick did for its jobs (planned as queued work from the notice on): the nodes it launched, or
 * why it launched none, so that jobs waiting after a notice are explained where it is told.
 */
export function noticeLine(node: NoticedNode, now: number, tick: NoticeTick): string {
  const inSeconds = Math.max(0, Math.round((node.terminateAt - now) / 1000));
  const what = node.instanceType ? ` (${node.instanceType} ${node.market ?? 'spot'})` : '';
  const head = `spot interruption notice: ${node.nodeId}${what} drained now, reclaimed in ${inSeconds}s`;
  if (node.runningJobs === 0) return `${head} with no job of ours: nothing to replace`;
  return `${head} with ${node.runningJobs} job(s) of ours; ${replacement(tick)}`;
}

function replacement(tick: NoticeTick): string {
  const got = tick.launches.filter((l) => l.instanceIds.length > 0);
  if (got.length > 0)
    return `this tick launched ${got.map(launchedNodes).join(', ')} for the queue they join`;
  return `this tick launched no node for them: ${whyNone(tick)}`;
}

/** `i-1, i-2 (t2.medium spot)`: the offering's key is type/zone/capacity. */
function launchedNodes(l: TickLaunch): string {
  const [instanceType] = l.offering.split('/');
  return `${l.instanceIds.join(', ')} (${instanceType} ${l.capacityType})`;
}

function whyNone(tick: NoticeTick): string {
  const { plan } = tick;
  if (!plan) {
    const error = firstError(tick);
    return `the tick failed before its plan${error ? ` (${error})` : ''}; the next tick plans for them`;
  }
  if (plan.launch.length > 0) {
    if (!tick.launching) return 'the leader is stopping and launches nothing more';
    return `its launch failed (${firstError(tick) ?? 'the cloud gave no instance'})`;
  }
  if (plan.waiting.length > 0)
    return plan.waiting
      .slice(0, WAITING_NAMED)
      .map((w) => `${w.count} ${w.jobName}: ${w.reason}`)
      .join('; ');
  return 'the plan finds them room on the nodes there are or booting';
}

function firstError(tick: NoticeTick): string | undefined {
  const e = tick.errors[0];
  return e ? `${e.action}: ${e.message.split('\n')[0]}` : undefined;
}
