/**
 * A lower bound on what any schedule of a corpus case can cost in the simulator, to tell a target
 * no policy can reach from one ours misses. Every job holds its cores and memory for its runtime
 * on a node that fits it (spot only for preemptable work with spot allowed; non-preemptable work
 * on on-demand), and a node's jobs together take at most all of its packable cores and all of its
 * memory. So for any λ in [0, 1] a node costs at least price × Σ over its jobs of
 * (λ·cores ÷ node cores + (1 − λ)·memory ÷ node memory), and the whole run at least
 * Σ_jobs runtime × min over the job's offerings of that price-weighted share. The bound is the best
 * λ on a grid. It ignores boot time, the billing minimum, idle nodes, re-runs after spot
 * interruptions, limits and dependencies, so it is below every real schedule, often well below.
 */
import type { ScalerConfig } from '../src/scaler/config.js';
import { typeTable } from '../src/scaler/offerings.js';
import { archMatches, maxFit } from '../src/scaler/shapes.js';
import type { SimulationConfig } from '../src/scaler/simulator/config.js';
import type { Trace } from '../src/scaler/simulator/trace.js';

/** Lowest $ any schedule of `trace` on this cluster could cost (see the module comment). */
export function costFloor(trace: Trace, scaler: ScalerConfig, sim: SimulationConfig): number {
  const types = typeTable(scaler);
  const spotAllowed = scaler.maxPreemptableNodes !== 0;
  // Per (instance type, capacity type): the cheapest price over zones and what a node can give jobs.
  const pools: { price: number; spot: boolean; name: string }[] = [];
  for (const nt of scaler.nodeTypes)
    for (const it of nt.instanceTypes) {
      const spot = nt.capacityType === 'spot';
      const price = spot
        ? Math.min(
            ...scaler.zones.map(
              (z) =>
                sim.spotPrices[`${it.name}/${z}`] ??
                sim.spotPrices[it.name] ??
                Math.round(it.onDemandPrice * sim.spotPriceRatio * 10_000) / 10_000,
            ),
          )
        : it.onDemandPrice;
      pools.push({ price, spot, name: it.name });
    }
  let best = 0;
  for (let step = 0; step <= 20; step++) {
    const lambda = step / 20;
    let total = 0;
    for (const j of trace.jobs) {
      const req = { cores: j.cores, memoryBytes: j.memoryBytes, diskBytes: j.diskBytes, gpus: 0 };
      let perHour = Infinity;
      for (const p of pools) {
        if (p.spot && (!j.preemptable || !spotAllowed)) continue;
        const e = types.byName.get(p.name)!;
        if (
          maxFit(e.packable, req) < 1 ||
          !archMatches({ ...req, preemptable: j.preemptable }, e.type.architecture)
        )
          continue;
        const share =
          lambda * (j.cores / e.packable.cores) + (1 - lambda) * (j.memoryBytes / e.packable.memoryBytes);
        perHour = Math.min(perHour, p.price * share);
      }
      if (Number.isFinite(perHour)) total += (perHour * j.runtime) / 3600;
    }
    best = Math.max(best, total);
  }
  return best;
}
