/** One point of the status page's plots: the cluster as one scaler tick saw it. */
export interface StatusSample {
  /** When (ms since epoch). */
  readonly at: number;
  /** Nodes by `pool/instanceType/state` (e.g. `spot/t2.medium/registered`). */
  readonly nodes: Readonly<Record<string, number>>;
  readonly queued: number;
  readonly running: number;
  /** What the nodes cost per hour, and what they have cost so far, in dollars. */
  readonly hourlyCost: number;
  readonly costDollars: number;
  /** Spot prices seen, by `instanceType/zone`, in dollars per hour. */
  readonly spotPrices: Readonly<Record<string, number>>;
}

/**
 * The history the status page plots, in a bounded ring buffer: the newest `capacity` samples
 * (a day of one-a-minute ticks by default), oldest dropped first, so a leader running for weeks
 * holds a fixed amount of it.
 */
export class StatusHistory {
  private readonly ring: (StatusSample | undefined)[];
  private next = 0;
  private count = 0;
  readonly capacity: number;

  constructor(capacity = 1440) {
    this.capacity = capacity;
    this.ring = new Array<StatusSample | undefined>(capacity);
  }

  record(sample: StatusSample): void {
    this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The samples, oldest first; only those at or after `since` when given. */
  samples(since?: number): StatusSample[] {
    const out: StatusSample[] = [];
    for (let i = 0; i < this.count; i++) {
      const s = this.ring[(this.next - this.count + i + this.capacity) % this.capacity]!;
      if (since === undefined || s.at >= since) out.push(s);
    }
    return out;
  }
}
