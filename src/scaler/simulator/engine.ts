import { placementKey, placementOrder } from '../../common/placementOrder.js';
import type { ScalerConfig } from '../config.js';
import { bootBackoffPending } from '../cost/bootBackoff.js';
import { MinHeap } from '../heap.js';
import { nodeTypeIndexOf, offeringKey, typeTable } from '../offerings.js';
import { planScaling } from '../policy.js';
import { emptyRuntimeHistory, recordCompletion } from '../runtimes.js';
import { add, fitsResources, subtract } from '../shapes.js';
import type {
  CapacityType,
  ExistingNode,
  LaunchShortfall,
  OfferingState,
  PolicyName,
  QueuedJob,
  Resources,
  RunningJob,
  RuntimeHistory,
  ScalerState,
  ScalingPlan,
} from '../types.js';
import type { SimulationConfig } from './config.js';
import { seededRandom } from './random.js';
import type { Trace } from './trace.js';

/** What a simulated run cost and how it went. */
export interface SimulationResult {
  readonly trace: string;
  readonly policy: PolicyName;
  readonly seed: number;
  readonly finished: boolean;
  /**
   * Why the run ended: every job finished; nothing could change any more (no job running, no
   * node booting, nothing left to arrive, and the plan launched and undrained nothing with its
   * state settled); or the simulated time ran out (`maxDuration`).
   */
  readonly ended: 'finished' | 'stuck' | 'maxDuration';
  /** For a run that did not finish: the jobs that never ran, grouped by name and reason. */
  readonly neverRan: readonly NeverRan[];
  /** USD, per-second billing with the minimum. */
  readonly cost: number;
  /** Seconds from the start until the last job finished. */
  readonly makespan: number;
  readonly nodeHours: { readonly spot: number; readonly onDemand: number };
  readonly costByPool: { readonly spot: number; readonly onDemand: number };
  /** Busy core-seconds over billed core-seconds. */
  readonly meanUtilisation: number;
  readonly jobs: number;
  readonly rerunsAfterInterruption: number;
  readonly interruptions: number;
  readonly worstQueueWait: number;
  readonly nodesLaunched: number;
  /**
   * Nodes marked draining by a plan, and drains a later plan undid (a node taken back): churn that
   * launches do not count (each is a batch-system call, a log line and a window with no work
   * landing there).
   */
  readonly drains: number;
  readonly takeBacks: number;
  readonly launchRefusals: number;
  readonly bootFailures: number;
  readonly ticks: number;
  /** Plan entries the simulated executor refused (terminate of a busy node…); should be 0. */
  readonly planViolations: number;
  /**
   * Ticks after whose plan more nodes were billed than a limit allows (a node type's maxNodes,
   * maxPreemptableNodes, maxTotalNodes); draining nodes count, as they are billed.
   */
  readonly limitOverruns: number;
  /** Where the money went (see CostBreakdown). */
  readonly breakdown: CostBreakdown;
}

/** How far a run is, at a tick. */
export interface SimulationProgress {
  /** Simulated seconds since the start. */
  readonly t: number;
  readonly jobsDone: number;
  readonly jobs: number;
}

/** Jobs of one name that never ran, for one reason (the last plan's, or a dependency's). */
export interface NeverRan {
  readonly jobName: string;
  readonly count: number;
  /** Up to five of their ids. */
  readonly jobIds: readonly string[];
  readonly reason: string;
}

/**
 * The run's cost split by what the billed time was spent on. `used + unused + idle + boot +
 * minimum` is the total cost (up to rounding). A registered node running jobs splits its time by
 * the dominant share (cores or memory, of what agents offer) its jobs hold: `used` for that share,
 * `unused` for the rest (room no job took: packing and time-slicing waste); a registered node
 * running nothing is `idle` (scale-down timing); `boot` is launch to registration (or to
 * termination for a node that never registered); `minimum` is the 60 s billing minimum's padding.
 */
export interface CostBreakdown {
  readonly used: number;
  readonly unused: number;
  readonly idle: number;
  readonly boot: number;
  readonly minimum: number;
  /** Per offering pool, e.g. "c5.2xlarge spot": nodes, billed hours, $ and the $ of room no job took. */
  readonly byType: Readonly<Record<string, { nodes: number; hours: number; cost: number; unused: number }>>;
}

