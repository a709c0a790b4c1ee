import type { ScalerConfig } from '../config.js';
import type { TypeTable } from '../offerings.js';
import { archMatches, dominantShare, maxFit, subtract } from '../shapes.js';
import type { Architecture, JobRequest, Offering, Resources, WaitingJobs } from '../types.js';
import type { WorkClass } from './existing.js';

/**
 * How an item may use capacity: `od` must run on on-demand; `spot` leads spot nodes and may fill
 * leftover room on on-demand nodes launched anyway; `od-lead` is preemptable work allowed to open
 * on-demand nodes (no spot allowed, spot missing and compensated, or the spot pool at its limit).
 */
type Mode = 'od' | 'spot' | 'od-lead' | 'wait';

/** One slot-class: `slots` concurrent places, each running `perSlot` jobs of a class back to back. */
interface Item {
  readonly cls: WorkClass;
  readonly req: JobRequest;
  readonly perSlot: number;
  slots: number;
  mode: Mode;
  value: number;
  note?: string;
}

export interface LimitState {
  /** Nodes per configured node type (existing, not draining, plus planned). */
  readonly byType: number[];
  spot: number;
  total: number;
  hourlyCost: number;
}

export interface NewNodeChoice {
  readonly offering: Offering;
  count: number;
  /** Jobs per class name this offering's new nodes are planned to run. */
  readonly jobs: Map<string, number>;
}

export interface NewNodesResult {
  readonly choices: NewNodeChoice[];
  readonly waiting: WaitingJobs[];
  readonly notes: string[];
}

/**
 * Chooses the cheapest set of new nodes for the work existing capacity cannot start within
 * targetTime. Work is counted in slots: a slot is one job's resources held on one node for the
 * window, running `floor((targetTime − boot) / runtime) + 1` jobs back to back, so a long job
 * needs a slot of its own and short jobs share one. Slots are packed greedily: each round fills
 * one node of every usable offering (three fill orders: dominant share, memory, cores — leftover
 * room is topped up with whatever fits), scores it by the value of the slots it holds (each
 * valued at the cheapest fractional cost any offering could run it for) per dollar, and takes
 * the best node as many times as the remaining work and the limits allow.
 */
