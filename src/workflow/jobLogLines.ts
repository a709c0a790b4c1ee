import type { LogLine } from '../jobstore/jobRecords.js';

/** What a job's log keeps of its first lines, and of its last: the rest is counted, not kept. */
export const JOB_LOG_KEPT_BYTES = 512 * 1024;
/** The longest message a log line keeps. */
export const JOB_LOG_LINE_CHARS = 16 * 1024;

/**
 * The lines a job logs (`job.log`, Toil's logToMaster) as its commit carries them to the leader:
 * the first and the last 512 KiB, with one line between saying how many were left out. A job
 * logging in a loop would otherwise put every line in its commit, which the leader reads whole:
 * 200,000 lines took a leader to 266 MB, and a few million would end a leader daemon, and every
 * workflow it runs, for one workflow's bug.
 */
export class JobLogLines {
  private readonly head: LogLine[] = [];
  private headBytes = 0;
  private tail: LogLine[] = [];
  /** The tail's first kept line; those before it were dropped (compacted now and then). */
  private tailStart = 0;
  private tailBytes = 0;
  private dropped = 0;
  private droppedBytes = 0;
  private firstDroppedAt: number | undefined;

  private readonly keptBytes: number;

  constructor(keptBytes = JOB_LOG_KEPT_BYTES) {
    this.keptBytes = keptBytes;
  }

  push(line: LogLine): void {
    const kept =
      line.message.length <= JOB_LOG_LINE_CHARS
        ? line
        : {
            ...line,
            message: `${line.message.slice(0, JOB_LOG_LINE_CHARS)}… [${line.message.length - JOB_LOG_LINE_CHARS} more characters left out]`,
          };
    const size = sizeOf(kept);
    if (this.tail.length === 0 && this.headBytes + size <= this.keptBytes) {
      this.head.push(kept);
      this.headBytes += size;
      return;
    }
    this.tail.push(kept);
    this.tailBytes += size;
    while (this.tailBytes > this.keptBytes && this.tailStart < this.tail.length - 1) {
      const gone = this.tail[this.tailStart++]!;
      this.tailBytes -= sizeOf(gone);
      this.dropped++;
      this.droppedBytes += gone.message.length;
      this.firstDroppedAt ??= gone.time;
    }
    if (this.tailStart > 1024 && this.tailStart * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }

  /** The kept lines, in order, with the line that counts the ones left out where they were. */
  lines(): LogLine[] {
    const tail = this.tail.slice(this.tailStart);
    if (this.dropped === 0) return [...this.head, ...tail];
    const gap: LogLine = {
      level: 'warn',
      message: `[${this.dropped} log line(s), ${(this.droppedBytes / 2 ** 20).toFixed(1)} MiB, left out here: a job's log keeps its first and last ${this.keptBytes / 1024} KiB; write more to a file (job.fileStore) and return its id]`,
      time: this.firstDroppedAt ?? tail[0]?.time ?? 0,
    };
    return [...this.head, gap, ...tail];
  }
}

/** A line's share of the budget: its message, and room for its level and time as JSON. */
function sizeOf(line: LogLine): number {
  return line.message.length + 48;
}
