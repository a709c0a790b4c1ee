import { formatDuration } from '../../common/units.js';
import type { ScalerConfig } from '../config.js';
import { groupQueue } from '../jobClasses.js';
import { offeringKey, typeTable } from '../offerings.js';
import { memoryOverheadBytes, diskOverheadBytes, NOMINAL_MEMORY_CUT_BYTES } from '../overhead.js';
import { toilAverageRuntime } from '../runtimes.js';
import { findUnschedulable } from '../unschedulable.js';
import type {
  ExistingNode,
  InstanceType,
  LaunchAction,
  NodeAction,
  ScalingPlan,
  ScalingSnapshot,
  WaitingJobs,
} from '../types.js';
import { pastBootTimeout } from '../types.js';
import { binPack, compareShapes, TOIL_NODE_WALLTIME_SECONDS, type ToilShape } from './binPacking.js';

/** Python 2 rounding, as Toil's `_round`: halves go away from zero. */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

interface ClassicShape {
  readonly key: string;
  readonly instanceType: InstanceType;
  readonly nodeTypeIndex: number;
  readonly preemptable: boolean;
  /** Toil's node shape (memory less 0.1 GiB), before overhead. */
  readonly full: ToilShape;
  /** What packing uses: overhead reserved unless assumeZeroOverhead. */
  readonly packable: ToilShape;
}

/** Toil's node shapes, one per instance type per node type, in Toil's sorted order. */
export function classicShapes(config: ScalerConfig): ClassicShape[] {
  const shapes: ClassicShape[] = [];
  const seen = new Set<string>();
  for (const nt of config.nodeTypes) {
    for (const t of nt.instanceTypes) {
      const preemptable = nt.capacityType === 'spot';
      const full: ToilShape = {
        wallTime: TOIL_NODE_WALLTIME_SECONDS,
        memory: t.memoryBytes - NOMINAL_MEMORY_CUT_BYTES,
        cores: t.cores,
        disk: t.diskBytes,
        preemptable,
      };
      const packable: ToilShape = config.assumeZeroOverhead
        ? full
        : {
            ...full,
            memory: full.memory - memoryOverheadBytes(full.memory),
            disk: full.disk - diskOverheadBytes(full.disk),
          };
      // Toil keys shapes in a dict: two instance types with identical shapes collide, the later one wins nothing.
      const sig = `${packable.memory}/${packable.cores}/${packable.disk}/${preemptable}`;
      if (seen.has(sig)) continue;
      seen.add(sig);
      shapes.push({
        key: `classic:${t.name}:${nt.capacityType}`,
        instanceType: t,
        nodeTypeIndex: nt.index,
        preemptable,
        full,
        packable,
      });
    }
  }
  return shapes.sort((a, b) => compareShapes(a.full, b.full));
}

/**
 * The `toil-classic` policy: Toil's ClusterScaler as toil.md §1 documents it, so every comparison
 * can run both. Demand is every issued job (queued and running, re-packed as if starting now with
 * its all-time mean runtime, 1 s with no history); first-fit-decreasing over 3600 s slices onto the
 * first node type that fits in Toil's order (spot first, smallest memory first); EWMA on the
 * unclamped count; last tick's spot shortfall × compensation added to on-demand of the same
 * instance type; clamped to [minNodes, maxNodes]; scale-down drains victims by (running tasks,
 * time left in the billing hour) and terminates the empty ones at once. It has no boot timeout
 * (never-registered nodes count as capacity) and no notion of price.
 */