export function chooseNewNodes(
  classes: readonly WorkClass[],
  offerings: readonly Offering[],
  types: TypeTable,
  config: ScalerConfig,
  limits: LimitState,
  /** Instance types of the spot nodes that exist now (spot work may wait for them). */
  spotNodeTypes: readonly string[] = [],
): NewNodesResult {
  const waiting: WaitingJobs[] = [];
  const notes: string[] = [];
  const boot = config.bootTimeSeconds;
  const window = Math.max(config.targetTimeSeconds, boot) - boot;
  const spotAllowed = config.maxPreemptableNodes !== 0;

  const cap = (o: Offering): Resources => types.byName.get(o.instanceType)!.packable;
  const arch = (o: Offering): Architecture => types.byName.get(o.instanceType)!.type.architecture;
  const fitsOffering = (req: Item['req'], o: Offering): boolean =>
    maxFit(cap(o), req) >= 1 && archMatches(req, arch(o));

  const items: Item[] = [];
  for (const c of classes) {
    if (c.remaining <= 0) continue;
    const perSlot = Math.floor(window / c.runtimeSeconds) + 1;
    const slots = Math.ceil(c.remaining / perSlot);
    const req = c.request;
    if (!req.preemptable) {
      items.push({ cls: c, req, perSlot, slots, mode: 'od', value: 0 });
      continue;
    }
    const spotConfigured = offerings.some((o) => o.capacityType === 'spot' && fitsOffering(req, o));
    const spotAvailable = offerings.some(
      (o) => o.capacityType === 'spot' && o.available && fitsOffering(req, o),
    );
    if (!spotAllowed || !spotConfigured) {
      items.push({
        cls: c,
        req,
        perSlot,
        slots,
        mode: 'od-lead',
        value: 0,
        note: !spotAllowed ? 'maxPreemptableNodes is 0' : 'no spot node type fits it',
      });
    } else if (!spotAvailable) {
      const why = offerings.find(
        (o) => o.capacityType === 'spot' && fitsOffering(req, o) && !o.available,
      )?.unavailableReason;
      const compensated = Math.round(slots * config.preemptableCompensation);
      if (compensated > 0)
        items.push({
          cls: c,
          req,
          perSlot,
          slots: compensated,
          mode: 'od-lead',
          value: 0,
          note: `spot unavailable (${why}); preemptableCompensation ${config.preemptableCompensation}`,
        });
      const rest = slots - compensated;
      if (rest > 0) {
        const jobs = Math.min(c.remaining, rest * perSlot);
        waiting.push({
          jobName: c.name,
          count: jobs,
          reason: `waiting for spot capacity: ${why}; preemptableCompensation ${config.preemptableCompensation} moves ${compensated} of ${slots} slot(s) to on-demand`,
        });
      }
    } else items.push({ cls: c, req, perSlot, slots, mode: 'spot', value: 0 });
  }

  // Offerings reduced to the cheapest available zone per instance type and capacity type (limits
  // are per node type, so zones differ only in price and availability); among equal prices the
  // zone refused least lately, then the first by name.
  const bestByType = new Map<string, Offering>();
  for (const o of offerings) {
    if (!o.available) continue;
    const k = `${o.nodeTypeIndex}/${o.instanceType}/${o.capacityType}`;
    const b = bestByType.get(k);
    if (!b || o.pricePerHour < b.pricePerHour || (o.pricePerHour === b.pricePerHour && fewerRefusals(o, b)))
      bestByType.set(k, o);
  }
  const candidates = [...bestByType.values()].sort((a, b) => a.key.localeCompare(b.key));

  const allowance = (o: Offering): number => {
    const nt = config.nodeTypes[o.nodeTypeIndex]!;
    let a = nt.maxNodes - limits.byType[o.nodeTypeIndex]!;
    if (o.capacityType === 'spot' && config.maxPreemptableNodes !== undefined)
      a = Math.min(a, config.maxPreemptableNodes - limits.spot);
    if (config.maxTotalNodes !== undefined) a = Math.min(a, config.maxTotalNodes - limits.total);
    if (config.maxHourlyCost !== undefined)
      a = Math.min(
        a,
        o.pricePerHour > 0
          ? Math.floor((config.maxHourlyCost - limits.hourlyCost) / o.pricePerHour + 1e-9)
          : Infinity,
      );
    return Math.max(0, a);
  };

  // Fill orders per candidate, computed once (counts change, shapes do not).
  const orders = new Map<Offering, Item[][]>();
  for (const o of candidates) {
    const c = cap(o);
    const usable = items.filter(
      (it) => fitsOffering(it.req, o) && (o.capacityType === 'on-demand' || it.req.preemptable),
    );
    const byDominant = [...usable].sort((a, b) => dominantShare(b.req, c) - dominantShare(a.req, c));
    const byMemory = [...usable].sort(
      (a, b) => b.req.memoryBytes - a.req.memoryBytes || b.req.cores - a.req.cores,
    );
    const byCores = [...usable].sort(
      (a, b) => b.req.cores - a.req.cores || b.req.memoryBytes - a.req.memoryBytes,
    );
    orders.set(o, [byDominant, byMemory, byCores]);
  }

  const isLeader = (it: Item, o: Offering): boolean =>
    o.capacityType === 'spot' ? it.mode === 'spot' : it.mode !== 'spot';
  const choices = new Map<Offering, NewNodeChoice>();
  const fill = new Map<Item, number>();

  for (let round = 0; round < 100_000; round++) {
    const live = items.filter((it) => it.slots > 0 && it.mode !== 'wait');
    if (live.length === 0) break;
    const open = candidates.filter((o) => allowance(o) > 0);
    // Spot work with no spot offering left (limits): if some spot node (existing or planned) can
    // run it, it waits for one, which is cheaper than on-demand and never hangs; with no spot
    // node at all it overflows to on-demand.
    for (const it of live) {
      if (it.mode === 'spot' && !open.some((o) => o.capacityType === 'spot' && fitsOffering(it.req, o))) {
        const spotNodeCanRun =
          [...choices.values()].some(
            (c) => c.offering.capacityType === 'spot' && fitsOffering(it.req, c.offering),
          ) ||
          spotNodeTypes.some((name) => {
            const e = types.byName.get(name);
            return (
              e !== undefined && maxFit(e.packable, it.req) >= 1 && archMatches(it.req, e.type.architecture)
            );
          });
        if (spotNodeCanRun) it.mode = 'wait';
        else {
          it.mode = 'od-lead';
          it.note = 'the spot pool is at its limits and has no node that can run it';
        }
      }
    }
    // Value of one slot: the cheapest fractional cost of running it on any usable offering.
    for (const it of live) {
      let v = Infinity;
      for (const o of open) {
        if (o.capacityType === 'spot' && !it.req.preemptable) continue;
        if (!fitsOffering(it.req, o)) continue;
        v = Math.min(v, o.pricePerHour * dominantShare(it.req, cap(o)));
      }
      it.value = Number.isFinite(v) ? v : 0;
    }
    // Work that fits the fewest offerings goes first (a job only one type can run opens that
    // type's nodes, and their leftover room takes other work), then the greedy choice by value.
    const usableCount = (it: Item): number =>
      open.filter((o) => fitsOffering(it.req, o) && isLeader(it, o)).length;
    const fewest = Math.min(...live.map(usableCount).filter((n) => n > 0));
    const constrained = new Set(live.filter((it) => usableCount(it) === fewest));
    let best: { o: Offering; placed: [Item, number][]; eff: number } | undefined;
    for (const o of open) {
      for (const order of orders.get(o)!) {
        let free = cap(o);
        const placed: [Item, number][] = [];
        let value = 0;
        let leaders = 0;
        for (const pass of [true, false]) {
          for (const it of order) {
            if (it.slots <= 0 || it.mode === 'wait' || isLeader(it, o) !== pass) continue;
            const already = fill.get(it) ?? 0;
            const k = Math.min(it.slots - already, maxFit(free, it.req));
            if (k <= 0) continue;
            fill.set(it, already + k);
            free = subtract(free, it.req, k);
            placed.push([it, k]);
            value += k * it.value;
            if (pass) leaders += k;
          }
        }
        for (const [it] of placed) fill.delete(it);
        if (leaders === 0 || !placed.some(([it]) => constrained.has(it) && isLeader(it, o))) continue;
        const eff = o.pricePerHour > 0 ? value / o.pricePerHour : Infinity;
        if (
          !best ||
          eff > best.eff + 1e-12 ||
          (Math.abs(eff - best.eff) <= 1e-12 && o.pricePerHour < best.o.pricePerHour)
        )
          best = { o, placed, eff };
      }
    }
    if (!best) break;
    let copies = allowance(best.o);
    for (const [it, k] of best.placed) copies = Math.min(copies, Math.floor(it.slots / k));
    copies = Math.max(1, copies);
    let choice = choices.get(best.o);
    if (!choice) {
      choice = { offering: best.o, count: 0, jobs: new Map() };
      choices.set(best.o, choice);
    }
    choice.count += copies;
    for (const [it, k] of best.placed) {
      const slots = k * copies;
      const jobs = Math.min(it.cls.remaining, slots * it.perSlot);
      it.slots -= slots;
      it.cls.remaining -= jobs;
      choice.jobs.set(it.cls.name, (choice.jobs.get(it.cls.name) ?? 0) + jobs);
      if (it.note && it.mode === 'od-lead' && best.o.capacityType === 'on-demand') {
        notes.push(`${jobs} preemptable '${it.cls.name}' job(s) on on-demand: ${it.note}`);
        it.note = undefined;
      }
    }
    limits.byType[best.o.nodeTypeIndex]! += copies;
    if (best.o.capacityType === 'spot') limits.spot += copies;
    limits.total += copies;
    limits.hourlyCost += copies * best.o.pricePerHour;
  }

  for (const it of items) {
    if (it.slots <= 0) continue;
    const jobs = Math.min(it.cls.remaining, it.slots * it.perSlot);
    it.cls.remaining -= jobs;
    waiting.push({
      jobName: it.cls.name,
      count: jobs,
      reason: blockedReason(it, offerings, config, limits, fitsOffering),
    });
  }
  return { choices: [...choices.values()], waiting, notes };
}