interface SimJob {
  readonly idx: number;
  readonly id: string;
  readonly name: string;
  readonly req: Resources;
  /** False once the leader moved it to on-demand (lost on spot more than preemptableRetries times). */
  preemptable: boolean;
  readonly runtime: number;
  readonly walltime?: number;
  depsLeft: number;
  readonly children: number[];
  state: 'blocked' | 'queued' | 'running' | 'done';
  readyAt: number;
  startedAt: number;
  nodeId?: string;
  attempt: number;
  /** Times lost with its spot node, and why it runs on on-demand now (the leader's onLost). */
  lostOnSpot: number;
  onDemandBecause?: string;
  groupKey: string;
}

interface SimNode {
  readonly id: string;
  readonly instanceType: string;
  readonly zone: string;
  readonly capacityType: CapacityType;
  readonly price: number;
  readonly launchedAt: number;
  readonly cap: Resources;
  readonly cores: number;
  registeredAt?: number;
  /** False for a node whose boot fails (it never registers). */
  willRegister: boolean;
  /** When spot takes it back (a pending event), if it is spot. */
  interruptAt?: number;
  state: 'booting' | 'registered' | 'draining' | 'terminated';
  free: Resources;
  readonly running: Set<number>;
  lastBusyAt: number;
  endedAt?: number;
  /** Seconds spent per bucket (see CostBreakdown), accounted up to `accountedTo`. */
  readonly spent: { used: number; unused: number; idle: number; boot: number };
  accountedTo: number;
}

type Event =
  | { t: number; seq: number; kind: 'ready'; job: number }
  | { t: number; seq: number; kind: 'finish'; job: number; attempt: number }
  | { t: number; seq: number; kind: 'register'; node: string }
  | { t: number; seq: number; kind: 'interrupt'; node: string }
  | { t: number; seq: number; kind: 'tick' };

type EventInput = Event extends unknown
  ? Event extends infer E
    ? E extends Event
      ? Omit<E, 'seq'>
      : never
    : never
  : never;

/** Jobs queue in groups of identical requests (one snapshot entry with a count per group). */
function groupKeyOf(
  name: string,
  r: { cores: number; memoryBytes: number; diskBytes: number },
  preemptable: boolean,
  walltime: number | undefined,
): string {
  return `${name}\u0000${r.cores}\u0000${r.memoryBytes}\u0000${r.diskBytes}\u0000${preemptable}\u0000${walltime ?? ''}`;
}

/**
 * Runs a trace through a simulated cluster on a simulated clock (a discrete-event loop; nothing
 * sleeps): a scaler tick every scaleInterval runs the chosen policy on a snapshot and carries out
 * its plan; nodes boot after bootTime (± jitter) or never (bootFailureRate); spot nodes are
 * interrupted at the configured rate (their jobs re-run, and a job lost on spot more than
 * `preemptableRetries` times runs on on-demand from then on, as the leader does); offerings refuse
 * launches in configured windows and are then marked unavailable for a while, as the provisioner would; a Mesos-like
 * scheduler places ready jobs first-fit on registered nodes, oldest node first, in the mesos batch
 * system's order (placementOrder: largest first; non-preemptable jobs, and preemptable ones no spot
 * node could hold, on on-demand nodes first; other preemptable jobs on spot nodes first and on
 * on-demand room after that). Billing is per
 * second with the minimum. When the last job finishes the workflow ends and every node is
 * terminated (Toil's scaler shutdown), so cost is what the run spent. Deterministic for a seed.
 */
