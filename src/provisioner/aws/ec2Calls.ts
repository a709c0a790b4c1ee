import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { ProvisionerError } from '../errors.js';
import { translateEc2Error, type Ec2EndpointInUse } from './ec2Errors.js';

/** Retries on top of the SDK's own, for throttling and 5xx only (each call is idempotent or tokened). */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 20_000 };

/** For callers that retry themselves (the scaler tick): one attempt, errors translated. */
export const SINGLE_ATTEMPT: RetryPolicy = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

export interface Ec2CallStats {
  calls: number;
  /** Retries this layer made (the SDK's own are on top, in `$metadata.attempts`). */
  retries: number;
  sdkAttempts: number;
  readonly failuresByCode: Map<string, number>;
}

/**
 * Every EC2 call the adapter makes goes through here: one debug line per call, the SDK's error
 * translated into a ProvisionerError, and throttling / 5xx retried with full-jitter backoff on the
 * injected clock once the SDK's own retries are spent (a busy account throttles for longer than
 * the SDK's three attempts cover).
 */
export class Ec2Calls {
  readonly client: EC2Client;
  readonly stats: Ec2CallStats = { calls: 0, retries: 0, sdkAttempts: 0, failuresByCode: new Map() };
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;
  private readonly endpoint: Ec2EndpointInUse | undefined;

  constructor(options: {
    client: EC2Client;
    clock: Clock;
    log: Logger;
    retry?: RetryPolicy;
    random?: () => number;
    /** Where the client sends, named when nothing answers there. */
    endpoint?: Ec2EndpointInUse;
  }) {
    this.client = options.client;
    this.clock = options.clock;
    this.log = options.log;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.random = options.random ?? Math.random;
    this.endpoint = options.endpoint;
  }

  async call<T extends { $metadata?: { attempts?: number } }>(
    operation: string,
    send: (client: EC2Client) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.stats.calls++;
      try {
        const out = await send(this.client);
        this.stats.sdkAttempts += out.$metadata?.attempts ?? 1;
        return out;
      } catch (thrown) {
        const attempts = (thrown as { $metadata?: { attempts?: number } }).$metadata?.attempts;
        this.stats.sdkAttempts += attempts ?? 1;
        const err: ProvisionerError = translateEc2Error(thrown, operation, this.endpoint);
        this.stats.failuresByCode.set(err.code, (this.stats.failuresByCode.get(err.code) ?? 0) + 1);
        const retryable = err.code === 'THROTTLED' || err.code === 'EC2_UNAVAILABLE';
        if (!retryable || attempt >= this.retry.maxAttempts) {
          this.log.debug({ operation, code: err.code, cloudCode: err.cloudCode, attempt }, 'EC2 call failed');
          throw err;
        }
        const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const delay = Math.floor(this.random() * cap);
        this.stats.retries++;
        this.log.debug({ operation, code: err.code, attempt, delayMs: delay }, 'EC2 call will be retried');
        await this.clock.sleep(delay);
      }
    }
  }
}
