import { readHeartbeat, type LeaderBeat } from '../../ports/leaderHeartbeat.js';
import type { ProvisionedNode } from '../../ports/provisioner.js';
import type { TickConfig } from './config.js';

/**
 * What a leader makes of a worker instance of its cluster that it did not launch, from the mark
 * on it (src/ports/leaderHeartbeat.ts):
 * - unmarked: no leader mark (launch-cluster --workers, a leader of an older version, a leader
 *   whose credentials may not tag). Nothing says whether it is wanted: never retired, only named.
 * - live: its leader beat within the grace. It is that leader's, whatever it looks like now (idle
 *   between two phases of a workflow, say): never touched.
 * - kept: its leader stopped and kept it on purpose (`--keepNodes`, `shutdown.releaseNodes: false`),
 *   to be adopted when it is started again: never retired, only named.
 * - stopped: its leader missed `leaderHeartbeatMisses` beats of the interval written on the
 *   instance, plus `leaderClockSkew`. A leader that lives renews every interval, so only a leader
 *   that is gone (killed with -9, its machine lost) or cut off from EC2 for that long leaves this.
 *
 * The beat's time is the beating leader's clock and `now` the judge's: the skew margin absorbs a
 * difference between the two clocks up to its size. The interval is the one the beating leader
 * wrote, not the judge's own: a leader configured to beat rarely is not judged by a stricter one.
 */
/** The judge's settings: how many beats may be missed, and the clock skew allowed for. */
export type Judging = Pick<TickConfig, 'leaderHeartbeatMisses' | 'leaderClockSkew'>;

export type ForeignMark =
  | { readonly kind: 'unmarked' }
  | { readonly kind: 'kept'; readonly beat: LeaderBeat }
  | { readonly kind: 'live' | 'stopped'; readonly beat: LeaderBeat; readonly staleAt: number };

export function judgeForeign(node: ProvisionedNode, now: number, tick: Judging): ForeignMark {
  const beat = readHeartbeat(node.tags);
  if (!beat) return { kind: 'unmarked' };
  if (beat.kept) return { kind: 'kept', beat };
  const staleAt = beat.at + beat.everyMs * tick.leaderHeartbeatMisses + tick.leaderClockSkew;
  return { kind: now > staleAt ? 'stopped' : 'live', beat, staleAt };
}

/** A worker instance retired because its leader stopped beating: the decision, for /status. */
export interface RetiredNode {
  readonly id: string;
  readonly instanceType: string;
  readonly market: string;
  readonly pricePerHour: number;
  readonly launchedAt: number;
  readonly leaderId: string;
  readonly lastBeatAt: number;
  readonly beatEveryMs: number;
}

const minutes = (ms: number): number => Math.round(Math.max(0, ms) / 60_000);

/** The log line (and /status reason) of one retirement. */
export function retirementReason(n: RetiredNode, now: number, tick: Judging): string {
  return (
    `its leader ${n.leaderId} stopped beating: last beat ${new Date(n.lastBeatAt).toISOString()} ` +
    `(${minutes(now - n.lastBeatAt)} min ago; it beats every ${Math.round(n.beatEveryMs / 1000)} s, and an ` +
    `instance is retired after ${tick.leaderHeartbeatMisses} missed beats plus ` +
    `${Math.round(tick.leaderClockSkew / 1000)} s for clock skew); tick.retireDeadLeadersNodes: false keeps such instances`
  );
}

export function retirementLine(n: RetiredNode, now: number, tick: Judging): string {
  return (
    `retiring worker instance ${n.id} (${n.instanceType} ${n.market}, $${n.pricePerHour.toFixed(4)}/h, ` +
    `up ${minutes(now - n.launchedAt)} min) of a leader that is gone: ${retirementReason(n, now, tick)}`
  );
}