export function planClassic(snapshot: ScalingSnapshot, config: ScalerConfig): ScalingPlan {
  const now = snapshot.now;
  const T = config.targetTimeSeconds;
  const shapes = classicShapes(config);
  const types = typeTable(config);

  // Job shapes: every issued job, queued and running.
  const jobs: ToilShape[] = [];
  const classes = groupQueue(snapshot.queued);
  const unschedulable = findUnschedulable(classes, config, types);
  const tooBig = new Set(unschedulable.map((u) => u.jobId + '\u0000' + u.jobName));
  for (const c of classes) {
    if (tooBig.has(c.firstId + '\u0000' + c.name)) continue;
    const wallTime = toilAverageRuntime(snapshot.runtimes, c, T);
    const shape: ToilShape = {
      wallTime,
      memory: c.request.memoryBytes,
      cores: c.request.cores,
      disk: c.request.diskBytes,
      preemptable: c.request.preemptable,
    };
    for (let i = 0; i < c.count; i++) jobs.push(shape);
  }
  for (const r of snapshot.running) {
    jobs.push({
      wallTime: toilAverageRuntime(snapshot.runtimes, r, T),
      memory: r.memoryBytes,
      cores: r.cores,
      disk: r.diskBytes,
      preemptable: r.preemptable,
    });
  }
  const packed = binPack(
    shapes.map((s) => s.packable),
    jobs,
    T,
  );

  const prev = snapshot.state?.smoothed ?? {};
  const smoothed: Record<string, number> = {};
  const deficit = new Map<string, number>();
  for (const s of snapshot.lastShortfall ?? [])
    if (s.capacityType === 'spot') deficit.set(s.instanceType, (deficit.get(s.instanceType) ?? 0) + s.count);

  const runningByNode = new Map<string, number>();
  for (const r of snapshot.running) runningByNode.set(r.nodeId, (runningByNode.get(r.nodeId) ?? 0) + 1);

  const launch: LaunchAction[] = [];
  const drain: NodeAction[] = [];
  const undrain: NodeAction[] = [];
  const terminate: NodeAction[] = [];
  const zone = config.zones[0]!;
  let plannedExtra = 0;
  let retiredCost = 0;
  const priceOf = (n: ExistingNode): number =>
    n.pricePerHour ?? types.byName.get(n.instanceType)?.type.onDemandPrice ?? 0;

  shapes.forEach((shape, i) => {
    const nt = config.nodeTypes[shape.nodeTypeIndex]!;
    const n = packed.counts[i]!;
    const w = (1 - config.betaInertia) * n + config.betaInertia * (prev[shape.key] ?? 0);
    if (w !== 0) smoothed[shape.key] = w;
    let target = roundHalfAwayFromZero(w);
    let compensation = 0;
    if (!shape.preemptable && config.preemptableCompensation > 0) {
      compensation = roundHalfAwayFromZero(
        (deficit.get(shape.instanceType.name) ?? 0) * config.preemptableCompensation,
      );
      target += compensation;
    }
    target = Math.min(nt.maxNodes, Math.max(nt.minNodes, target));

    const capacity = shape.preemptable ? 'spot' : 'on-demand';
    const mine = snapshot.nodes.filter(
      (nd) => nd.instanceType === shape.instanceType.name && nd.capacityType === capacity,
    );
    const ignored = mine.filter((nd) => nd.state === 'draining');
    let delta = target - (mine.length - ignored.length);
    if (delta > 0 && ignored.length > 0) {
      for (const nd of ignored.slice(0, delta)) {
        undrain.push({
          nodeId: nd.id,
          reason: `toil-classic: demand for ${shape.instanceType.name} is back (target ${target}); un-ignoring`,
        });
      }
      delta -= Math.min(delta, ignored.length);
    }
    if (delta > 0) {
      const price = shape.instanceType.onDemandPrice;
      const obsPrice = snapshot.offerings?.find(
        (o) =>
          offeringKey(o.instanceType, o.zone, o.capacityType) ===
          offeringKey(shape.instanceType.name, zone, capacity),
      )?.pricePerHour;
      launch.push({
        instanceType: shape.instanceType.name,
        zone,
        capacityType: capacity,
        count: delta,
        pricePerHour: obsPrice ?? price,
        reason: `toil-classic: ${n} node reservation(s) of ${shape.instanceType.name} pack the ${jobs.length} issued job(s); smoothed ${w.toFixed(2)}${compensation ? ` + ${compensation} compensating missing spot` : ''} → target ${target}, have ${mine.length - ignored.length}`,
      });
      plannedExtra += delta * (obsPrice ?? price);
    } else if (delta < 0) {
      const victims = mine
        .filter((nd) => nd.state === 'registered' && !nd.static)
        .map((nd) => {
          const uptimeH = (now - nd.launchedAt) / 3_600_000;
          return { nd, workers: runningByNode.get(nd.id) ?? 0, remaining: 1 - (uptimeH % 1) };
        })
        .sort((a, b) => a.workers - b.workers || a.remaining - b.remaining)
        .slice(0, -delta);
      for (const v of victims) {
        drain.push({
          nodeId: v.nd.id,
          reason: `toil-classic: target ${target} < ${mine.length - ignored.length} ${shape.instanceType.name} nodes; ignoring (${v.workers} running)`,
        });
        if (v.workers === 0) {
          terminate.push({
            nodeId: v.nd.id,
            reason: 'toil-classic: ignored and idle; Toil terminates it at once',
          });
          retiredCost += priceOf(v.nd);
        }
      }
    }
    for (const nd of ignored) {
      if ((runningByNode.get(nd.id) ?? 0) === 0 && !undrain.some((u) => u.nodeId === nd.id)) {
        terminate.push({ nodeId: nd.id, reason: 'toil-classic: ignored node has no workers left' });
        retiredCost += priceOf(nd);
      }
    }
  });

  const current = snapshot.nodes.reduce((s, nd) => s + priceOf(nd), 0);
  const { waiting, notes } = neverRegisteredExplained(snapshot, classes, tooBig, launch, config);
  return {
    policy: 'toil-classic',
    launch,
    drain,
    undrain,
    terminate,
    unschedulable,
    waiting,
    notes,
    hourlyCost: { current, planned: current + plannedExtra - retiredCost },
    state: { smoothed },
  };
}

