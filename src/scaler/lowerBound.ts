import type { ScalerConfig } from './config.js';
import { groupQueue } from './jobClasses.js';
import { solveConfigurationLp, solveCoveringLpWithDuals } from './lp.js';
import { buildOfferings, typeTable } from './offerings.js';
import { estimateRuntime } from './runtimes.js';
import { archMatches, maxFit } from './shapes.js';
import type { ScalingSnapshot } from './types.js';

/**
 * The fractional lower bound on the hourly cost of new nodes for a queue on an empty cluster, in
 * the cost policy's own model: each job class needs `count / perSlot` slots (a slot holds one
 * job's resources for the window and runs `floor((targetTime − boot) / runtime) + 1` jobs back to
 * back) and node counts may be fractional. Every constraint below holds for any integral plan in
 * that model, so the LP optimum is a valid lower bound (solved exactly):
 * - per job shape: the nodes that can hold it offer at least its slots (a node of type o holds
 *   at most `maxFit(o, shape)` of them);
 * - per set of offerings some class is confined to (those that fit it and that it may use —
 *   on-demand only unless preemptable): their cores, memory and disk cover every class confined
 *   to a subset of that set;
 * - all work is covered by all capacity, non-preemptable work by on-demand capacity.
 * It drops integrality of node counts and the interplay of classes inside one node, and ignores
 * limits; it does not bound schedules outside the model (jobs starting after targetTime).
 */
export function fractionalLowerBound(snapshot: ScalingSnapshot, config: ScalerConfig): number {
  const types = typeTable(config);
  const offerings = buildOfferings(config, snapshot).filter((o) => o.available);
  const window = Math.max(config.targetTimeSeconds, config.bootTimeSeconds) - config.bootTimeSeconds;
  const GiB = 2 ** 30;
  const caps = offerings.map((o) => {
    const e = types.byName.get(o.instanceType)!;
    return { p: e.packable, arch: e.type.architecture, od: o.capacityType === 'on-demand' };
  });
  const classes = groupQueue(snapshot.queued).map((c) => {
    const r = estimateRuntime(snapshot.runtimes, c, {
      unknownRuntimeSeconds: config.unknownRuntimeSeconds,
      targetTimeSeconds: config.targetTimeSeconds,
    }).seconds;
    const slots = c.count / (Math.floor(window / r) + 1);
    const eligible = caps.map(
      (k) => (k.od || c.request.preemptable) && archMatches(c.request, k.arch) && maxFit(k.p, c.request) >= 1,
    );
    const vec = [
      c.request.cores * slots,
      (c.request.memoryBytes / GiB) * slots,
      (c.request.diskBytes / GiB) * slots,
    ];
    return { c, slots, eligible, vec };
  });
  const rows: { demand: number; coverage: number[] }[] = [];
  const resourceRows = (inSet: boolean[], members: typeof classes): void => {
    for (let d = 0; d < 3; d++) {
      const demand = members.reduce((s, m) => s + m.vec[d]!, 0);
      rows.push({
        demand,
        coverage: caps.map((k, j) =>
          inSet[j] ? [k.p.cores, k.p.memoryBytes / GiB, k.p.diskBytes / GiB][d]! : 0,
        ),
      });
    }
  };
  // One count row per distinct shape and eligibility: identical slots of different job names
  // compete for the same places.
  const shapes = new Map<string, { slots: number; m: (typeof classes)[number] }>();
  for (const m of classes) {
    const r = m.c.request;
    const key = `${r.cores}/${r.memoryBytes}/${r.diskBytes}/${r.gpus ?? 0}/${r.architecture ?? ''}/${m.eligible.map(Number).join('')}`;
    const e = shapes.get(key);
    if (e) e.slots += m.slots;
    else shapes.set(key, { slots: m.slots, m });
  }
  for (const { slots, m } of shapes.values())
    rows.push({
      demand: slots,
      coverage: caps.map((k, j) => (m.eligible[j] ? maxFit(k.p, m.c.request) : 0)),
    });
  const sets = new Map<string, boolean[]>();
  for (const m of classes) sets.set(m.eligible.map(Number).join(''), m.eligible);
  for (const set of sets.values())
    resourceRows(
      set,
      classes.filter((m) => m.eligible.every((e, j) => !e || set[j])),
    );
  resourceRows(
    caps.map(() => true),
    classes,
  );
  resourceRows(
    caps.map((k) => k.od),
    classes.filter((m) => !m.c.request.preemptable),
  );
  const resourceBound = solveCoveringLp(
    rows.map((r) => r.demand),
    offerings.map((o, j) => ({ price: o.pricePerHour, coverage: rows.map((r) => r.coverage[j]!) })),
  );
  // The configuration LP: whole-node configurations instead of pooled resources, so work of
  // different shapes only shares a node in combinations that fit in it at once.
  const configurations = solveConfigurationLp(
    [...shapes.values()].map(({ slots, m }) => ({ req: m.c.request, demand: slots, eligible: m.eligible })),
    offerings.map((o, j) => ({ cap: caps[j]!.p, price: o.pricePerHour })),
  ).lowerBound;
  return Math.max(resourceBound, configurations);
}

/** The optimum of a covering LP (see solveCoveringLpWithDuals); Infinity if infeasible. */
export function solveCoveringLp(
  demand: readonly number[],
  columns: readonly { price: number; coverage: readonly number[] }[],
): number {
  return solveCoveringLpWithDuals(demand, columns).value;
}
