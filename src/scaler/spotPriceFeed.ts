/**
 * The leader's view of the spot market: the newest price of every configured spot type × zone,
 * read through the Provisioner port (DescribeSpotPriceHistory on AWS) when the leader starts and
 * every `refreshMs` after (tick.spotPriceRefresh, default 10 minutes). Spot prices move slowly
 * (hourly at most, usually), so a refresh per tick would only spend API calls.
 *
 * A failed refresh keeps the last prices, says so (one warning per failure, `status().lastError`)
 * and is tried again after `retryMs`; every price carries its age, and prices older than the
 * refresh period are marked stale. A pair never observed has no entry: the policy then plans on
 * the bid and lets the launch decide, so a missing price never blocks a launch.
 */
import type { Clock } from '../common/clock.js';
import { coerceError, ToilError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { SpotPrice } from '../ports/provisioner.js';
import type { OfferingState } from './types.js';

/** What the feed needs of a provisioner. */
export interface SpotPriceSource {
  spotPrices(instanceTypes: readonly string[], zones?: readonly string[]): Promise<SpotPrice[]>;
}

/** One observed price, as the plan and /status show it. */
export interface ObservedSpotPrice {
  readonly instanceType: string;
  readonly zone: string;
  /** $/h. */
  readonly price: number;
  readonly source: 'observed';
  /** When the price took effect on the market (ms since the epoch). */
  readonly since: number;
  /** When this leader read it (ms since the epoch). */
  readonly observedAt: number;
  /** now − observedAt, in seconds. */
  readonly ageSeconds: number;
  /** Not confirmed by the last refresh (it failed, or no longer lists the pair). */
  readonly stale: boolean;
}

export interface SpotPriceFeedStatus {
  /** The last refresh that answered (ms since the epoch). */
  readonly lastRefreshAt?: number;
  readonly lastAttemptAt?: number;
  /** Set while the last attempt failed: the prices shown are the ones read before. */
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: number };
  readonly refreshSeconds: number;
  readonly pairs: number;
}

export interface SpotPriceFeedOptions {
  readonly source: SpotPriceSource;
  readonly clock: Clock;
  readonly log: Logger;
  /** Read at every call, so a reloaded config takes effect at the next tick. */
  readonly refreshMs: () => number;
  /** After a failure, try again this soon (default: a minute, or refreshMs if shorter). */
  readonly retryMs?: number;
}

interface Entry {
  readonly price: SpotPrice;
  readonly observedAt: number;
}

const pairKey = (type: string, zone: string): string => `${type}/${zone}`;

export class SpotPriceFeed {
  private readonly o: SpotPriceFeedOptions;
  private readonly log: Logger;
  private readonly prices = new Map<string, Entry>();
  private wanted = '';
  private lastRefreshAt: number | undefined;
  private lastAttemptAt: number | undefined;
  private lastError: { code: string; message: string; at: number } | undefined;
  /** Refreshes of this leader that failed, since it started. */
  failures = 0;
  refreshes = 0;

  constructor(options: SpotPriceFeedOptions) {
    this.o = options;
    this.log = options.log.child({ component: 'spot-prices' });
  }

  /**
   * Reads the prices of `instanceTypes` × `zones` when they were never read, when the set asked
   * for changed (a reloaded config), when `refreshMs` passed since the last refresh, or (after a
   * failure) when `retryMs` passed; `soonerMs`, when given and shorter, stands for `refreshMs`.
   * Never throws: a failure is kept in `status()`.
   */
  async refreshIfDue(
    instanceTypes: readonly string[],
    zones: readonly string[],
    soonerMs?: number,
  ): Promise<void> {
    const types = [...new Set(instanceTypes)].sort();
    const wanted = `${types.join(',')}|${[...zones].sort().join(',')}`;
    if (types.length === 0 || zones.length === 0) {
      this.wanted = wanted;
      this.prices.clear();
      return;
    }
    const now = this.o.clock.now();
    const refreshMs = Math.min(this.o.refreshMs(), soonerMs ?? Infinity);
    const wait = this.lastError ? Math.min(this.o.retryMs ?? 60_000, refreshMs) : refreshMs;
    const due =
      wanted !== this.wanted || this.lastAttemptAt === undefined || now - this.lastAttemptAt >= wait;
    if (!due) return;
    if (wanted !== this.wanted)
      for (const [k, e] of this.prices)
        if (!types.includes(e.price.instanceType) || !zones.includes(e.price.zone)) this.prices.delete(k);
    this.wanted = wanted;
    this.lastAttemptAt = now;
    try {
      const read = await this.o.source.spotPrices(types, zones);
      const at = this.o.clock.now();
      for (const p of read) this.prices.set(pairKey(p.instanceType, p.zone), { price: p, observedAt: at });
      this.lastRefreshAt = at;
      this.refreshes++;
      if (this.lastError)
        this.log.info({ failedSince: new Date(this.lastError.at).toISOString() }, 'spot prices read again');
      this.lastError = undefined;
      this.log.debug(
        { prices: read.map((p) => `${p.instanceType}/${p.zone} $${p.price}`) },
        'spot prices refreshed',
      );
    } catch (e) {
      const err = coerceError(e);
      this.failures++;
      this.lastError = {
        code: err instanceof ToilError ? err.code : 'UNKNOWN',
        message: err.message,
        at: now,
      };
      this.log.warn(
        {
          code: this.lastError.code,
          message: err.message,
          keeping: this.prices.size,
          lastRefreshAt:
            this.lastRefreshAt === undefined ? undefined : new Date(this.lastRefreshAt).toISOString(),
        },
        'could not read spot prices; keeping the last ones',
      );
    }
  }

  /** The observed prices of the pairs asked for last, for the snapshot. */
  offerings(): OfferingState[] {
    return [...this.prices.values()].map((e) => ({
      instanceType: e.price.instanceType,
      zone: e.price.zone,
      capacityType: 'spot',
      pricePerHour: e.price.price,
    }));
  }

  /** Every observed price with its age, for the plan, /status and /metrics. */
  view(now = this.o.clock.now()): ObservedSpotPrice[] {
    return [...this.prices.values()]
      .map((e) => ({
        instanceType: e.price.instanceType,
        zone: e.price.zone,
        price: e.price.price,
        source: 'observed' as const,
        since: e.price.at,
        observedAt: e.observedAt,
        ageSeconds: Math.round((now - e.observedAt) / 1000),
        stale: e.observedAt !== this.lastRefreshAt || this.lastError !== undefined,
      }))
      .sort((a, b) => a.instanceType.localeCompare(b.instanceType) || a.zone.localeCompare(b.zone));
  }

  status(): SpotPriceFeedStatus {
    return {
      ...(this.lastRefreshAt !== undefined ? { lastRefreshAt: this.lastRefreshAt } : {}),
      ...(this.lastAttemptAt !== undefined ? { lastAttemptAt: this.lastAttemptAt } : {}),
      ...(this.lastError ? { lastError: { ...this.lastError } } : {}),
      refreshSeconds: this.o.refreshMs() / 1000,
      pairs: this.prices.size,
    };
  }
}
