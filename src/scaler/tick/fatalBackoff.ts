import type { Logger } from '../../common/log.js';

/**
 * A launch error retrying cannot fix, as shown in /status: one entry per distinct error (code,
 * offering or scope, message), logged once when first seen, counted after that.
 */
export interface FatalLaunchError {
  readonly code: string;
  readonly message: string;
  /** The cloud's own name of the error (EC2's InvalidGroup.NotFound), when the cloud gave one. */
  readonly cloudCode?: string;
  /** type/zone/capacity backed off, or 'all' when every launch is paused. */
  readonly scope: string;
  readonly firstAt: number;
  lastAt: number;
  count: number;
  backedOffUntil: number;
}

/**
 * Fatal codes no other offering avoids: every launch pauses. The rest (a vCPU or spot limit, a
 * request EC2 rejects for this type or zone, an error of ours) back off only the offering, and the
 * plan moves on.
 */
const CLUSTER_WIDE_FATAL = new Set([
  'NOT_AUTHORISED',
  'CLUSTER_NOT_FOUND',
  'NOT_FOUND',
  'NO_CREDENTIALS',
  'NO_REGION',
]);

/**
 * Backoffs after fatal launch errors: offering → until (ms), and a pause of every launch. Kept in
 * memory on purpose: restarting the leader (or re-running `toil run`) is how an operator says
 * "fixed, try again", so a restarted leader must not sit out an old backoff.
 */
export class FatalBackoffs {
  private readonly log: Logger;
  private readonly seen = new Map<string, FatalLaunchError>();
  private readonly backedOff = new Map<string, number>();
  private pausedUntilMs = 0;

  constructor(log: Logger) {
    this.log = log;
  }

  /** Distinct fatal launch errors, oldest first. */
  get errors(): readonly FatalLaunchError[] {
    return [...this.seen.values()];
  }

  /** Until when every launch is paused (0: never paused). */
  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /** `unavailable` with this leader's live backoffs added (a new object; nothing is changed). */
  withBackoffs(unavailable: Readonly<Record<string, number>>, now: number): Record<string, number> {
    const out = { ...unavailable };
    for (const [key, until] of this.backedOff) if (until > now) out[key] = Math.max(until, out[key] ?? 0);
    return out;
  }

  /** Forgets backoffs that are over. */
  expire(now: number): void {
    for (const [key, until] of this.backedOff) if (until <= now) this.backedOff.delete(key);
  }

  /**
   * Records a launch the cloud refused for good: the offering (or, when no other offering could
   * avoid it, every launch) is backed off until `now + backoffMs`, so the loop does not hammer the
   * API every tick; the error is logged at error level once per distinct error and listed in
   * /status with a count.
   */
  record(
    err: { code: string; message: string; cloudCode?: string; cause?: Error },
    offering: string,
    now: number,
    backoffMs: number,
  ): void {
    const until = now + backoffMs;
    const scope = CLUSTER_WIDE_FATAL.has(err.code) ? 'all' : offering;
    if (scope === 'all') this.pausedUntilMs = until;
    else this.backedOff.set(offering, until);
    const id = `${err.code}\u0000${scope}\u0000${err.message}`;
    const seen = this.seen.get(id);
    if (seen) {
      seen.count++;
      seen.lastAt = now;
      seen.backedOffUntil = until;
      this.log.debug({ code: err.code, scope, count: seen.count }, 'the same fatal launch error again');
      return;
    }
    this.seen.set(id, {
      code: err.code,
      message: err.message,
      ...(err.cloudCode !== undefined ? { cloudCode: err.cloudCode } : {}),
      scope,
      firstAt: now,
      lastAt: now,
      count: 1,
      backedOffUntil: until,
    });
    this.log.error(
      {
        code: err.code,
        scope,
        backedOffUntil: new Date(until).toISOString(),
        message: err.message,
        // An error of unknown kind is a bug: its stack says where.
        ...(err.cause ? { err: err.cause } : {}),
      },
      scope === 'all'
        ? 'launch failed for good: every launch paused (fix the cause; shown in /status)'
        : 'launch failed for good: offering backed off (fix the cause; shown in /status)',
    );
  }
}
