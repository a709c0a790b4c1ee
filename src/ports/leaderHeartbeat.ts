/**
 * The mark a leader keeps on the worker instances it launched: its id and a heartbeat (when it
 * last showed it lives, and how often it promised to show it). Another leader of the cluster that
 * finds the beat long stopped knows the launching leader is gone and may retire the instance; an
 * instance without the mark (launch-cluster --workers, a leader of an older version, or one whose
 * leader could never write the mark) is never judged.
 */

/** The id of the leader that launched the instance (stable across its restarts). */
export const LEADER_TAG = 'toil-leader';

/**
 * `<ISO time> every <seconds>s`: the leader's last beat, and the interval it beats at; or
 * `<ISO time> kept`: the leader stopped then and kept the instance on purpose (`--keepNodes`,
 * `shutdown.releaseNodes: false`), so its silence is no sign that it is gone.
 */
export const LEADER_HEARTBEAT_TAG = 'toil-leader-heartbeat';

export interface LeaderBeat {
  readonly leaderId: string;
  /** When the beat was given, on the leader's clock (ms since the epoch). */
  readonly at: number;
  /** How often the leader beats (ms): the judge of staleness counts missed beats of this. */
  readonly everyMs: number;
  /** The leader's last word at a stop that kept its instances: it beats no more, on purpose. */
  readonly kept?: true;
}

/** The tags one beat writes (both: an instance adopted from an older version gains its mark). */
export function heartbeatTags(beat: LeaderBeat): Record<string, string> {
  return {
    [LEADER_TAG]: beat.leaderId,
    [LEADER_HEARTBEAT_TAG]:
      `${new Date(beat.at).toISOString()} ` +
      (beat.kept ? 'kept' : `every ${Math.round(beat.everyMs / 1000)}s`),
  };
}

/**
 * The beat an instance's tags carry; undefined when it has no leader mark, or a mark that does not
 * read as one (then it is never judged: a mark that cannot be read proves nothing).
 */
export function readHeartbeat(tags: Readonly<Record<string, string>>): LeaderBeat | undefined {
  const leaderId = tags[LEADER_TAG];
  const m = /^(\S+) (?:every (\d+)s|(kept))$/.exec(tags[LEADER_HEARTBEAT_TAG] ?? '');
  if (!leaderId || !m) return undefined;
  const at = Date.parse(m[1]!);
  if (Number.isNaN(at)) return undefined;
  if (m[3]) return { leaderId, at, everyMs: 0, kept: true };
  const everyMs = Number(m[2]) * 1000;
  return everyMs > 0 ? { leaderId, at, everyMs } : undefined;
}
