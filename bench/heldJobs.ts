/**
 * `npm run bench -- heldJobs [N…]`: what holding N ready jobs behind --maxJobs costs the leader,
 * and taking them back one slot at a time, oldest first. JSON lines, one per structure and size:
 *   {"bench":"heldJobs","structure":"HeldJobs","jobs":100000,"holdMs":…,"takeMs":…,"nsPerJob":…}
 * `array` is how the leader held them before HeldJobs: an array searched on every hold (so a job
 * is held once) and shifted on every take, O(n²) for n jobs; it is measured up to 100,000 jobs.
 */
import { HeldJobs } from '../src/leader/heldJobs.js';

interface Held {
  hold(id: string): void;
  takeOldest(): string | undefined;
}

/** The structure the leader used before, for comparison. */
class ArrayHeld implements Held {
  private readonly ids: string[] = [];
  hold(id: string): void {
    if (!this.ids.includes(id)) this.ids.push(id);
  }
  takeOldest(): string | undefined {
    return this.ids.shift();
  }
}

const ARRAY_MAX = 100_000;

function measure(structure: string, held: Held, n: number): void {
  const ids = Array.from({ length: n }, (_, i) => `job-${i}`);
  const t0 = process.hrtime.bigint();
  for (const id of ids) held.hold(id);
  const t1 = process.hrtime.bigint();
  let taken = 0;
  while (held.takeOldest() !== undefined) taken++;
  const t2 = process.hrtime.bigint();
  if (taken !== n) throw new Error(`${structure}: took ${taken} of ${n} jobs`);
  const holdMs = Number(t1 - t0) / 1e6;
  const takeMs = Number(t2 - t1) / 1e6;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'heldJobs',
      structure,
      jobs: n,
      holdMs: Math.round(holdMs * 10) / 10,
      takeMs: Math.round(takeMs * 10) / 10,
      nsPerJob: Math.round(((holdMs + takeMs) * 1e6) / n),
    })}\n`,
  );
}

export default async function main(args: string[]): Promise<void> {
  const sizes = args.length > 0 ? args.map(Number) : [10_000, 50_000, 100_000, 1_000_000];
  for (const n of sizes) {
    measure('HeldJobs', new HeldJobs(), n);
    if (n <= ARRAY_MAX) measure('array', new ArrayHeld(), n);
  }
}
