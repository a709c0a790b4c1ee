import type { ScalerConfig } from '../config.js';
import { classicShapes } from '../classic/plan.js';
import { binPack, Reservation, TOIL_NODE_WALLTIME_SECONDS, type ToilShape } from '../classic/binPacking.js';
import { groupQueue } from '../jobClasses.js';
import { buildOfferings, nodeTypeIndexOf, typeTable } from '../offerings.js';
import { estimateRuntime } from '../runtimes.js';
import { subtract } from '../shapes.js';
import {
  pastBootTimeout,
  type LaunchAction,
  type Offering,
  type ScalingPlan,
  type ScalingSnapshot,
} from '../types.js';

/**
 * How much dearer per hour the cost plan's launches may be than toil-classic's launches for the
 * same queue before toil-classic's are taken instead (the corpus's seeds 1–4: at 1.0 the rule added
 * a case over 1.5× toil-classic's launches, at 1.25 none; docs/scaler.md "Toil-classic's launches
 * when ours are dearer").
 */
export const CLASSIC_SUBSTITUTE_FACTOR = 1.25;

/**
 * What toil-classic would launch for this snapshot's queue: its first-fit-decreasing over time
 * (jobs chained on a node while they start within targetTime; its node shapes in its order, spot
 * first, smallest memory first), first onto the room the cluster has free now, then onto new
 * nodes, priced at the cheapest available offering of each type. Three things differ from
 * toil-classic's own plan, on purpose (the third is the window, below). Running jobs are not re-packed: toil-classic re-packs them
 * as if they started now, at 1 s when their runtime is unknown, so a node busy with a long job
 * counts as free room and its plan can launch nothing while the queue waits. And jobs take the
 * cost policy's runtime estimates (declared walltime, learned percentile, else unknownRuntime
 * doubling while they run), not toil-classic's 1 s, which packs a whole queue onto one node.
 * Undefined when that plan cannot be launched as it stands: a job it would not fit, a type with
 * no available offering, a limit it would cross, GPUs or an architecture it does not model.
 */
