import type { LostAttemptRecord } from '../jobstore/jobRecords.js';

/** How many of a run's lost attempts its running record lists (the newest); the count stays whole. */
export const MAX_LOST_LISTED = 20;

/**
 * The attempts a run lost with their node, for `toil status`: which job, where and why, and what
 * followed (run again, moved to on-demand, failed, or not run again since it had committed). The
 * leader's log says each as it happens; a user asking the job store later saw only the attempt
 * numbers go up.
 */
export class LostAttempts {
  private count = 0;
  private readonly recent: LostAttemptRecord[] = [];

  add(lost: LostAttemptRecord): void {
    this.count++;
    this.recent.push(lost);
    if (this.recent.length > MAX_LOST_LISTED) this.recent.shift();
  }

  /** What the running record says of them: nothing while none was lost. */
  record(): { lostCount?: number; lost?: readonly LostAttemptRecord[] } {
    return this.count === 0 ? {} : { lostCount: this.count, lost: [...this.recent] };
  }
}

/**
 * The line said of one lost attempt: the leader's log says it as it happens, and `toil run --leader`
 * says the same of the leader's run as it follows it, so a loss reads alike wherever the run is.
 */
export function lostAttemptLine(l: Pick<LostAttemptRecord, 'name' | 'why' | 'next'>): string {
  const lost = `job '${l.name}' lost (${l.why})`;
  switch (l.next) {
    case 'spot':
    case 'on-demand':
      return `${lost}; running it again (no retry spent)`;
    case 'moved-to-on-demand':
      return `${lost}; running it on on-demand (lost on spot more than --preemptableRetries times)`;
    case 'failure':
      return `${lost}; failed: lost too many times`;
    case 'committed':
      return `${lost} after it had committed: its result stands, not run again`;
  }
}
