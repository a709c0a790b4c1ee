import type { LostAttemptRecord } from '../jobstore/jobRecords.js';

/**
 * What a follower of a run (`toil run --leader`) has not said yet of its lost attempts: the run's
 * status lists the newest of them at every poll, and each is to be said once, when first listed.
 */
export class NewLosses {
  private seen = new Set<string>();
  private count = 0;

  /**
   * The attempts `run` lists that the last poll did not, the newest last, and how many more it
   * lost since then than it lists (a burst past the leader's list, which keeps the newest only).
   */
  take(run: { lostCount?: number; lost?: readonly LostAttemptRecord[] }): {
    fresh: LostAttemptRecord[];
    unlisted: number;
  } {
    const listed = run.lost ?? [];
    const keys = listed.map(lossKey);
    const fresh = listed.filter((_, i) => !this.seen.has(keys[i]!));
    const total = run.lostCount ?? 0;
    // Fewer than before: a restarted leader resumed the run, and counts its own losses anew.
    const added = total >= this.count ? total - this.count : total;
    this.seen = new Set(keys);
    this.count = total;
    return { fresh, unlisted: Math.max(0, added - fresh.length) };
  }
}

/** One attempt's loss: the same job and attempt may be lost again only by a later leader's run. */
function lossKey(l: LostAttemptRecord): string {
  return `${l.jobId}\u0000${l.attempt}\u0000${l.at}`;
}
