/**
 * The local region's spot market: a price per instance type × zone that moves over (clock) time,
 * as EC2's does, so that a leader planning on observed prices, a bid below the market and a price
 * rising above a running instance's max price can all be exercised locally.
 *
 * Each (type, zone) follows its own seeded, mean-reverting random walk of the log price around
 * `baseFraction` of on-demand (zones differ by up to ±10 % in their base, so a cheaper zone
 * exists), one step every `stepMs`, never above on-demand (EC2 caps spot there) nor below 10 % of
 * it. A scripted price (a file for tests and demos, or `setPrice` at run time) replaces the walk
 * for its pair from its time on. The price at a time is a pure function of the seed, the options
 * and the script, so a history read twice says the same thing.
 */
import { hash32, type InstanceTypeSpec } from './catalogue.js';
import { seededRandom } from './faults.js';

/** One scripted price: from `at` (ms since the epoch) on, the pair costs `price` $/h. */
export interface ScriptedPrice {
  readonly instanceType: string;
  /** Absent: every zone. */
  readonly zone?: string;
  readonly at: number;
  readonly price: number;
}

export interface SpotMarketOptions {
  /** Seed of every walk (default 1). */
  readonly seed?: number;
  /** Long-run mean of the spot price as a fraction of on-demand (default 0.35, 0 < f ≤ 1). */
  readonly baseFraction?: number;
  /** Standard deviation of one step of the log price (default 0.04). */
  readonly volatility?: number;
  /** How often the walk moves (default 5 minutes). */
  readonly stepMs?: number;
  /** How much history exists before the market opened (default 6 hours). */
  readonly historyMs?: number;
  readonly script?: readonly ScriptedPrice[];
}

/** One entry of the price history: the pair's price from `at` until the next entry. */
export interface PricePoint {
  readonly instanceType: string;
  readonly zone: string;
  readonly price: number;
  readonly at: number;
}

const MIN_FRACTION = 0.1;
/** Pull towards the mean per step: a shock halves in about 14 steps (70 minutes by default). */
const REVERSION = 0.05;

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

export class SpotMarket {
  readonly stepMs: number;
  /** The first step of the history (ms since the epoch, a multiple of stepMs). */
  readonly historyStart: number;
  private readonly seed: number;
  private readonly baseFraction: number;
  private readonly volatility: number;
  private readonly walks = new Map<string, number[]>();
  private script: ScriptedPrice[];

  constructor(openedAt: number, options: SpotMarketOptions = {}) {
    this.seed = options.seed ?? 1;
    this.baseFraction = options.baseFraction ?? 0.35;
    this.volatility = options.volatility ?? 0.04;
    this.stepMs = options.stepMs ?? 5 * 60_000;
    if (!(this.baseFraction > 0 && this.baseFraction <= 1))
      throw new RangeError(`spot baseFraction must be in (0, 1], got ${this.baseFraction}`);
    if (!(this.stepMs > 0)) throw new RangeError(`spot stepMs must be positive, got ${this.stepMs}`);
    const history = options.historyMs ?? 6 * 3_600_000;
    this.historyStart = Math.floor((openedAt - history) / this.stepMs) * this.stepMs;
    this.script = [...(options.script ?? [])].sort((a, b) => a.at - b.at);
  }

  /** From `at` on, the pair (every zone when `zone` is absent) costs `price`. */
  setPrice(instanceType: string, zone: string | undefined, price: number, at: number): void {
    if (!(price > 0)) throw new RangeError(`a spot price must be positive, got ${price}`);
    this.script = [...this.script, { instanceType, ...(zone ? { zone } : {}), at, price }].sort(
      (a, b) => a.at - b.at,
    );
  }

  /** The pair's price at time `t` ($/h, 4 decimals as EC2 quotes small prices). */
  priceAt(type: InstanceTypeSpec, zone: string, t: number): number {
    const scripted = this.scriptedAt(type.name, zone, t);
    if (scripted !== undefined) return scripted;
    const walk = this.walk(type, zone, Math.max(0, Math.floor((t - this.historyStart) / this.stepMs)));
    return round4(type.onDemandPrice * walk);
  }

  /**
   * The pair's price changes within [from, to], newest first, preceded by the price in effect at
   * `from` (stamped when it took effect), as DescribeSpotPriceHistory answers a window.
   */
  history(type: InstanceTypeSpec, zone: string, from: number, to: number): PricePoint[] {
    const start = Math.max(from, this.historyStart);
    if (to < start) return [];
    // Candidate change times: walk steps and scripted points of this pair within the window.
    const times = new Set<number>();
    for (let s = Math.floor((start - this.historyStart) / this.stepMs); ; s++) {
      const at = this.historyStart + s * this.stepMs;
      if (at > to) break;
      times.add(at);
    }
    for (const p of this.script)
      if (p.instanceType === type.name && (p.zone === undefined || p.zone === zone) && p.at <= to)
        times.add(Math.max(p.at, this.historyStart));
    const out: PricePoint[] = [];
    let last: number | undefined;
    for (const at of [...times].sort((a, b) => a - b)) {
      const price = this.priceAt(type, zone, at);
      if (price === last) continue;
      // The entry in effect at `start` is kept with its own timestamp; earlier ones are dropped.
      if (at <= start) out.length = 0;
      out.push({ instanceType: type.name, zone, price, at });
      last = price;
    }
    return out.reverse();
  }

  private scriptedAt(name: string, zone: string, t: number): number | undefined {
    let price: number | undefined;
    for (const p of this.script) {
      if (p.at > t) break;
      if (p.instanceType === name && (p.zone === undefined || p.zone === zone)) price = p.price;
    }
    return price;
  }

  /** The walk's fraction of on-demand at step `k` (0 = historyStart), extended lazily. */
  private walk(type: InstanceTypeSpec, zone: string, k: number): number {
    const key = `${type.name}/${zone}`;
    let steps = this.walks.get(key);
    const h = hash32(`${this.seed}/${key}`);
    // Zones and types differ in their long-run level by up to ±10 %.
    const mean = Math.log(this.baseFraction * (0.9 + (h % 2001) / 10_000));
    if (!steps) {
      steps = [mean];
      this.walks.set(key, steps);
    }
    if (steps.length <= k) {
      for (let i = steps.length; i <= k; i++) {
        // Box–Muller: one standard normal shock per step, from a generator of its own, so the
        // walk is the same however far it was extended before.
        const random = seededRandom((h ^ Math.imul(i, 0x9e3779b1)) >>> 0);
        const u = Math.max(random(), 1e-12);
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
        const prev = steps[i - 1]!;
        const next = prev + REVERSION * (mean - prev) + this.volatility * z;
        steps.push(Math.min(0, Math.max(Math.log(MIN_FRACTION), next)));
      }
    }
    return Math.exp(steps[k]!);
  }
}
