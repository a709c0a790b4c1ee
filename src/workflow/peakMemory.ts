import { writeFileSync } from 'node:fs';

/**
 * The peak resident memory of this process while one job ran. getrusage's maxRSS (what
 * process.resourceUsage() reads) is a high-water mark over the process's life: a warm worker
 * whose earlier job was bigger would report that job's peak for this one. Linux (4.0 and later)
 * resets the mark when "5" is written to /proc/self/clear_refs, and maxRSS then counts from there:
 * one small write as the job starts and one system call as it ends. Where the reset is refused
 * the mark is the job's own only for the first job of the process.
 */
let jobsStarted = 0;

export function measurePeakMemory(): () => { peakRssBytes: number; peakRssJobOnly: boolean } {
  const first = jobsStarted++ === 0;
  let reset = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    reset = true;
  } catch {
    // Not Linux, or /proc is not this process's to write: the lifetime mark stands.
  }
  return () => ({ peakRssBytes: process.resourceUsage().maxRSS * 1024, peakRssJobOnly: reset || first });
}
