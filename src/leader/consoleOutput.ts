import { Writable } from 'node:stream';
import type { Clock } from '../common/clock.js';
import type { WorkflowProgress } from './workflowRunner.js';

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARNING',
  50: 'ERROR',
  60: 'CRITICAL',
};

/** Off a terminal, progress lines come at most this often: a long run shows it moves, a short one is not flooded. */
export const PROGRESS_LINE_EVERY_MS = 15_000;

/**
 * `3/7 jobs, 2 running, 1 waiting to start, 2 held by a job limit, 1 failed`: the bar's words and
 * the progress line's.
 */
export function progressCounts(p: WorkflowProgress): string {
  return (
    `${p.completed}/${p.known} jobs, ${p.running} running` +
    (p.waiting ? `, ${p.waiting} waiting to start` : '') +
    (p.held ? `, ${p.held} held by a job limit` : '') +
    (p.failed ? `, ${p.failed} failed` : '')
  );
}

const SKIP_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', 'v']);

/**
 * What `toil run` prints on stderr: log lines a person reads (pino's JSON turned into
 * `time LEVEL component: message key=value`) and, on a terminal, one progress bar line that log
 * lines scroll above. Without a terminal (stderr to a file, a pipe, a batch log) there is no bar:
 * a `toil: N/M jobs, …` line is printed when the counts change, at most every
 * `progressLineEveryMs`, the first no sooner than that after the start, so a short run prints
 * none and a long one shows it is moving. A change inside the interval is printed when it ends,
 * not at the next change: a run whose last jobs take an hour shows them running within the
 * interval, not an hour later.
 */
export class ConsoleOutput {
  private readonly out: NodeJS.WriteStream;
  private readonly clock: Clock;
  private readonly tty: boolean;
  private readonly copyTo: ((line: string) => void) | undefined;
  private readonly lines: boolean;
  private readonly lineEveryMs: number;
  private bar = '';
  private lastDraw = 0;
  private lastLine = '';
  private lastLineAt: number;
  /** The counts a change inside the interval left to print, and the wait that prints them. */
  private pendingLine: string | undefined;
  private pendingFlush: AbortController | undefined;

  /**
   * `copyTo` also gets every line printed (`--logFile`); `progress: false` draws no bar even on a
   * terminal, and no progress lines off one (`--disableProgress`).
   */
  constructor(
    out: NodeJS.WriteStream,
    clock: Clock,
    options: { copyTo?: (line: string) => void; progress?: boolean; progressLineEveryMs?: number } = {},
  ) {
    this.out = out;
    this.clock = clock;
    this.tty = Boolean(out.isTTY) && options.progress !== false;
    this.lines = !out.isTTY && options.progress !== false;
    this.lineEveryMs = options.progressLineEveryMs ?? PROGRESS_LINE_EVERY_MS;
    this.lastLineAt = clock.now();
    this.copyTo = options.copyTo;
  }

  /** A pino destination that prints readable lines. */
  logDestination(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line) this.printLog(line);
        done();
      },
    });
  }

  progress(p: WorkflowProgress, force = false): void {
    const now = this.clock.now();
    if (!this.tty) {
      if (this.lines) this.progressLine(`toil: ${progressCounts(p)}`, now);
      return;
    }
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const fraction = p.known === 0 ? 0 : p.completed / p.known;
    const filled = Math.round(fraction * width);
    this.bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${progressCounts(p)}`;
    this.out.write(`\r\x1b[2K${this.bar}`);
  }

  /** Removes the bar (before the final summary); a progress line still waiting is dropped. */
  endProgress(): void {
    if (this.tty && this.bar) this.out.write('\r\x1b[2K');
    this.bar = '';
    this.pendingFlush?.abort();
    this.pendingFlush = undefined;
    this.pendingLine = undefined;
  }

  private progressLine(text: string, now: number): void {
    if (text === this.lastLine) {
      this.pendingLine = undefined;
      return;
    }
    const dueAt = this.lastLineAt + this.lineEveryMs;
    if (now >= dueAt) {
      this.printProgressLine(text, now);
      return;
    }
    this.pendingLine = text;
    if (this.pendingFlush) return;
    const flush = new AbortController();
    this.pendingFlush = flush;
    this.clock.sleep(dueAt - now, flush.signal).then(
      () => {
        this.pendingFlush = undefined;
        if (this.pendingLine !== undefined) this.printProgressLine(this.pendingLine, this.clock.now());
      },
      () => undefined, // endProgress: the run is over and its summary follows.
    );
  }

  private printProgressLine(text: string, now: number): void {
    this.line(text);
    this.lastLine = text;
    this.lastLineAt = now;
    this.pendingLine = undefined;
  }

  /** Prints a line above the bar. */
  line(text: string): void {
    this.copyTo?.(text);
    if (this.tty && this.bar) this.out.write(`\r\x1b[2K${text}\n${this.bar}`);
    else this.out.write(`${text}\n`);
  }

  private printLog(json: string): void {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(json) as Record<string, unknown>;
    } catch {
      this.line(json);
      return;
    }
    const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 19) : '';
    const level = LEVEL_NAMES[rec.level as number] ?? String(rec.level);
    const component = typeof rec.component === 'string' ? ` ${rec.component}` : '';
    const extras = Object.entries(rec)
      .filter(([k]) => !SKIP_KEYS.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const msg = typeof rec.msg === 'string' ? rec.msg : '';
    const [first = '', ...rest] = msg.split('\n');
    this.line(`${time} ${level}${component}: ${first}${extras ? ` (${extras})` : ''}`);
    for (const l of rest) this.line(`    ${l}`);
  }
}