function blockedReason(
  it: Item,
  offerings: readonly Offering[],
  config: ScalerConfig,
  limits: LimitState,
  fitsOffering: (req: Item['req'], o: Offering) => boolean,
): string {
  if (it.mode === 'wait') return 'the spot pool is at its limits; runs on spot nodes as they free up';
  const fitting = offerings.filter(
    (o) => fitsOffering(it.req, o) && (o.capacityType === 'on-demand' || it.req.preemptable),
  );
  if (fitting.length > 0 && fitting.every((o) => !o.available))
    return `every offering that fits is unavailable (${fitting[0]!.unavailableReason})`;
  if (
    config.maxHourlyCost !== undefined &&
    limits.hourlyCost + Math.min(...fitting.map((o) => o.pricePerHour)) > config.maxHourlyCost
  )
    return `maxHourlyCost $${config.maxHourlyCost}/h reached (planned $${limits.hourlyCost.toFixed(3)}/h); runs on existing nodes as they free up`;
  if (config.maxTotalNodes !== undefined && limits.total >= config.maxTotalNodes)
    return `maxTotalNodes ${config.maxTotalNodes} reached; runs on existing nodes as they free up`;
  const types = [...new Set(fitting.map((o) => config.nodeTypes[o.nodeTypeIndex]!.label))];
  return `maxNodes reached for ${types.join(', ')}; runs on existing nodes as they free up`;
}

function fewerRefusals(o: Offering, b: Offering): boolean {
  const a = o.recentRefusals ?? 0;
  const c = b.recentRefusals ?? 0;
  return a < c || (a === c && o.zone < b.zone);
}
