import { formatBytes, formatBytesIn, writtenUnits } from '../common/units.js';

const MI = 2 ** 20;
const GI = 2 ** 30;

/**
 * Jobs that used more memory than they declared. Nothing enforces a job's memory (Toil's
 * single_machine does not either), but a batch system places jobs by what they declare, so one that
 * uses more takes memory its node gave to other jobs. One warning per
 * job; of a job name warned of before, only when it used more than the memory that warning
 * suggested, so a thousand copies of one job say it once, and every suggestion is enough for every
 * run of that name seen so far.
 */
export class MemoryOverDeclared {
  /** Per job name, the memory the last warning suggested. */
  private readonly suggested = new Map<string, number>();

  /**
   * The warning for a job whose peak exceeded `declaredBytes`, or undefined. `peakBytes` is what the
   * job itself added (jobOwnMemory of a commit whose peakRssJobOnly): a warm worker's peak over
   * earlier jobs, or what they left resident, would blame this one.
   */
  check(name: string, declaredBytes: number, peakBytes: number): string | undefined {
    if (peakBytes <= declaredBytes) return undefined;
    const before = this.suggested.get(name);
    if (before !== undefined && peakBytes <= before) return undefined;
    const { text, bytes } = suggestedMemory(peakBytes);
    this.suggested.set(name, bytes);
    return (
      `job '${name}' used ${formatBytes(peakBytes)} of memory at its peak (what its worker process's resident memory grew by while it ran), ` +
      `more than the ${formatBytesIn(declaredBytes, writtenUnits(declaredBytes))} it declares; ` +
      `a batch system places jobs by the memory they declare, so its node may run short: ` +
      `declare memory: '${text}' (its peak and a tenth more)`
    );
  }
}

/**
 * What a job itself added to its worker's resident memory at its peak: the peak above the worker's
 * resident memory as the job started (JobCommit.startRssBytes), so a warm worker's leftovers are
 * not charged to it. A commit of an earlier version, without the start, counts from 0.
 */
export function jobOwnMemory(peakRssBytes: number, startRssBytes = 0): number {
  return Math.max(0, peakRssBytes - startRssBytes);
}

/** The peak and a tenth more for the jitter between runs, in whole MiB, or tenths of a GiB from 10 GiB on. */
export function suggestedMemory(peakBytes: number): { text: string; bytes: number } {
  // Times 11 then divided: 1.1 itself is no binary fraction, and 12 GiB × 1.1 would round up to 13.3.
  const mi = Math.ceil((peakBytes * 11) / MI / 10);
  if (mi < 10 * 1024) return { text: `${mi}Mi`, bytes: mi * MI };
  const tenths = Math.ceil((peakBytes * 11) / GI);
  return { text: `${(tenths / 10).toFixed(1)}Gi`, bytes: (tenths * GI) / 10 };
}
