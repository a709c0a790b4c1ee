/**
 * Output a daemon writes to a stream nobody may be reading: its stdout or stderr piped to a
 * process that stopped reading, or that is gone. pino's own destination (sonic-boom) retries a
 * write the pipe refuses for ever and, at exit, flushes synchronously in a loop that never ends
 * on a full or broken pipe: the event loop is blocked, signal handlers never run, and the daemon
 * ignores SIGTERM until it is killed. Here nothing is written synchronously, nothing is retried
 * after the stream failed (EPIPE: the reader is gone), and what a slow reader has not taken is
 * bounded: past `maxPendingBytes` lines are dropped, counted, and said once the reader catches up.
 */
export class UnreadOutput {
  private readonly stream: NodeJS.WritableStream & { readonly writableLength?: number };
  private readonly maxPendingBytes: number;
  private broken = false;
  private dropped = 0;

  constructor(
    stream: NodeJS.WritableStream & { readonly writableLength?: number },
    options: { maxPendingBytes?: number } = {},
  ) {
    this.stream = stream;
    this.maxPendingBytes = options.maxPendingBytes ?? 4 * 1024 * 1024;
    // A failed write is the reader gone: the daemon goes on, writing no more there. Without a
    // listener the error would reach the process's stray-error handler, which logs it, here.
    stream.on('error', () => {
      this.broken = true;
    });
  }

  /** Writes `text` unless the stream failed, or holds more than maxPendingBytes not yet read. */
  write(text: string): void {
    if (this.broken) return;
    if ((this.stream.writableLength ?? 0) > this.maxPendingBytes) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) {
      this.stream.write(
        `${this.dropped} line(s) of output dropped here: the reader of this output was not reading\n`,
      );
      this.dropped = 0;
    }
    this.stream.write(text);
  }

  /** Whether a write has failed (the reader is gone). */
  get gone(): boolean {
    return this.broken;
  }
}

/**
 * Resolves once the streams have handed their pending output to the system, or after `ms`: how
 * long an ending process waits for a reader before it exits without its last lines.
 */
export async function outputDrained(
  streams: readonly (NodeJS.WritableStream & { readonly writableLength?: number })[],
  ms: number,
): Promise<void> {
  const pending = streams.filter((s) => (s.writableLength ?? 0) > 0);
  if (pending.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(
      pending.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.once('drain', resolve);
            s.once('error', resolve);
            s.once('close', resolve);
          }),
      ),
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
