/**
 * Keeps the tail of what the process writes to stdout and stderr while a job runs, so a failed
 * job's output can be shown by the leader wherever the job ran. Writes still go through.
 */
export class OutputCapture {
  private tail = '';
  private readonly limit: number;
  private restore: (() => void) | undefined;

  constructor(limit = 16 * 1024) {
    this.limit = limit;
  }

  start(): void {
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const keep = (chunk: unknown): void => {
      const text =
        typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      this.tail = (this.tail + text).slice(-this.limit);
    };
    process.stdout.write = (chunk: unknown, ...rest: never[]) => {
      keep(chunk);
      return out(chunk as string, ...rest);
    };
    process.stderr.write = (chunk: unknown, ...rest: never[]) => {
      keep(chunk);
      return err(chunk as string, ...rest);
    };
    this.restore = () => {
      process.stdout.write = out;
      process.stderr.write = err;
    };
  }

  stop(): string {
    this.restore?.();
    this.restore = undefined;
    return this.tail;
  }
}
