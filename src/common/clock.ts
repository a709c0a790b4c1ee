/**
 * Time as a port. The scaler and the leader never read the wall clock or arm a timer themselves:
 * they take a Clock, so a test can step a fake one through an hour of scaling in milliseconds.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds of this clock's time. Rejects with the signal's reason
   * (an AbortError) if the signal aborts first; never resolves early otherwise.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

/** The longest delay a Node timer takes: a longer one fires after 1 ms, with a warning. */
const MAX_TIMER_MS = 2_147_483_647;

/** The wall clock. Only main.ts and the CLI entry points construct one. */
export class RealClock implements Clock {
  /** `maxTimerMs`: the longest single timer armed (a test makes it short to see long sleeps chained). */
  private readonly maxTimerMs: number;

  constructor(maxTimerMs = MAX_TIMER_MS) {
    this.maxTimerMs = maxTimerMs;
  }

  now(): number {
    return Date.now();
  }

  /**
   * A sleep past Node's timer limit (about 24.8 days: a config's `scaleInterval: 30d`) is armed in
   * pieces; armed whole it would fire at once, and a loop sleeping that long would spin.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      let left = Math.max(0, ms);
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal!));
      };
      const arm = (): void => {
        const piece = Math.min(left, this.maxTimerMs);
        left -= piece;
        timer = setTimeout(() => {
          if (left > 0) {
            arm();
            return;
          }
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, piece);
      };
      arm();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

interface Sleeper {
  wakeAt: number;
  seq: number;
  resolve: () => void;
}

/**
 * A clock that moves only when told to. `advance(ms)` wakes every sleeper whose time has come, in
 * order of wake time, and lets their continuations run before moving on, so a loop driven by this
 * clock behaves as it would in real time, only faster.
 */
export class ManualClock implements Clock {
  private current: number;
  private sleepers: Sleeper[] = [];
  private seq = 0;

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  /** How many sleepers are waiting; lets a test wait until a loop has gone to sleep. */
  get pendingSleepers(): number {
    return this.sleepers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const sleeper: Sleeper = { wakeAt: this.current + Math.max(0, ms), seq: this.seq++, resolve: () => {} };
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(abortReason(signal!));
      };
      sleeper.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Moves time forward by `ms`, waking sleepers as their time comes. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.nextSleeper();
      if (!next || next.wakeAt > target) break;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      this.current = Math.max(this.current, next.wakeAt);
      next.resolve();
    }
    this.current = target;
    await flushMicrotasks();
  }

  /** Sets the time directly (never backwards); wakes nobody. */
  set(ms: number): void {
    this.current = Math.max(this.current, ms);
  }

  private nextSleeper(): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.sleepers) {
      if (!best || s.wakeAt < best.wakeAt || (s.wakeAt === best.wakeAt && s.seq < best.seq)) best = s;
    }
    return best;
  }
}

/** Lets pending promise continuations (and one macrotask turn) run. */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