/**
 * Toil has no boot timeout: a node that never registers (its agent never came up) is counted as
 * capacity for as long as it exists, so no replacement is launched and work packed onto it waits
 * for ever (the workflow never finishes if nothing else frees up). The behaviour is kept, as Toil
 * has it; the plan says so, naming the nodes (booting for longer than bootTimeout), so a reader of
 * the plan or of a simulation that stopped sees why the queue does not move.
 */
function neverRegisteredExplained(
  snapshot: ScalingSnapshot,
  classes: ReturnType<typeof groupQueue>,
  tooBig: ReadonlySet<string>,
  launch: readonly LaunchAction[],
  config: ScalerConfig,
): { waiting: WaitingJobs[]; notes: string[] } {
  const stale = snapshot.nodes.filter((nd) => pastBootTimeout(nd, snapshot.now, config.bootTimeoutSeconds));
  if (stale.length === 0) return { waiting: [], notes: [] };
  const named = stale
    .slice(0, 3)
    .map(
      (nd) =>
        `${nd.id} (${nd.instanceType} ${nd.capacityType}, launched ${formatDuration(snapshot.now - nd.launchedAt)} ago)`,
    )
    .join(', ');
  const which = `${stale.length} node(s) that never registered: ${named}${stale.length > 3 ? ', …' : ''}`;
  const notes = [
    `toil-classic counts ${which} as capacity and launches no replacement (Toil has no boot timeout)`,
  ];
  if (launch.length > 0) return { waiting: [], notes };
  const waiting = classes
    .filter((c) => !tooBig.has(c.firstId + '\u0000' + c.name))
    .map((c) => ({
      jobName: c.name,
      count: c.count,
      reason: `toil-classic counts ${which} as capacity and launches nothing (Toil has no boot timeout)`,
    }));
  return { waiting, notes };
}

/** For tests and the cost bench: Toil's raw reservation counts per instance type for a queue. */
export function classicReservationCounts(
  snapshot: ScalingSnapshot,
  config: ScalerConfig,
): Record<string, number> {
  const plan = planClassic({ ...snapshot, state: undefined }, { ...config, betaInertia: 0 });
  const out: Record<string, number> = {};
  for (const l of plan.launch) out[l.instanceType] = (out[l.instanceType] ?? 0) + l.count;
  return out;
}