export function classicLaunchesFor(
  snapshot: ScalingSnapshot,
  config: ScalerConfig,
  keepPreemptableOffOnDemand: boolean,
): LaunchAction[] | undefined {
  const now = snapshot.now;
  const T = config.targetTimeSeconds;
  const types = typeTable(config);
  const offerings = buildOfferings(config, snapshot);
  const longestRunning = new Map<string, number>();
  for (const r of snapshot.running)
    longestRunning.set(r.name, Math.max(longestRunning.get(r.name) ?? 0, (now - r.startedAt) / 1000));
  const opts = { unknownRuntimeSeconds: config.unknownRuntimeSeconds, targetTimeSeconds: T };
  const runtimeOf = (c: { name: string; walltimeSeconds?: number; service?: boolean }): number => {
    const e = estimateRuntime(snapshot.runtimes, c, opts);
    return e.source === 'default' ? Math.max(e.seconds, 2 * (longestRunning.get(c.name) ?? 0)) : e.seconds;
  };
  const classes: { shape: ToilShape; count: number }[] = [];
  for (const c of groupQueue(snapshot.queued)) {
    if ((c.request.gpus ?? 0) > 0 || c.request.architecture !== undefined) return undefined;
    const shape: ToilShape = {
      wallTime: runtimeOf(c),
      memory: c.request.memoryBytes,
      cores: c.request.cores,
      disk: c.request.diskBytes,
      preemptable: c.request.preemptable,
    };
    classes.push({ shape, count: c.count });
  }
  if (classes.length === 0) return undefined;

  // Free room now: each usable node's capacity less what its running jobs hold.
  const failed = (n: ScalingSnapshot['nodes'][number]): boolean =>
    pastBootTimeout(n, now, config.bootTimeoutSeconds);
  const free: { res: Reservation; spot: boolean }[] = [];
  for (const n of snapshot.nodes) {
    if (n.state === 'draining' || failed(n) || n.rebalanceRecommended) continue;
    const cap = types.byName.get(n.instanceType)?.packable;
    if (!cap) continue;
    let room = cap;
    for (const r of snapshot.running) if (r.nodeId === n.id) room = subtract(room, r);
    if (room.cores <= 1e-9 || room.memoryBytes <= 0) continue;
    free.push({
      res: new Reservation({
        wallTime: TOIL_NODE_WALLTIME_SECONDS,
        memory: room.memoryBytes,
        cores: room.cores,
        disk: room.diskBytes,
        preemptable: n.capacityType === 'spot',
      }),
      spot: n.capacityType === 'spot',
    });
  }
  const left: ToilShape[] = [];
  // Classes sorted, then one entry per job: the same order as sorting the jobs (the sort is
  // stable), without sorting a million entries.
  const order: ToilShape[] = [];
  for (const { shape, count } of classes.sort(
    ({ shape: a }, { shape: b }) =>
      b.memory - a.memory || b.cores - a.cores || b.disk - a.disk || b.wallTime - a.wallTime,
  ))
    for (let i = 0; i < count; i++) order.push(shape);
  // Identical consecutive jobs resume at the room that took the previous one: room before it
  // rejected this shape and has only shrunk since (binPack's rule), so a queue of 100,000 jobs
  // costs a pass per shape over the free room, not one per job.
  let prev: ToilShape | undefined;
  let resumeAt = 0;
  for (const j of order) {
    if (j !== prev) resumeAt = 0;
    prev = j;
    let placed = false;
    for (let i = resumeAt; i < free.length; i++) {
      const f = free[i]!;
      if ((f.spot ? j.preemptable : !(j.preemptable && keepPreemptableOffOnDemand)) && f.res.tryAdd(j, T)) {
        placed = true;
        resumeAt = i;
        break;
      }
    }
    if (!placed) {
      left.push(j);
      resumeAt = free.length;
    }
  }
  if (left.length === 0) return [];

  // Classic's node shapes, only those with an available offering.
  const cheapest = new Map<string, Offering>();
  for (const o of offerings) {
    if (!o.available) continue;
    if (o.capacityType === 'spot' && config.maxPreemptableNodes === 0) continue;
    const key = `${o.instanceType}/${o.capacityType}/${o.nodeTypeIndex}`;
    const had = cheapest.get(key);
    if (!had || o.pricePerHour < had.pricePerHour) cheapest.set(key, o);
  }
  const shapes = classicShapes(config).filter((s) =>
    cheapest.has(`${s.instanceType.name}/${s.preemptable ? 'spot' : 'on-demand'}/${s.nodeTypeIndex}`),
  );
  // A new node starts its first job once booted: the cost policy's slots hold work for
  // targetTime − bootTime, and toil-classic's own packing (which ignores the boot) would chain one
  // job more per node and win only by starting it late.
  const packed = binPack(
    shapes.map((s) => s.packable),
    left,
    Math.max(0, T - config.bootTimeSeconds),
  );
  if (packed.couldNotFit.length > 0) return undefined;

  // Limits: what is billed now (every node but those that never registered) plus the launches.
  const byType = config.nodeTypes.map(() => 0);
  let spot = 0;
  let total = 0;
  let hourly = 0;
  for (const n of snapshot.nodes) {
    if (failed(n)) continue;
    const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
    if (idx !== undefined) byType[idx]! += 1;
    if (n.capacityType === 'spot') spot += 1;
    total += 1;
    hourly += n.pricePerHour ?? types.byName.get(n.instanceType)?.type.onDemandPrice ?? 0;
  }
  const launch: LaunchAction[] = [];
  for (const [i, s] of shapes.entries()) {
    const count = packed.counts[i]!;
    if (count === 0) continue;
    const o = cheapest.get(
      `${s.instanceType.name}/${s.preemptable ? 'spot' : 'on-demand'}/${s.nodeTypeIndex}`,
    )!;
    byType[s.nodeTypeIndex]! += count;
    if (s.preemptable) spot += count;
    total += count;
    hourly += count * o.pricePerHour;
    if (byType[s.nodeTypeIndex]! > config.nodeTypes[s.nodeTypeIndex]!.maxNodes) return undefined;
    launch.push({
      instanceType: o.instanceType,
      zone: o.zone,
      capacityType: o.capacityType,
      count,
      pricePerHour: o.pricePerHour,
      reason: `toil-classic's packing of the queue onto the room free now: ${count} × ${o.instanceType} ${o.capacityType} at $${o.pricePerHour}/h`,
    });
  }
  if (config.maxPreemptableNodes !== undefined && spot > config.maxPreemptableNodes) return undefined;
  if (config.maxTotalNodes !== undefined && total > config.maxTotalNodes) return undefined;
  if (config.maxHourlyCost !== undefined && hourly > config.maxHourlyCost) return undefined;
  return launch;
}

const bought = (launch: readonly LaunchAction[]): number =>
  launch.reduce((s, l) => s + l.count * l.pricePerHour, 0);

/**
 * The cost plan's launches, replaced by toil-classic's for the same queue when they cost more per
 * hour than CLASSIC_SUBSTITUTE_FACTOR × toil-classic's. The rule can only delay or substitute a
 * launch, never forbid one: the plan keeps its own launches whenever toil-classic's estimate
 * launches nothing or cannot be launched, so the queue always has a node to go to (a cap that
 * trimmed launches against toil-classic's $/h left queues whose only node was dearer than the cap
 * waiting for ever). What substitutes launches is mostly a first wave of very large jobs of
 * distinct sizes: the cost policy gives each request slots of its own, one node each, where
 * toil-classic runs them one after another on one node within targetTime. `speed` keeps its own.
 */
export function substituteClassic(
  snapshot: ScalingSnapshot,
  config: ScalerConfig,
  plan: ScalingPlan,
): ScalingPlan {
  if (plan.launch.length === 0 || config.objective === 'speed') return plan;
  const classic = classicLaunchesFor(snapshot, config, plan.preemptableStaysOnSpot === true);
  if (!classic || classic.length === 0) return plan;
  const ours = bought(plan.launch);
  const theirs = bought(classic);
  if (ours <= CLASSIC_SUBSTITUTE_FACTOR * theirs + 1e-9) return plan;
  return {
    ...plan,
    launch: classic,
    hourlyCost: { ...plan.hourlyCost, planned: plan.hourlyCost.planned - ours + theirs },
    notes: [
      ...plan.notes,
      `launches $${ours.toFixed(3)}/h cost over ${CLASSIC_SUBSTITUTE_FACTOR}× toil-classic's $${theirs.toFixed(3)}/h for the same queue: toil-classic's launches are taken instead`,
    ],
  };
}
