import type { Clock } from '../../common/clock.js';

/**
 * The tick's calls-per-second cap, kept on the injected clock: a fake clock stepping hours in a
 * second must not stall behind real timers, and a real one spaces calls as before. A sliding
 * window: at most `perSecond` calls start within any 1000 ms of the clock's time.
 */
export class CallRate {
  private readonly clock: Clock;
  /** Start times within the last second, oldest first. */
  private starts: number[] = [];

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Resolves when a call may start (and counts it as started); rejects if `signal` aborts first. */
  async take(perSecond: number, signal?: AbortSignal): Promise<void> {
    const cap = Math.max(1, Math.floor(perSecond));
    for (;;) {
      const now = this.clock.now();
      const windowStart = now - 1000;
      let expired = 0;
      while (expired < this.starts.length && this.starts[expired]! <= windowStart) expired++;
      if (expired > 0) this.starts = this.starts.slice(expired);
      if (this.starts.length < cap) {
        this.starts.push(now);
        return;
      }
      await this.clock.sleep(this.starts[0]! - windowStart, signal);
    }
  }
}