export function simulate(
  trace: Trace,
  config: ScalerConfig,
  sim: SimulationConfig,
  options: {
    policy?: PolicyName;
    seed?: number;
    /** Called with every plan (seconds since the start, the plan): for tracing a run. */
    onPlan?: (t: number, plan: ScalingPlan) => void;
    /** Called after every tick with how far the run is: for showing a long run's progress. */
    onProgress?: (progress: SimulationProgress) => void;
  } = {},
): SimulationResult {
  const policy = options.policy ?? config.policy;
  const seed = options.seed ?? sim.seed;
  const rand = seededRandom(seed);
  const types = typeTable(config);
  const epoch = Date.UTC(2026, 0, 1);
  const ms = (s: number): number => epoch + Math.round(s * 1000);

  const events = new MinHeap<Event>((a, b) => a.t < b.t || (a.t === b.t && a.seq < b.seq));
  let seq = 0;
  let pendingReady = 0;
  const push = (e: EventInput): void => {
    if (e.kind === 'ready') pendingReady++;
    events.push({ ...e, seq: seq++ });
  };

  const byId = new Map<string, number>();
  trace.jobs.forEach((j, i) => byId.set(j.id, i));
  const jobs: SimJob[] = trace.jobs.map((j, idx) => ({
    idx,
    id: j.id,
    name: j.name,
    req: { cores: j.cores, memoryBytes: j.memoryBytes, diskBytes: j.diskBytes, gpus: 0 },
    preemptable: j.preemptable,
    runtime: j.runtime,
    walltime: j.walltime,
    depsLeft: j.dependsOn.length,
    children: [],
    state: 'blocked',
    readyAt: 0,
    startedAt: 0,
    attempt: 0,
    lostOnSpot: 0,
    groupKey: groupKeyOf(j.name, j, j.preemptable, j.walltime),
  }));
  trace.jobs.forEach((j, i) => j.dependsOn.forEach((d) => jobs[byId.get(d)!]!.children.push(i)));
  for (const j of jobs)
    if (j.depsLeft === 0) push({ t: trace.jobs[j.idx]!.arrival, kind: 'ready', job: j.idx });

  // Queue: FIFO per group of identical jobs, groups in order of first insertion.
  const queue = new Map<string, number[]>();
  let queued = 0;
  const enqueue = (j: SimJob, t: number): void => {
    j.state = 'queued';
    j.readyAt = t;
    let q = queue.get(j.groupKey);
    if (!q) queue.set(j.groupKey, (q = []));
    q.push(j.idx);
    queued++;
  };

  const nodes = new Map<string, SimNode>();
  const liveNodes: SimNode[] = [];
  let nodeSeq = 0;
  let history: RuntimeHistory = emptyRuntimeHistory();
  let state: ScalerState | undefined;
  let shortfall: LaunchShortfall[] = [];
  /** The last plan keeps preemptable jobs a spot node could hold off on-demand room. */
  let preemptableStaysOnSpot = false;
  /** The last plan's keep-off hints (node → placement keys), honoured as the mesos batch system does. */
  let keepOff = new Map<string, Set<string>>();
  /** The last plan's requests that wait for spot though no spot node up could hold them. */
  let waitsForSpot = new Set<string>();
  /** The last plan's preemptable requests placed on on-demand room only (spot risk). */
  let onDemandOnly = new Set<string>();
  const unavailableUntil = new Map<string, number>();

  let done = 0;
  let busyCoreSeconds = 0;
  let reruns = 0;
  let interruptions = 0;
  let worstWait = 0;
  let launched = 0;
  let drains = 0;
  let takeBacks = 0;
  let refusals = 0;
  let bootFailures = 0;
  let ticks = 0;
  let violations = 0;
  let makespan = 0;

  const spotPrice = (type: string, zone: string, od: number): number =>
    sim.spotPrices[`${type}/${zone}`] ??
    sim.spotPrices[type] ??
    Math.round(od * sim.spotPriceRatio * 10_000) / 10_000;

  // Charges the time since the node's last change to the bucket its state was in; called before
  // every change of state or load.
  const account = (n: SimNode, t: number): void => {
    const dt = t - n.accountedTo;
    if (dt <= 0 || n.state === 'terminated') return;
    n.accountedTo = t;
    if (n.registeredAt === undefined) n.spent.boot += dt;
    else if (n.running.size === 0) n.spent.idle += dt;
    else {
      const share = Math.min(
        1,
        Math.max(
          (n.cap.cores - n.free.cores) / Math.max(n.cap.cores, 1e-9),
          (n.cap.memoryBytes - n.free.memoryBytes) / Math.max(n.cap.memoryBytes, 1),
        ),
      );
      n.spent.used += dt * share;
      n.spent.unused += dt * (1 - share);
    }
  };

  const terminate = (n: SimNode, t: number): void => {
    if (n.state === 'terminated') return;
    account(n, t);
    n.state = 'terminated';
    n.endedAt = t;
    const i = liveNodes.indexOf(n);
    if (i >= 0) liveNodes.splice(i, 1);
  };

  const start = (j: SimJob, n: SimNode, t: number): void => {
    queued--;
    account(n, t);
    j.state = 'running';
    j.startedAt = t;
    j.nodeId = n.id;
    j.attempt++;
    n.free = subtract(n.free, j.req);
    n.running.add(j.idx);
    n.lastBusyAt = t;
    worstWait = Math.max(worstWait, t - j.readyAt);
    push({ t: t + j.runtime, kind: 'finish', job: j.idx, attempt: j.attempt });
  };

  // As the mesos batch system places work (placementOrder, shared with it): jobs that take
  // on-demand room first (non-preemptable ones, and preemptable ones no spot node could hold that
  // the last plan does not have wait for spot) on on-demand nodes, then the other preemptable
  // jobs on spot nodes and on the on-demand room left; largest first within each, first-fit on
  // the oldest node.
  const keyOf = (j: SimJob): string =>
    placementKey({
      cores: j.req.cores,
      memory: j.req.memoryBytes,
      disk: j.req.diskBytes,
      preemptable: j.preemptable,
    });
  const dispatch = (t: number): void => {
    if (queued === 0) return;
    const spotNodes = liveNodes.filter((n) => n.state === 'registered' && n.capacityType === 'spot');
    const head = (q: number[]): SimJob => jobs[q[0]!]!;
    const { onDemandFirst, spotFirst } = placementOrder(
      [...queue.values()].filter((q) => q.length > 0),
      (q) => ({
        preemptable: head(q).preemptable,
        cores: head(q).req.cores,
        memory: head(q).req.memoryBytes,
      }),
      (q) =>
        !onDemandOnly.has(keyOf(head(q))) &&
        (spotNodes.some((n) => fitsResources(n.cap, head(q).req)) ||
          (preemptableStaysOnSpot && waitsForSpot.has(keyOf(head(q))))),
    );
    const passes: [CapacityType, number[][]][] = [
      ['on-demand', onDemandFirst],
      ['spot', spotFirst],
    ];
    // The last plan may keep them off on-demand room (preemptableStaysOnSpot), as the batch system does.
    if (!preemptableStaysOnSpot) passes.push(['on-demand', spotFirst]);
    placing: for (const [capacity, order] of passes) {
      for (const n of liveNodes) {
        if (n.state !== 'registered' || n.capacityType !== capacity) continue;
        const off = keepOff.get(n.id);
        for (const q of order) {
          if (off && q.length > 0 && off.has(keyOf(head(q)))) continue;
          while (q.length > 0 && fitsResources(n.free, head(q).req)) start(jobs[q.shift()!]!, n, t);
        }
        if (queued === 0) break placing;
      }
    }
    for (const [key, q] of queue) if (q.length === 0) queue.delete(key);
  };

  const refused = (type: string, zone: string, cap: CapacityType, t: number): boolean =>
    sim.capacityRefusals.some(
      (r) =>
        (r.instanceType === undefined || r.instanceType === type) &&
        (r.zone === undefined || r.zone === zone) &&
        (r.capacityType === undefined || r.capacityType === cap) &&
        t >= r.fromSeconds &&
        t < r.untilSeconds,
    );

  const tick = (t: number): ScalingPlan => {
    ticks++;
    const groups = new Map<string, { job: SimJob; count: number }>();
    for (const q of queue.values())
      for (const i of q) {
        const j = jobs[i]!;
        const g = groups.get(j.groupKey);
        if (g) g.count++;
        else groups.set(j.groupKey, { job: j, count: 1 });
      }
    const queuedJobs: QueuedJob[] = [...groups.values()].map(({ job, count }) => ({
      id: job.id,
      name: job.name,
      cores: job.req.cores,
      memoryBytes: job.req.memoryBytes,
      diskBytes: job.req.diskBytes,
      preemptable: job.preemptable,
      walltimeSeconds: job.walltime,
      count,
      ...(job.onDemandBecause ? { onDemandBecause: job.onDemandBecause } : {}),
    }));
    const running: RunningJob[] = [];
    const snapshotNodes: ExistingNode[] = [];
    for (const n of liveNodes) {
      snapshotNodes.push({
        id: n.id,
        instanceType: n.instanceType,
        zone: n.zone,
        capacityType: n.capacityType,
        state: n.state === 'terminated' ? 'draining' : n.state,
        launchedAt: ms(n.launchedAt),
        registeredAt: n.registeredAt !== undefined ? ms(n.registeredAt) : undefined,
        lastBusyAt: ms(n.lastBusyAt),
        pricePerHour: n.price,
      });
      for (const i of n.running) {
        const j = jobs[i]!;
        running.push({
          id: j.id,
          name: j.name,
          nodeId: n.id,
          startedAt: ms(j.startedAt),
          cores: j.req.cores,
          memoryBytes: j.req.memoryBytes,
          diskBytes: j.req.diskBytes,
          preemptable: j.preemptable,
          walltimeSeconds: j.walltime,
          ...(j.onDemandBecause ? { onDemandBecause: j.onDemandBecause } : {}),
        });
      }
    }
    const offerings: OfferingState[] = [];
    for (const nt of config.nodeTypes)
      for (const it of nt.instanceTypes)
        for (const zone of config.zones) {
          const key = offeringKey(it.name, zone, nt.capacityType);
          const until = unavailableUntil.get(key);
          offerings.push({
            instanceType: it.name,
            zone,
            capacityType: nt.capacityType,
            pricePerHour:
              nt.capacityType === 'spot' ? spotPrice(it.name, zone, it.onDemandPrice) : it.onDemandPrice,
            unavailableUntil: until !== undefined && until > t ? ms(until) : undefined,
          });
        }
    const plan = planScaling(
      {
        now: ms(t),
        queued: queuedJobs,
        running,
        nodes: snapshotNodes,
        offerings,
        runtimes: history,
        state,
        lastShortfall: shortfall,
        spotInterruptions: interruptions,
      },
      config,
      policy,
    );
    options.onPlan?.(t, plan);
    state = plan.state;
    preemptableStaysOnSpot = plan.preemptableStaysOnSpot === true;
    waitsForSpot = new Set(plan.preemptableWaitsForSpot ?? []);
    onDemandOnly = new Set(plan.preemptableOnOnDemand ?? []);
    keepOff = new Map((plan.keepOff ?? []).map((k) => [k.nodeId, new Set(k.requests)]));
    shortfall = [];
    for (const a of plan.drain) {
      const n = nodes.get(a.nodeId);
      if (n && (n.state === 'registered' || n.state === 'booting')) {
        n.state = 'draining';
        drains++;
      } else violations++;
    }
    for (const a of plan.undrain) {
      const n = nodes.get(a.nodeId);
      if (n && n.state === 'draining') {
        n.state = n.registeredAt !== undefined ? 'registered' : 'booting';
        takeBacks++;
      } else violations++;
    }
    for (const a of plan.terminate) {
      const n = nodes.get(a.nodeId);
      if (!n || n.state === 'terminated') continue;
      if (n.running.size > 0) {
        violations++;
        continue;
      }
      terminate(n, t);
    }
    for (const l of plan.launch) {
      const key = offeringKey(l.instanceType, l.zone, l.capacityType);
      if (refused(l.instanceType, l.zone, l.capacityType, t)) {
        refusals++;
        unavailableUntil.set(key, t + sim.unavailableSeconds);
        shortfall.push({ instanceType: l.instanceType, capacityType: l.capacityType, count: l.count });
        continue;
      }
      const entry = types.byName.get(l.instanceType)!;
      const price =
        l.capacityType === 'spot'
          ? spotPrice(l.instanceType, l.zone, entry.type.onDemandPrice)
          : entry.type.onDemandPrice;
      for (let k = 0; k < l.count; k++) {
        const n: SimNode = {
          id: `i-${String(++nodeSeq).padStart(6, '0')}`,
          instanceType: l.instanceType,
          zone: l.zone,
          capacityType: l.capacityType,
          price,
          launchedAt: t,
          cap: entry.packable,
          cores: entry.type.cores,
          state: 'booting',
          willRegister: true,
          free: entry.packable,
          running: new Set(),
          lastBusyAt: t,
          spent: { used: 0, unused: 0, idle: 0, boot: 0 },
          accountedTo: t,
        };
        nodes.set(n.id, n);
        liveNodes.push(n);
        launched++;
        if (rand() < sim.bootFailureRate) {
          bootFailures++;
          n.willRegister = false;
        } else
          push({
            t: t + sim.bootSeconds + (rand() * 2 - 1) * sim.bootJitterSeconds,
            kind: 'register',
            node: n.id,
          });
        if (l.capacityType === 'spot' && sim.spotInterruptionRate > 0) {
          const life = (-Math.log(1 - rand()) / sim.spotInterruptionRate) * 3600;
          n.interruptAt = t + life;
          push({ t: t + life, kind: 'interrupt', node: n.id });
        }
      }
    }
    dispatch(t);
    if (overLimits()) limitOverruns++;
    return plan;
  };

  // A billed node counts against its limits until it is terminated, draining or not.
  let limitOverruns = 0;
  const overLimits = (): boolean => {
    const byType = config.nodeTypes.map(() => 0);
    let spot = 0;
    for (const n of liveNodes) {
      const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
      if (idx !== undefined) byType[idx]! += 1;
      if (n.capacityType === 'spot') spot++;
    }
    return (
      config.nodeTypes.some((nt, idx) => byType[idx]! > nt.maxNodes) ||
      (config.maxPreemptableNodes !== undefined && spot > config.maxPreemptableNodes) ||
      (config.maxTotalNodes !== undefined && liveNodes.length > config.maxTotalNodes)
    );
  };

  // Nothing can change when no job runs, no node boots, no spot node is still to be taken back,
  // no job is still to arrive or be released, no offering comes back later, and the plan asked
  // for nothing with its state settled.
  let lastPlan: ScalingPlan | undefined;
  let prevState: ScalerState | undefined;
  const settled = (plan: ScalingPlan, t: number): boolean => {
    if (plan.launch.length > 0 || plan.undrain.length > 0) return false;
    if (pendingReady > 0) return false;
    const mayRegister = (n: SimNode): boolean =>
      n.willRegister || t - n.launchedAt <= config.bootTimeoutSeconds + config.scaleIntervalSeconds;
    // A spot interruption still to come changes the cluster (a policy that counts a node that
    // never registered as capacity relaunches once spot takes it back).
    const mayChange = (n: SimNode): boolean =>
      n.running.size > 0 ||
      (n.registeredAt === undefined && mayRegister(n)) ||
      (n.interruptAt !== undefined && n.interruptAt > t);
    if (liveNodes.some(mayChange)) return false;
    if ([...unavailableUntil.values()].some((u) => u > t)) return false;
    // The plan launches again when a backoff after nodes that never registered ends, and one may
    // register then, unless none ever does (bootFailureRate 1: the plan's reason says so).
    if (sim.bootFailureRate < 1 && bootBackoffPending(plan.state.bootFailures, ms(t))) return false;
    const a = prevState?.smoothed ?? {};
    const b = plan.state.smoothed;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => Math.abs((a[k] ?? 0) - (b[k] ?? 0)) < 1e-6);
  };
  let ended: SimulationResult['ended'] = 'maxDuration';

  push({ t: 0, kind: 'tick' });
  let now = 0;
  while (events.size > 0) {
    const e = events.pop()!;
    now = e.t;
    if (now > sim.maxSeconds) break;
    switch (e.kind) {
      case 'ready': {
        pendingReady--;
        const j = jobs[e.job]!;
        enqueue(j, now);
        dispatch(now);
        break;
      }
      case 'finish': {
        const j = jobs[e.job]!;
        if (j.state !== 'running' || j.attempt !== e.attempt) break;
        const n = nodes.get(j.nodeId!)!;
        account(n, now);
        n.running.delete(j.idx);
        n.free = add(n.free, j.req);
        n.lastBusyAt = now;
        busyCoreSeconds += j.req.cores * j.runtime;
        j.state = 'done';
        done++;
        makespan = now;
        history = recordCompletion(history, j.name, j.runtime);
        for (const c of j.children) {
          const child = jobs[c]!;
          if (--child.depsLeft === 0)
            push({ t: Math.max(now, trace.jobs[c]!.arrival), kind: 'ready', job: c });
        }
        dispatch(now);
        break;
      }
      case 'register': {
        const n = nodes.get(e.node)!;
        if (n.state === 'terminated') break;
        account(n, now);
        n.registeredAt = now;
        n.lastBusyAt = now;
        if (n.state === 'booting') n.state = 'registered';
        dispatch(now);
        break;
      }
      case 'interrupt': {
        const n = nodes.get(e.node)!;
        if (n.state === 'terminated') break;
        account(n, now);
        interruptions++;
        for (const i of n.running) {
          const j = jobs[i]!;
          busyCoreSeconds += j.req.cores * (now - j.startedAt);
          reruns++;
          j.nodeId = undefined;
          // As the leader does (workflowRunner's onLost): lost on spot more than preemptableRetries
          // times, the job runs on on-demand from then on.
          if (j.preemptable && ++j.lostOnSpot > sim.preemptableRetries) {
            j.preemptable = false;
            j.onDemandBecause = `lost with its spot node ${j.lostOnSpot} times (--preemptableRetries ${sim.preemptableRetries})`;
            j.groupKey = groupKeyOf(j.name, j.req, false, j.walltime);
          }
          enqueue(j, now);
        }
        n.running.clear();
        terminate(n, now);
        dispatch(now);
        break;
      }
      case 'tick': {
        prevState = state;
        const plan = tick(now);
        lastPlan = plan;
        options.onProgress?.({ t: now, jobsDone: done, jobs: jobs.length });
        if (done < jobs.length && settled(plan, now)) ended = 'stuck';
        else if (done < jobs.length) push({ t: now + config.scaleIntervalSeconds, kind: 'tick' });
        break;
      }
    }
    if (done === jobs.length || ended === 'stuck') break;
  }
  const finished = done === jobs.length;
  if (finished) ended = 'finished';
  // A job still queued at the end has waited as long as the run: the worst wait, if any has.
  for (const j of jobs) if (j.state === 'queued') worstWait = Math.max(worstWait, now - j.readyAt);
  const neverRan = finished ? [] : explainNeverRan(jobs, lastPlan);
  const end = finished ? makespan : now;
  for (const n of [...liveNodes]) terminate(n, end);

  let cost = 0;
  const hours = { spot: 0, onDemand: 0 };
  const costs = { spot: 0, onDemand: 0 };
  let billedCoreSeconds = 0;
  const split = { used: 0, unused: 0, idle: 0, boot: 0, minimum: 0 };
  const byType: Record<string, { nodes: number; hours: number; cost: number; unused: number }> = {};
  for (const n of nodes.values()) {
    const life = (n.endedAt ?? end) - n.launchedAt;
    const seconds = Math.max(config.billingMinimumSeconds, life);
    const c = (seconds / 3600) * n.price;
    cost += c;
    const perSecond = n.price / 3600;
    split.used += n.spent.used * perSecond;
    split.unused += n.spent.unused * perSecond;
    split.idle += n.spent.idle * perSecond;
    split.boot += n.spent.boot * perSecond;
    split.minimum += Math.max(0, seconds - life) * perSecond;
    const pool = `${n.instanceType} ${n.capacityType}`;
    const b = (byType[pool] ??= { nodes: 0, hours: 0, cost: 0, unused: 0 });
    b.nodes++;
    b.unused += n.spent.unused * perSecond;
    b.hours += seconds / 3600;
    b.cost += c;
    billedCoreSeconds += seconds * n.cores;
    if (n.capacityType === 'spot') {
      hours.spot += seconds / 3600;
      costs.spot += c;
    } else {
      hours.onDemand += seconds / 3600;
      costs.onDemand += c;
    }
  }
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    trace: trace.name,
    policy,
    seed,
    finished,
    ended,
    neverRan,
    cost: r3(cost),
    makespan: Math.round(end),
    nodeHours: { spot: r3(hours.spot), onDemand: r3(hours.onDemand) },
    costByPool: { spot: r3(costs.spot), onDemand: r3(costs.onDemand) },
    meanUtilisation: billedCoreSeconds > 0 ? r3(busyCoreSeconds / billedCoreSeconds) : 0,
    jobs: jobs.length,
    rerunsAfterInterruption: reruns,
    interruptions,
    worstQueueWait: Math.round(worstWait),
    nodesLaunched: launched,
    drains,
    takeBacks,
    launchRefusals: refusals,
    bootFailures,
    ticks,
    planViolations: violations,
    limitOverruns,
    breakdown: {
      used: r3(split.used),
      unused: r3(split.unused),
      idle: r3(split.idle),
      boot: r3(split.boot),
      minimum: r3(split.minimum),
      byType: Object.fromEntries(
        Object.entries(byType)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => [
            k,
            { nodes: v.nodes, hours: r3(v.hours), cost: r3(v.cost), unused: r3(v.unused) },
          ]),
      ),
    },
  };
}

