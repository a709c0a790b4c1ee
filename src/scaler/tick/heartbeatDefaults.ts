/**
 * The defaults of the tick's leader-heartbeat settings (`tick.leaderHeartbeat` and the rest, in
 * ./config.ts), apart from their schema: `toil status`, `kill` and `clean` say when a dead run's
 * nodes are retired from these, without loading zod (a hundred modules) for three numbers.
 */
export const LEADER_HEARTBEAT_DEFAULTS = {
  leaderHeartbeat: 300_000,
  leaderHeartbeatMisses: 3,
  leaderClockSkew: 120_000,
} as const;
