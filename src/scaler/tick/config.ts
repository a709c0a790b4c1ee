import { z } from 'zod';
import { durationMs } from '../../common/configTypes.js';
import { LEADER_HEARTBEAT_DEFAULTS } from './heartbeatDefaults.js';

/**
 * The tick's section of the leader config (`tick:`), parsed with the rest of the file by
 * src/leader/leaderConfig.ts and reloadable. The tick reads it once at its start, so a reload that
 * lands mid-tick takes effect at the next one.
 */
export const TickSchema = z
  .object({
    /** A queue change triggers a tick this soon (batching a burst of submissions into one). */
    queueDebounce: durationMs().default(500),
    /** Provisioner calls in flight at once, and per second. */
    concurrency: z.number().int().min(1).max(64).default(4),
    callsPerSecond: z.number().positive().default(10),
    /**
     * The one retry layer of the tick's provisioner calls: tries per call with a 'retry' error
     * (throttled, 5xx, a dropped connection) before giving up for this tick, and the exponential
     * backoff between them (first delay, cap).
     */
    maxAttempts: z.number().int().min(1).max(10).default(4),
    retryBaseDelay: durationMs().default(500),
    retryMaxDelay: durationMs().default(30_000),
    /** An offering refused for capacity is not planned on for this long. */
    unavailableFor: durationMs().default(180_000),
    /**
     * How often spot interruption notices are read between ticks (one DescribeSpotInstanceRequests
     * per read, paced with the tick's calls): a new notice has its node marked draining at once and
     * wakes a tick, rather than waiting up to a scaleInterval of the notice's two minutes. 0: off
     * (only the ticks read them).
     */
    noticePoll: durationMs()
      .refine((ms) => ms === 0 || ms >= 1000, {
        message: 'expected 0 (off) or a duration of at least 1s (e.g. 5s)',
      })
      .default(5000),
    /** How often spot prices are read again (DescribeSpotPriceHistory). */
    spotPriceRefresh: durationMs().default(600_000),
    /**
     * A launch refused for good (a limit, no permission, no cluster leader) backs off its offering,
     * or every launch when no offering could avoid it, for this long: surfaced, never hot-looped.
     */
    fatalBackoff: durationMs().default(600_000),
    /** Tasks on a draining agent get this long after the node is retired anyway. */
    drainTimeout: durationMs().default(600_000),
    /**
     * How often the leader renews the heartbeat tag on the worker instances it launched (one
     * CreateTags per beat, up to 1000 instances each; a new instance is marked in the tick that
     * launched it). Another leader of the cluster retires an instance once its leader has missed
     * `leaderHeartbeatMisses` beats of the interval written on it, plus `leaderClockSkew`.
     */
    leaderHeartbeat: durationMs().default(LEADER_HEARTBEAT_DEFAULTS.leaderHeartbeat),
    leaderHeartbeatMisses: z
      .number()
      .int()
      .min(2)
      .max(100)
      .default(LEADER_HEARTBEAT_DEFAULTS.leaderHeartbeatMisses),
    /** How far two leaders' clocks may disagree: added to the wait before a beat counts as stopped. */
    leaderClockSkew: durationMs().default(LEADER_HEARTBEAT_DEFAULTS.leaderClockSkew),
    /**
     * Retire worker instances whose leader stopped beating (a leader killed with -9 and never
     * resumed). false: they are only named, like instances without a leader mark.
     */
    retireDeadLeadersNodes: z.boolean().default(true),
  })
  .strict();

export type TickConfig = z.infer<typeof TickSchema>;
