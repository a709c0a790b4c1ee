/**
 * Fault injection for the local EC2 endpoint: what AWS does to a caller on a bad day. Every random
 * choice comes from one seeded generator, so a failing run can be replayed with the same seed.
 */
export type Market = 'spot' | 'on-demand';

/** Capacity for (type, zone, market); an absent field matches any. `remaining: 0` refuses all. */
export interface CapacityRule {
  readonly instanceType?: string;
  readonly zone?: string;
  readonly market?: Market;
  remaining: number;
}

export interface FaultOptions {
  /** Fraction of API calls answered `RequestLimitExceeded` (HTTP 503), before doing anything. */
  readonly throttleRate?: number;
  /**
   * Fraction of API calls answered with a 5xx. Half of them are lost *after* the call took effect
   * (as when a response is lost), which is what makes `ClientToken` matter.
   */
  readonly serverErrorRate?: number;
  /** Chance that a spot instance, once running, is interrupted within `spotInterruptionWindowMs`. */
  readonly spotInterruptionRate?: number;
  readonly spotInterruptionWindowMs?: number;
  /** Most vCPUs of non-terminated on-demand instances (`VcpuLimitExceeded` past it). */
  readonly onDemandVcpuLimit?: number;
  /** Most non-terminated spot instances (`MaxSpotInstanceCountExceeded` past it). */
  readonly spotInstanceLimit?: number;
  readonly capacity?: readonly CapacityRule[];
  readonly seed?: number;
}

/** mulberry32: small, fast, and good enough to decide which call fails. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

export type InjectedFault =
  { kind: 'throttle' } | { kind: 'server-error'; after: boolean; status: 500 | 503 } | undefined;

export class FaultInjector {
  throttleRate: number;
  serverErrorRate: number;
  spotInterruptionRate: number;
  spotInterruptionWindowMs: number;
  onDemandVcpuLimit: number;
  spotInstanceLimit: number;
  private capacity: CapacityRule[];
  private random: () => number;
  /** What was injected so far, for tests and the log. */
  readonly counts = {
    throttled: 0,
    serverErrors: 0,
    lostResponses: 0,
    capacityRefusals: 0,
    interruptions: 0,
  };

  constructor(options: FaultOptions = {}) {
    this.throttleRate = options.throttleRate ?? 0;
    this.serverErrorRate = options.serverErrorRate ?? 0;
    this.spotInterruptionRate = options.spotInterruptionRate ?? 0;
    this.spotInterruptionWindowMs = options.spotInterruptionWindowMs ?? 10 * 60_000;
    this.onDemandVcpuLimit = options.onDemandVcpuLimit ?? Number.POSITIVE_INFINITY;
    this.spotInstanceLimit = options.spotInstanceLimit ?? Number.POSITIVE_INFINITY;
    this.capacity = (options.capacity ?? []).map((r) => ({ ...r }));
    this.random = seededRandom(options.seed ?? 1);
  }

  reseed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** Limits how many more instances of (type, zone, market) may launch; 0 refuses them all. */
  limitCapacity(rule: CapacityRule): void {
    this.capacity.push({ ...rule });
  }

  /** Refuses every launch matching the rule (InsufficientInstanceCapacity). */
  refuseCapacity(rule: Omit<CapacityRule, 'remaining'>): void {
    this.limitCapacity({ ...rule, remaining: 0 });
  }

  clearCapacityRules(): void {
    this.capacity = [];
  }

  /** How many of `wanted` may launch now (the tightest matching rule wins). */
  available(instanceType: string, zone: string, market: Market, wanted: number): number {
    let n = wanted;
    for (const r of this.matching(instanceType, zone, market)) n = Math.min(n, r.remaining);
    return Math.max(0, n);
  }

  consume(instanceType: string, zone: string, market: Market, launched: number): void {
    for (const r of this.matching(instanceType, zone, market))
      r.remaining = Math.max(0, r.remaining - launched);
  }

  /** Decides, for one API call, whether to throttle it or fail it with a 5xx. */
  draw(): InjectedFault {
    const x = this.random();
    if (x < this.throttleRate) {
      this.counts.throttled++;
      return { kind: 'throttle' };
    }
    if (x < this.throttleRate + this.serverErrorRate) {
      this.counts.serverErrors++;
      return { kind: 'server-error', after: this.random() < 0.5, status: this.random() < 0.5 ? 500 : 503 };
    }
    return undefined;
  }

  /** For a spot instance that just started running: when (ms after now) it will be interrupted. */
  drawInterruptionDelay(): number | undefined {
    if (this.spotInterruptionRate <= 0 || this.random() >= this.spotInterruptionRate) return undefined;
    return Math.floor(this.random() * this.spotInterruptionWindowMs);
  }

  /** A uniform number in [0, 1) from the seeded stream (ids and addresses use it). */
  next(): number {
    return this.random();
  }

  private matching(instanceType: string, zone: string, market: Market): CapacityRule[] {
    return this.capacity.filter(
      (r) =>
        (r.instanceType === undefined || r.instanceType === instanceType) &&
        (r.zone === undefined || r.zone === zone) &&
        (r.market === undefined || r.market === market),
    );
  }
}