/**
 * The jobs that never ran, grouped by name and reason: a queued job gets the last plan's reason
 * (unschedulable with its failing constraints, or waiting with the limit, budget or spot reason);
 * a job never released names the unfinished job it waited for.
 */
function explainNeverRan(jobs: readonly SimJob[], plan: ScalingPlan | undefined): NeverRan[] {
  const groups = new Map<string, { jobName: string; count: number; jobIds: string[]; reason: string }>();
  const note = (j: SimJob, reason: string): void => {
    const key = `${j.name}\u0000${reason}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { jobName: j.name, count: 0, jobIds: [], reason }));
    g.count++;
    if (g.jobIds.length < 5) g.jobIds.push(j.id);
  };
  const queuedReason = (j: SimJob): string => {
    const u = plan?.unschedulable.find(
      (x) =>
        x.jobName === j.name &&
        x.request.cores === j.req.cores &&
        x.request.memoryBytes === j.req.memoryBytes &&
        x.request.diskBytes === j.req.diskBytes &&
        x.request.preemptable === j.preemptable,
    );
    if (u) return `unschedulable: ${u.constraints.join('; ')}`;
    const w = plan?.waiting.find((x) => x.jobName === j.name);
    if (w) return `waiting: ${w.reason}`;
    return `queued; the last plan (${plan?.policy ?? 'none'}) launched nothing for it and gave no reason`;
  };
  const byIdx = new Map(jobs.map((j) => [j.idx, j]));
  const parents = new Map<number, number[]>();
  for (const j of jobs)
    for (const c of j.children) (parents.get(c) ?? parents.set(c, []).get(c)!).push(j.idx);
  // A blocked job names the job at the top of its unfinished ancestry (the first parent not done,
  // and so on up): a tree under one stuck root is one line per name, not one per parent.
  const rootOf = new Map<number, SimJob | undefined>();
  const blockingRoot = (j: SimJob): SimJob | undefined => {
    if (rootOf.has(j.idx)) return rootOf.get(j.idx);
    let at: SimJob = j;
    const path: SimJob[] = [];
    for (;;) {
      const p = (parents.get(at.idx) ?? []).map((i) => byIdx.get(i)!).find((x) => x.state !== 'done');
      if (!p) break;
      if (rootOf.has(p.idx)) {
        at = rootOf.get(p.idx) ?? p;
        break;
      }
      path.push(at);
      at = p;
      if (at.state !== 'blocked') break;
    }
    const root = at === j ? undefined : at;
    for (const x of [j, ...path]) rootOf.set(x.idx, root);
    return root;
  };
  for (const j of jobs) {
    if (j.state === 'done') continue;
    if (j.state === 'running') note(j, 'was still running when the simulation stopped');
    else if (j.state === 'queued') note(j, queuedReason(j));
    else {
      const root = blockingRoot(j);
      note(
        j,
        root
          ? `never released: waits on job '${root.name}' (${root.id}), which ${root.state === 'running' ? 'was still running' : root.state === 'queued' ? 'never started' : 'never arrived'}`
          : 'never arrived',
      );
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.jobName.localeCompare(b.jobName));
}
