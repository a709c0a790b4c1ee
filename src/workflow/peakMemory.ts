import { writeFileSync } from 'node:fs';

/**
 * The peak resident memory of this process while one job ran, and its resident memory as the job
 * started. getrusage's maxRSS (what process.resourceUsage() reads) is a high-water mark over the
 * process's life: a warm worker whose earlier job was bigger would report that job's peak for this
 * one. Linux (4.0 and later) resets the mark to the current resident memory when "5" is written to
 * /proc/self/clear_refs, and maxRSS then counts from there: one small write as the job starts and
 * one system call as it ends. Where the reset is refused the mark is the job's own only for the
 * first job of the process.
 *
 * The peak still holds what the worker held as the job started (Node itself, the workflow module,
 * what earlier jobs left for the garbage collector), which is no job's doing: `startRssBytes` is
 * that floor, so the job's own use is the peak above it (the leader's jobOwnMemory).
 */
let jobsStarted = 0;

export interface PeakMemory {
  readonly peakRssBytes: number;
  readonly peakRssJobOnly: boolean;
  readonly startRssBytes: number;
}

export function measurePeakMemory(): () => PeakMemory {
  const first = jobsStarted++ === 0;
  let reset = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    reset = true;
  } catch {
    // Not Linux, or /proc is not this process's to write: the lifetime mark stands.
  }
  const startRssBytes = process.memoryUsage.rss();
  return () => ({
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    peakRssJobOnly: reset || first,
    startRssBytes,
  });
}
