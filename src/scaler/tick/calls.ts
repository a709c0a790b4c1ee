import PQueue from 'p-queue';
import type { Clock } from '../../common/clock.js';
import { ToilError, coerceError, isAbortError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { CallRate } from './callRate.js';
import type { TickConfig } from './config.js';
import type { TickMetrics } from './metrics.js';

/**
 * Every provisioner call of the tick runs here: through a p-queue (bounded concurrency) and a
 * calls-per-second cap on the injected clock, counted by result, and retried when its error says 'retry' (throttled,
 * 5xx, a dropped connection) with exponential backoff on the injected clock. This is the one retry
 * layer of the tick: the clients under it make one attempt each (the composition root builds them so), and its
 * settings are the `tick:` config (maxAttempts, retryBaseDelay, retryMaxDelay).
 */
export class ProvisionerCalls {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: TickMetrics | undefined;
  private readonly abort = new AbortController();
  private queue: PQueue | undefined;
  private readonly rate: CallRate;

  constructor(options: { clock: Clock; log: Logger; metrics?: TickMetrics }) {
    this.clock = options.clock;
    this.log = options.log;
    this.metrics = options.metrics;
    this.rate = new CallRate(options.clock);
  }

  /**
   * Runs `fn`, retrying 'retry' errors up to `tick.maxAttempts` tries; throws the last error.
   * Reads (`queued: false`) skip the queue: its cap is for calls that change the cloud. A read
   * made on a cadence of its own (`paced`) takes its turn in the calls-per-second cap all the same,
   * so it never adds to a burst of the tick's.
   */
  async run<T>(
    tick: TickConfig,
    operation: string,
    fn: () => Promise<T>,
    options: { queued: boolean; paced?: boolean } = { queued: true },
  ): Promise<T> {
    // Stopping now (a second signal): what still must happen (releasing nodes) gets one try.
    if (this.abort.signal.aborted) return fn();
    const queue = this.queueFor(tick);
    const signal = this.abort.signal;
    const paced = async (): Promise<T> => {
      await this.rate.take(tick.callsPerSecond, signal);
      return fn();
    };
    const send = (): Promise<T> =>
      options.queued ? queue.add<T>(paced, { signal }) : options.paced ? paced() : fn();
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await send();
        this.metrics?.provisionerCalls.inc({ operation, result: 'ok' });
        return r;
      } catch (e) {
        const err = coerceError(e);
        const code = err instanceof ToilError ? err.code : isAbortError(err) ? 'ABORTED' : 'UNKNOWN';
        this.metrics?.provisionerCalls.inc({ operation, result: code });
        const retry = err instanceof ToilError && err.disposition === 'retry' && attempt < tick.maxAttempts;
        if (!retry || this.abort.signal.aborted) throw err;
        const delay = Math.min(tick.retryMaxDelay, tick.retryBaseDelay * 2 ** (attempt - 1));
        this.log.warn({ operation, code, attempt, delayMs: delay }, 'provisioner call failed; retrying');
        await this.clock.sleep(delay, this.abort.signal);
      }
    }
  }

  /** Aborts calls waiting in the queue and every pending retry (a second signal); later calls get one try each. */
  abortAll(): void {
    this.abort.abort(new ToilError('ABORTED', 'the leader is stopping now'));
    this.queue?.clear();
  }

  /** Resolves when no call is in flight. */
  async idle(): Promise<void> {
    await this.queue?.onIdle();
  }

  private queueFor(tick: TickConfig): PQueue {
    // The queue bounds concurrency only; the rate cap is CallRate's, on the injected clock
    // (p-queue's own interval cap runs on real timers).
    if (!this.queue || this.queue.concurrency !== tick.concurrency) {
      this.queue = new PQueue({ concurrency: tick.concurrency });
    }
    return this.queue;
  }
}
