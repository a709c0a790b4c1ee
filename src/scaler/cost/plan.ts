import { placementKey } from '../../common/placementOrder.js';
import { formatDuration } from '../../common/units.js';
import type { Objective, ScalerConfig } from '../config.js';
import { groupQueue } from '../jobClasses.js';
import { buildOfferings, nodeTypeIndexOf, offeringKey, typeTable, withTypesOfNodes } from '../offerings.js';
import { estimateRuntime, expectedRuntime, runtimeOverrun, runtimeSpread } from '../runtimes.js';
import { add, archMatches, dominantShare, maxFit, requestKey, subtract } from '../shapes.js';
import { interruptionRate, nextExposure, restartFactor, type SpotExposure } from '../spotRisk.js';
import { findUnschedulable } from '../unschedulable.js';
import type {
  BootFailureRun,
  ExistingNode,
  JobRequest,
  LaunchAction,
  NodeAction,
  Offering,
  RunningJob,
  ScalerState,
  ScalingPlan,
  ScalingSnapshot,
  WaitingJobs,
  WorkFlowState,
} from '../types.js';
import { agentLostTooLong, pastBootTimeout } from '../types.js';
import {
  backoffReason,
  backoffUntil,
  bootBackoffPending,
  BOOT_FAILURE_HINT,
  CLUSTER,
  trackBootFailures,
  withBootBackoffs,
} from './bootBackoff.js';
import { substituteClassic } from './classicSubstitute.js';
import { packOntoNode, type NodeTiming, type WorkClass } from './existing.js';
import {
  cheapestPerJob,
  chooseNewNodes,
  CONSOLIDATION_MARGIN,
  KEEP_OFF_MARGIN,
  type LimitState,
  runningValuePerDollar,
} from './newNodes.js';

/**
 * The least a node stays after its last task ended, whatever idleGrace says. A finished job's
 * successors are issued only once the leader has committed its result to the job store (an S3
 * write: up to a second or two), so a tick in that gap would retire the node its follow-on is
 * about to need, and launch another for it. Measured from the task's end (`lastBusyAt`), so it
 * costs a few seconds of node time at most once per retirement.
 */
export const HANDOFF_GRACE_SECONDS = 5;

/**
 * Long work may wait this share of its expected runtime for room on the nodes there are (as they
 * free up) before nodes are bought for it, where that is longer than targetTime: a day-long job
 * that starts two hours late ends 8 % later, while a node launched so it starts at once is billed
 * beside nodes whose room frees meanwhile, and runs part-empty when the chains or waves it holds
 * end unevenly. `speed` keeps targetTime for every job, and a service keeps it under every
 * objective (its clients wait on it). A quarter: on drawn workloads (seeds 21–26, 559 cases) it
 * cut the cost over toil-classic's, summed over the cases above it, by a sixth and the makespan
 * geomean rose by 0.004; 0.15 moved nothing, 0.35 slowed more for little more (docs/scaler.md,
 * "Long work waits a share of its runtime").
 */
export const LONG_WORK_WAIT_SHARE: Readonly<Record<Objective, number>> = {
  cost: 0.25,
  balanced: 0.25,
  speed: 0,
};

/**
 * Queued classes whose runtime is unknown (no walltime, no completion of the name) while some
 * jobs of the name have run for less than `unknownRuntime` (the probe): their first completion
 * tells a scatter of short jobs from long ones before a fleet is bought at the unknown-runtime
 * default, and past the probe the doubling estimate has grown beyond that default anyway. Not for
 * `speed`, which pays for the fleet rather than wait.
 */
function probingClasses(
  work: readonly WorkClass[],
  longestRunning: ReadonlyMap<string, number>,
  unknownRuntime: ReadonlySet<string>,
  config: ScalerConfig,
): { c: WorkClass; elapsed: number }[] {
  if (config.objective === 'speed') return [];
  const out: { c: WorkClass; elapsed: number }[] = [];
  for (const c of work) {
    const elapsed = longestRunning.get(c.name);
    if (c.remaining <= 0 || elapsed === undefined || elapsed >= config.unknownRuntimeSeconds) continue;
    if (!unknownRuntime.has(c.key)) continue;
    out.push({ c, elapsed });
  }
  return out;
}

/** Fewest queued jobs of a never-seen name for its first sighting to be probed, not bought a fleet. */
export const FIRST_SIGHTING_MIN_JOBS = 8;

/**
 * A name's first sighting: a queued class whose runtime is unknown, none of its name running,
 * seen by no plan before. At the unknown-runtime default the plan would buy a fleet for all of it
 * at once, where nothing tells a queue of one-minute jobs from one of day-long jobs; so new nodes
 * are bought for √count of its jobs (the probe; less what existing room takes), and the rest wait
 * while nodes boot, at most bootTimeout. Once the probe's jobs run, the probe of running jobs
 * (probingClasses) waits for the first of them to end. A queue of fewer than
 * FIRST_SIGHTING_MIN_JOBS is bought for at once: its fleet is small anyway. Not for `speed`.
 */
function firstSightings(
  work: readonly WorkClass[],
  queuedCount: ReadonlyMap<string, number>,
  longestRunning: ReadonlyMap<string, number>,
  unknownRuntime: ReadonlySet<string>,
  snapshot: ScalingSnapshot,
  config: ScalerConfig,
  booting: boolean,
): { allowed: Map<WorkClass, number>; firstSeenAt: Record<string, number> } {
  const allowed = new Map<WorkClass, number>();
  const firstSeenAt: Record<string, number> = {};
  if (config.objective === 'speed') return { allowed, firstSeenAt };
  const seen = snapshot.state?.firstSeenAt ?? {};
  const now = snapshot.now;
  const probed = work.filter((c) => unknownRuntime.has(c.key) && !longestRunning.has(c.name));
  // Counted per name: a name's jobs come in many requests (a scatter of varied inputs).
  const byName = new Map<string, { total: number; placed: number }>();
  for (const c of probed) {
    const n = byName.get(c.name) ?? { total: 0, placed: 0 };
    const total = queuedCount.get(c.key) ?? 0;
    n.total += total;
    n.placed += total - c.remaining;
    byName.set(c.name, n);
  }
  const left = new Map<string, number>();
  for (const [name, n] of byName) {
    const since = seen[name];
    if (since === undefined) {
      if (n.total < FIRST_SIGHTING_MIN_JOBS) continue;
      firstSeenAt[name] = now;
      left.set(name, Math.max(0, Math.ceil(Math.sqrt(n.total)) - n.placed));
      continue;
    }
    firstSeenAt[name] = since;
    if (booting && (now - since) / 1000 < config.bootTimeoutSeconds) left.set(name, 0);
  }
  // The probe's jobs are the name's smallest: the cheapest sample of its runtime (the largest
  // first bought a memory-heavy scatter's probe a node per big job).
  for (const c of [...probed].reverse()) {
    const l = left.get(c.name);
    if (l === undefined) continue;
    const take = Math.min(c.remaining, l);
    allowed.set(c, take);
    left.set(c.name, l - take);
  }
  return { allowed, firstSeenAt };
}

/**
 * The `cost` policy. In order:
 * 1. jobs no configured node type can run are reported with the constraint that fails;
 * 2. nodes that never registered within bootTimeout are terminated (and their work replanned);
 * 3. queued jobs are packed over time onto existing capacity — registered nodes now, booting
 *    nodes when they are expected up, running jobs' resources when they are expected to end —
 *    busiest nodes first so idle ones stay idle; draining nodes are taken back (undrained) before
 *    anything new is launched;
 * 4. the rest goes onto the cheapest set of new nodes (see newNodes.ts), spot for preemptable work
 *    where allowed, on-demand otherwise, within per-type, spot-pool, cluster and $/h limits;
 * 5. launches are smoothed by betaInertia per offering and minNodes is topped up;
 * 6. scale-down: idle nodes past idleGrace (and HANDOFF_GRACE_SECONDS) are drained (dearest
 *    first, never below minNodes, static nodes kept), nodes over a lowered limit are drained,
 *    draining nodes that are empty are terminated.
 * With the spot pool full, a plan that buys on-demand nodes is weighed against one that keeps
 * preemptable work off on-demand room (onDemandRoomYielded). Last, launches dearer than 1.25×
 * what toil-classic would launch for the same queue are replaced by those (classicSubstitute.ts).
 */
export function planCost(snapshot: ScalingSnapshot, config: ScalerConfig): ScalingPlan {
  // Nodes that never register, again and again, back their offering (or every one) off for a
  // while: replacing each after bootTimeout for ever bills a node per bootTimeout and runs nothing.
  const failed = failedBoots(snapshot, config);
  const bootFailures = trackBootFailures(
    snapshot.state?.bootFailures,
    snapshot.nodes,
    failed,
    snapshot.now,
    config.bootTimeoutSeconds,
  );
  const seen = bootBackoffPending(bootFailures, snapshot.now)
    ? withBootBackoffs(snapshot, bootFailures, buildOfferings(config, snapshot))
    : snapshot;
  // The launches toil-classic would make are compared for the same queue as planned, with the
  // jobs spot risk plans on on-demand counted as on-demand work (its spot launch would be
  // cheaper per hour only until the restarts).
  const exposure = spotExposureOf(snapshot);
  const risk = spotRiskOf(seen, config, interruptionRate(exposure));
  const risky = seen.queued.map((q) => risk(q) !== undefined);
  const asPlanned = risky.some(Boolean)
    ? { ...seen, queued: seen.queued.map((q, i) => (risky[i] ? { ...q, preemptable: false } : q)) }
    : seen;
  const plan = substituteClassic(
    asPlanned,
    config,
    onDemandRoomYielded(seen, config, planCostWith(seen, config, false, risk), risk),
  );
  const done = withBootFailures(plan, failed, bootFailures, snapshot.now);
  return { ...done, state: { ...done.state, spotExposure: exposure } };
}

/** A request's key as the batch system places by it (keep-off hints, the spot lists). */
function requestPlacementKey(r: JobRequest, preemptable = r.preemptable): string {
  return placementKey({ cores: r.cores, memory: r.memoryBytes, disk: r.diskBytes, preemptable });
}

/** Why a queued or running preemptable job is planned as on-demand work (spot risk), or undefined. */
type SpotRisk = (
  job: { name: string; walltimeSeconds?: number; service?: boolean } & JobRequest,
) => string | undefined;

/**
 * Spot risk: why a queued preemptable job is planned as on-demand work, or undefined. A class
 * whose restarts at the interruption rate measured on this cluster make spot dearer per job than
 * on-demand is planned on on-demand and kept off the spot nodes (a hint: the job itself stays
 * preemptable). A job lost on spot again and again is otherwise moved only by the leader's count
 * (--preemptableRetries), after paying its losses: day-long preemptable jobs at 0.3 interruptions
 * per node-hour were lost four times each, then run on on-demand anyway (docs/scaler.md, "Spot
 * risk priced per job class"). Only a runtime that is known (learned or declared): the
 * unknown-runtime default says nothing of the tail. Not where keep-off hints are not honoured:
 * nothing would keep the jobs off spot.
 */
function spotRiskOf(snapshot: ScalingSnapshot, config: ScalerConfig, rate: number): SpotRisk {
  if (rate <= 0 || snapshot.keepOffHonoured === false || config.maxPreemptableNodes === 0)
    return () => undefined;
  const types = withTypesOfNodes(typeTable(config), config, snapshot.nodes);
  const offerings = buildOfferings(config, snapshot);
  const spotOfferings = offerings.filter((o) => o.capacityType === 'spot');
  const opts = {
    unknownRuntimeSeconds: config.unknownRuntimeSeconds,
    targetTimeSeconds: config.targetTimeSeconds,
  };
  const judge: SpotRisk = (job) => {
    if (!job.preemptable) return undefined;
    const e = estimateRuntime(snapshot.runtimes, job, opts);
    if (e.source !== 'learned' && e.source !== 'declared') return undefined;
    const factor = restartFactor(rate, e.seconds);
    const spot = cheapestPerJob(job, spotOfferings, types, config);
    const onDemand = cheapestPerJob({ ...job, preemptable: false }, offerings, types, config);
    if (!Number.isFinite(spot) || !Number.isFinite(onDemand) || spot * factor <= onDemand + 1e-12)
      return undefined;
    return `spot nodes here are reclaimed ${rate.toFixed(3)} times per node-hour; a job of ${formatDuration(e.seconds * 1000)} restarted from scratch takes ${factor.toFixed(2)}× its runtime there, dearer than on-demand at ${(onDemand / spot).toFixed(2)}× the spot price per job`;
  };
  // The batch system places by request (placement key), not by name or walltime: a request some
  // queued job of which is cheaper on spot stays on spot for all of them. Otherwise one long job
  // of a heavy-tailed name whose jobs each declare their walltime took every job of its shape off
  // spot: the spot nodes idled while on-demand ran the short ones (drawn16-scatter-gather-once
  // @stormy-spot, seed 41: 0.907 → 1.188 before this).
  // Asked for every queued group and running job, by every pass of the plan: judged once per
  // name, request and walltime.
  const judged = new Map<string, string | undefined>();
  const risk: SpotRisk = (job) => {
    if (!job.preemptable) return undefined;
    const k = `${job.name}\u0000${requestKey(job)}\u0000${job.walltimeSeconds ?? ''}\u0000${job.service ? 1 : 0}`;
    if (!judged.has(k)) judged.set(k, judge(job));
    return judged.get(k);
  };
  const mixed = new Set<string>();
  for (const q of snapshot.queued)
    if (q.preemptable && risk(q) === undefined) mixed.add(requestPlacementKey(q));
  return (job) => (mixed.has(requestPlacementKey(job)) ? undefined : risk(job));
}

/** The spot exposure this tick adds to the last (see spotRisk.ts). */
function spotExposureOf(snapshot: ScalingSnapshot): SpotExposure {
  return nextExposure(
    snapshot.state?.spotExposure,
    snapshot.now,
    snapshot.nodes.filter((n) => n.capacityType === 'spot').length,
    snapshot.spotInterruptions ?? 0,
  );
}

/**
 * Nodes past bootTimeout that never registered and are the scaler's to replace (a static one is
 * the operator's: kept unless retireStaticNodes).
 */
function failedBoots(snapshot: ScalingSnapshot, config: ScalerConfig): ExistingNode[] {
  return snapshot.nodes.filter(
    (n) =>
      pastBootTimeout(n, snapshot.now, config.bootTimeoutSeconds) && (!n.static || config.retireStaticNodes),
  );
}

/** The plan with the runs of boot failures in its state, and the backoffs this tick starts said. */
function withBootFailures(
  plan: ScalingPlan,
  failed: readonly ExistingNode[],
  runs: Record<string, BootFailureRun>,
  now: number,
): ScalingPlan {
  const state = { ...plan.state, ...(Object.keys(runs).length > 0 ? { bootFailures: runs } : {}) };
  if (failed.length === 0) return { ...plan, state };
  const keys = new Set(failed.map((n) => offeringKey(n.instanceType, n.zone, n.capacityType)));
  keys.add(CLUSTER);
  const started: { until: number; reason: string }[] = [];
  for (const key of keys) {
    const run = runs[key];
    const until = run ? backoffUntil(key, run) : undefined;
    if (run && until !== undefined && until > now && run.lastAt === now)
      started.push({ until, reason: `${backoffReason(key, run, until)} (${BOOT_FAILURE_HINT})` });
  }
  if (started.length === 0) return { ...plan, state };
  // The terminate line names the backoff that holds longest; the notes name them all.
  const longest = started.reduce((x, y) => (y.until > x.until ? y : x));
  return {
    ...plan,
    state,
    terminate: plan.terminate.map((t) =>
      failed.some((n) => n.id === t.nodeId)
        ? { ...t, reason: `${t.reason.replace(/; replacing it$/, '')}; ${longest.reason}` }
        : t,
    ),
    notes: [...plan.notes, ...started.map((b) => b.reason)],
  };
}

/**
 * On-demand room yields to the work only it can run. With the spot pool at maxPreemptableNodes,
 * `preemptableStaysOnSpot` is off, so the batch system gives preemptable jobs on-demand room, and
 * non-preemptable work that arrives then finds the on-demand pool full of preemptable jobs: it
 * opens a dearer on-demand type (tight-few: r5.4xlarge at $1.008/h for work an m5.2xlarge at
 * $0.384/h runs once its preemptable jobs end), and the nodes those jobs held are consolidated
 * for running only spot-able work, drained, and relaunched for the next non-preemptable jobs.
 * So when the plan buys on-demand nodes, it is planned again with preemptable work a spot node
 * could hold kept off on-demand room (it waits for the full spot pool, as the plan already has it
 * do for new nodes), and that plan is taken when it buys less per hour. Otherwise the switch
 * stays off: on-demand room nobody else needs still runs preemptable work (always keeping it off
 * left that room idle while the work waited for three spot nodes: makespan up to 1.4× on
 * tight-few, and new cases over 1.00).
 */
function onDemandRoomYielded(
  snapshot: ScalingSnapshot,
  config: ScalerConfig,
  plan: ScalingPlan,
  spotRisk: SpotRisk,
): ScalingPlan {
  if (plan.preemptableStaysOnSpot === true || !plan.launch.some((l) => l.capacityType === 'on-demand'))
    return plan;
  const bought = (p: ScalingPlan): number => p.launch.reduce((s, l) => s + l.count * l.pricePerHour, 0);
  const yielded = planCostWith(snapshot, config, true, spotRisk);
  if (yielded.preemptableStaysOnSpot !== true || bought(yielded) >= bought(plan) - 1e-9) return plan;
  return {
    ...yielded,
    notes: [
      ...yielded.notes,
      `the spot pool is at its limits: preemptable work is kept off on-demand room so non-preemptable work takes it, which buys $${bought(yielded).toFixed(3)}/h of new nodes instead of $${bought(plan).toFixed(3)}/h`,
    ],
  };
}

/**
 * The `cost` plan; `yieldOnDemand`: keep preemptable work off on-demand room even with the spot
 * pool full; `spotRisk`: the preemptable work planned as on-demand work (spotRiskOf).
 */
function planCostWith(
  snapshot: ScalingSnapshot,
  config: ScalerConfig,
  yieldOnDemand: boolean,
  spotRisk: SpotRisk,
): ScalingPlan {
  const now = snapshot.now;
  const T = config.targetTimeSeconds;
  const configured = typeTable(config);
  // An idle static worker of a type outside the node types (launch-cluster -w 1 on t2.medium,
  // --nodeTypes c5.large) offered no room: every queue launched a node beside it.
  const types = withTypesOfNodes(configured, config, snapshot.nodes);
  /** How many of `r` one node of the type holds (0 where its architecture does not match). */
  const fitOnType = (r: JobRequest, instanceType: string): number => {
    const e = types.byName.get(instanceType);
    return e && archMatches(r, e.type.architecture) ? maxFit(e.packable, r) : 0;
  };
  const offerings = buildOfferings(config, snapshot);
  const priceByKey = new Map(offerings.map((o) => [o.key, o.pricePerHour]));
  // Asked per (node, queued class) by the dear-room tests: built once per node, not a key string each time.
  const nodePrice = new Map<ExistingNode, number>();
  const priceOf = (n: ExistingNode): number => {
    let p = nodePrice.get(n);
    if (p === undefined) {
      p =
        n.pricePerHour ??
        priceByKey.get(offeringKey(n.instanceType, n.zone, n.capacityType)) ??
        types.byName.get(n.instanceType)?.type.onDemandPrice ??
        0;
      nodePrice.set(n, p);
    }
    return p;
  };
  const estimateOpts = { unknownRuntimeSeconds: config.unknownRuntimeSeconds, targetTimeSeconds: T };
  // The latest start the plan accepts for a class on existing room before it buys nodes for it:
  // targetTime, or for long work a share of what it is expected to run (LONG_WORK_WAIT_SHARE).
  // Expected, not declared: a walltime declared as a generous cap is cut to the longest its
  // name has run lately (expectedRuntime). A service keeps targetTime: it runs until its clients
  // end, and they wait on it.
  const waitShare = LONG_WORK_WAIT_SHARE[config.objective];
  const startBy = (c: WorkClass): number => Math.max(T, waitShare * (c.waitBasisSeconds ?? 0));
  const queuedRuntime = (c: { name: string; walltimeSeconds?: number; service?: boolean }): number => {
    const e = estimateRuntime(snapshot.runtimes, c, estimateOpts);
    // No history: a job that has run e seconds is expected to run at least as long again.
    return e.source === 'default' ? Math.max(e.seconds, 2 * (longestRunning.get(c.name) ?? 0)) : e.seconds;
  };

  // For a name with no completions yet, its running jobs say how long it takes at least.
  const longestRunning = new Map<string, number>();
  for (const r of snapshot.running)
    longestRunning.set(r.name, Math.max(longestRunning.get(r.name) ?? 0, (now - r.startedAt) / 1000));
  const classes = groupQueue(snapshot.queued);
  const unschedulable = findUnschedulable(classes, config, configured);
  const bad = new Set(unschedulable.map((u) => `${u.jobId}\u0000${u.jobName}`));
  const work: WorkClass[] = classes
    .filter((c) => !bad.has(`${c.firstId}\u0000${c.name}`))
    .map((c) => {
      const risk = spotRisk({
        ...c.request,
        name: c.name,
        ...(c.walltimeSeconds !== undefined ? { walltimeSeconds: c.walltimeSeconds } : {}),
        ...(c.service ? { service: true } : {}),
      });
      const runtimeSeconds = queuedRuntime(c);
      const expected =
        waitShare > 0 && !c.service ? expectedRuntime(snapshot.runtimes, c, estimateOpts) : undefined;
      return {
        key: c.key,
        name: c.name,
        firstId: c.firstId,
        request: risk ? { ...c.request, preemptable: false } : c.request,
        runtimeSeconds,
        runtimeSpread: runtimeSpread(snapshot.runtimes, c.name),
        remaining: c.count,
        ...(risk ? { spotRisk: risk } : {}),
        ...(expected
          ? { waitBasisSeconds: expected.source === 'default' ? runtimeSeconds : expected.seconds }
          : {}),
      };
    })
    // Largest first, as first-fit-decreasing wants.
    .sort(
      (a, b) =>
        b.request.memoryBytes - a.request.memoryBytes ||
        b.request.cores - a.request.cores ||
        b.runtimeSeconds - a.runtimeSeconds,
    );
  const queuedTotal = work.reduce((s, c) => s + c.remaining, 0);
  const queuedCount = new Map(work.map((c) => [c.key, c.remaining]));
  // How long a job may run at most, as far as is known: its declared walltime or the longest of
  // its name's recent runtimes, whichever is shorter; Infinity with neither.
  const longestItMayRun = (job: { readonly name: string; readonly walltimeSeconds?: number }): number => {
    const recent = snapshot.runtimes?.byName[job.name]?.recent ?? [];
    return Math.min(recent.length > 0 ? Math.max(...recent) : Infinity, job.walltimeSeconds ?? Infinity);
  };
  const longestOf = new Map(classes.map((c) => [c.key, longestItMayRun(c)]));

  const runningByNode = new Map<string, RunningJob[]>();
  const onDemandNodes = new Set(
    snapshot.nodes.filter((n) => n.capacityType === 'on-demand').map((n) => n.id),
  );
  for (const job of snapshot.running) {
    // A preemptable job spot risk runs on on-demand is on-demand work there: a node running it is
    // not dear for "preemptable work spot could run", nor drained for it.
    const r =
      job.preemptable && onDemandNodes.has(job.nodeId) && spotRisk(job) !== undefined
        ? { ...job, preemptable: false }
        : job;
    const l = runningByNode.get(r.nodeId);
    if (l) l.push(r);
    else runningByNode.set(r.nodeId, [r]);
  }
  // Seconds a running job is expected to run yet. `freesRoom`: for counting on the room it frees,
  // by the longest of its name's recent runtimes when that is shorter than its declared walltime
  // (expectedRuntime): chains-long's steps declare walltimes 10–60 % over their runtimes, and
  // room counted from the walltime made the plan launch a node for the next step while the other
  // chains' steps were about to end (seed 1: 7 nodes against toil-classic's 6, unused $3.5
  // against $2.4). Otherwise (how long the node is held anyway, for dear room) the declared
  // walltime stands: counting on room too soon only delays a launch to the next tick, but a node
  // wrongly held dear is drained and its work launched for elsewhere.
  const remainingOf = (r: RunningJob, freesRoom = false): number => {
    const e = (freesRoom ? expectedRuntime : estimateRuntime)(snapshot.runtimes, r, estimateOpts);
    const elapsed = Math.max(0, (now - r.startedAt) / 1000);
    // No history: as for queued jobs of its name, a job that has run e seconds is expected to
    // run as long again (the doubling estimate), not to end at once.
    const est = e.source === 'default' ? Math.max(e.seconds, 2 * elapsed) : e.seconds;
    // A job past its estimate is assumed to run half as long again as it has so far.
    return est > elapsed ? est - elapsed : Math.max(config.scaleIntervalSeconds, elapsed / 2);
  };

  const launch: LaunchAction[] = [];
  const drain: NodeAction[] = [];
  const undrain: NodeAction[] = [];
  const terminate: NodeAction[] = [];
  const waiting: WaitingJobs[] = [];
  const notes: string[] = [];

  // 2. Nodes that never registered. A static one (launch-cluster --workers, or another leader's)
  // is the operator's: it is kept, as every other static node is unless retireStaticNodes, but no
  // work is planned onto it (it may never run any), so its work gets new nodes instead.
  const failed = new Set<string>();
  const unregisteredStatic: ExistingNode[] = [];
  for (const n of snapshot.nodes) {
    // A node whose agent registered and then left is no capacity either: counted as booting, it
    // held the queue's replacement back until bootTimeout, as if it had never registered.
    const lost = agentLostTooLong(n, now);
    if (lost || pastBootTimeout(n, now, config.bootTimeoutSeconds)) {
      if (n.static && !config.retireStaticNodes) {
        unregisteredStatic.push(n);
        continue;
      }
      failed.add(n.id);
      terminate.push({
        nodeId: n.id,
        reason: lost
          ? `its agent registered, then left the cluster ${formatDuration(now - n.agentLostAt!)} ago and has not come back; replacing it`
          : `never registered within bootTimeout ${formatDuration(config.bootTimeoutSeconds * 1000)} (launched ${formatDuration(now - n.launchedAt)} ago); replacing it`,
      });
    }
  }
  if (unregisteredStatic.length > 0)
    notes.push(
      `${unregisteredStatic.length} static node(s) never registered as agents within bootTimeout ` +
        `${formatDuration(config.bootTimeoutSeconds * 1000)}: ${unregisteredStatic
          .slice(0, 3)
          .map((n) => `${n.id} (${n.instanceType}, launched ${formatDuration(now - n.launchedAt)} ago)`)
          .join(', ')}${unregisteredStatic.length > 3 ? ', …' : ''}; kept (static capacity is the ` +
        "operator's; scaler.retireStaticNodes: true terminates them), but no work is planned onto them",
    );
  const live = snapshot.nodes.filter((n) => !failed.has(n.id));
  const active = live.filter((n) => n.state !== 'draining' && !unregisteredStatic.includes(n));
  const draining = live.filter((n) => n.state === 'draining');

  // 3. Existing capacity, busiest first.
  const load = (n: ExistingNode): number => {
    const cap = types.byName.get(n.instanceType)?.packable;
    if (!cap) return 0;
    return (runningByNode.get(n.id) ?? []).reduce((s, r) => s + r.cores / Math.max(cap.cores, 1e-9), 0);
  };
  const timing = (n: ExistingNode) => ({
    availableIn:
      n.state === 'booting' ? Math.max(0, (n.launchedAt - now) / 1000 + config.bootTimeSeconds) : 0,
    remainingOf: (r: RunningJob) => remainingOf(r, true),
  });
  const ordered = [...active].sort(
    (a, b) =>
      Number(a.state === 'booting') - Number(b.state === 'booting') ||
      load(b) - load(a) ||
      a.id.localeCompare(b.id),
  );
  // Consolidation: a node whose jobs other offerings would run for much less is given no more
  // work they could run cheaper. An on-demand node running only preemptable jobs costs about three
  // times what spot capacity would for the same work; a big memory node fed small CPU jobs after
  // its big job ended pays for memory nobody uses. Such a node keeps only the queued work it is
  // not dear for (a big job only it fits, non-preemptable work for an on-demand node), else it is
  // drained (its jobs finish first) and the queue goes where it is cheapest, as it would if the
  // node did not exist. Karpenter calls this replacing a node by a cheaper one.
  const spotAvailableFor = (r: JobRequest): boolean =>
    config.maxPreemptableNodes !== 0 &&
    offerings.some((o) => o.capacityType === 'spot' && o.available && fitOnType(r, o.instanceType) >= 1);
  // The cheapest fractional $/h of one job over some offerings, cached per request.
  const cheapestOver = (among: readonly Offering[]): ((r: JobRequest, together?: number) => number) => {
    // By request object first: the dear-room tests ask again and again for the same class's
    // request, and building its key string each time cost a fifth of a 100,000-job plan.
    const byKey = new Map<string, Map<number, number>>();
    const byRequest = new WeakMap<JobRequest, Map<number, number>>();
    return (r, together = Infinity) => {
      let perTogether = byRequest.get(r);
      if (perTogether === undefined) {
        const key = requestKey(r);
        perTogether = byKey.get(key);
        if (perTogether === undefined) byKey.set(key, (perTogether = new Map<number, number>()));
        byRequest.set(r, perTogether);
      }
      let v = perTogether.get(together);
      if (v === undefined) {
        v = cheapestPerJob(r, among, types, config, together);
        perTogether.set(together, v);
      }
      return v;
    };
  };
  const cheapestFor = cheapestOver(offerings);
  const costOn = (n: ExistingNode, r: JobRequest): number => {
    const cap = types.byName.get(n.instanceType)?.packable;
    return cap ? priceOf(n) * dominantShare(r, cap) : 0;
  };
  // How many jobs a launch for a queued class would hold: at most the queued jobs of its request,
  // so a new node's price per job is its share only when they fill it. Kept from a node as dear
  // against a share of a bigger node they cannot fill, the jobs are launched for on a node like
  // the one they were kept from: a split-merge tree's merges come one or two at a time, and each
  // c5.xlarge running a leaf with room for a merge was kept from it for a quarter of an r5.xlarge
  // (drained), then a c5.xlarge launched for the merge (split-merge-cpu on fourteen node types:
  // 79 launches against toil-classic's 31). Preemptable work on an on-demand node keeps the plain
  // share: what makes that node dear is its capacity type, which spot removes at any scale.
  const queuedAlike = new Map<string, number>();
  for (const c of work) {
    const key = requestKey(c.request);
    queuedAlike.set(key, (queuedAlike.get(key) ?? 0) + c.remaining);
  }
  const launchedToHold = (n: ExistingNode, c: WorkClass): number =>
    n.capacityType === 'on-demand' && c.request.preemptable
      ? Infinity
      : Math.max(1, queuedAlike.get(requestKey(c.request)) ?? 1);
  // Dear: a queued job costs more than twice on this node what it would on the cheapest offering
  // (price × dominant share), at the queue's scale (a launch holds at most the queued jobs of its
  // request, and an empty node lives for what it takes of them), or does so over its run. While
  // the node's running jobs hold it anyway, the job pays its share; for the time it is expected to
  // outlive them, the node lives for the jobs of its class it holds, at most all that is queued,
  // each paying the node's price over their number. That is compared with the same work on the
  // cheapest new node a limit still allows, which likewise holds at most the queued jobs of the
  // class and is billed from its boot. A 1-core job placed beside the big job an r5.8xlarge was
  // launched for, and ending after it, keeps the node alive at $2/h for itself
  // (few-very-large@many-loose: 2.3 of 3.3 unused $ on r5.8xlarge, toil-classic 1.1); one that
  // ends before it, or a queue that fills the node, pays its share as before.
  const dearOver = (
    n: ExistingNode,
    c: WorkClass,
    cheapest: (r: JobRequest, together?: number) => number,
    marginOver = CONSOLIDATION_MARGIN,
  ): boolean => {
    const r = c.request;
    const share = costOn(n, r);
    const margin = 1 + marginOver;
    const cap = types.byName.get(n.instanceType)?.packable;
    const jobs = runningByNode.get(n.id) ?? [];
    if (share > margin * cheapest(r) + 1e-12) {
      // At the queue's scale on both sides. An empty node lives for the queued jobs it takes: a
      // drained, empty c5.4xlarge taken back for one merge was drained again at once for it.
      const together = launchedToHold(n, c);
      const here =
        jobs.length > 0 || !cap ? share : Math.max(share, priceOf(n) / Math.min(together, maxFit(cap, r)));
      if (here > margin * cheapest(r, together) + 1e-12) return true;
    }
    const busyFor = Math.min(
      c.runtimeSeconds,
      jobs.reduce((m, j) => Math.max(m, remainingOf(j)), 0),
    );
    const outlives = c.runtimeSeconds - busyFor;
    if (!cap || jobs.length === 0 || outlives <= 0) return false;
    const together = Math.max(1, c.remaining);
    const alone = Math.max(share, priceOf(n) / Math.max(1, Math.min(together, maxFit(cap, r))));
    const here = share * busyFor + alone * outlives;
    const elsewhere =
      cheapest(r) * busyFor + cheapestWithRoom(r, together) * (outlives + config.bootTimeSeconds);
    if (here > margin * elsewhere + 1e-9) return true;
    // Or on a node that exists: a smaller node of a full pool that has room for it before this
    // node's jobs end runs it whole for less. Nothing is launched for it, so the margin is what
    // draining this node may cost: were work to come back for it, a replacement's boot and
    // billing minimum. A few cents' difference on short jobs is not worth that. Non-preemptable
    // work only: preemptable work's cheaper full pool is the spot pool, which it waits for under
    // its own rules, and counting it (without the relaunch margin) drained on-demand nodes on
    // tight-few for it (scatter-mem-bursts seed 2: 15 → 24 launches).
    const relaunch = priceOf(n) * Math.max(config.bootTimeSeconds, config.billingMinimumSeconds);
    const onSmaller = onSmallerFullNode(n, r, together, busyFor) * c.runtimeSeconds;
    return !r.preemptable && here - onSmaller > relaunch;
  };
  const dearFor = (n: ExistingNode, c: WorkClass): boolean => dearOver(n, c, cheapestFor);
  const consolidable = (n: ExistingNode): boolean => {
    if (n.state === 'booting' || (n.static && !config.retireStaticNodes)) return false;
    const jobs = runningByNode.get(n.id) ?? [];
    if (jobs.length === 0) return false;
    const here = jobs.reduce((s, r) => s + costOn(n, r), 0);
    const elsewhere = jobs.reduce((s, r) => s + cheapestFor(r), 0);
    return here > (1 + CONSOLIDATION_MARGIN) * elsewhere + 1e-12;
  };
  const consolidateReason = (n: ExistingNode): string => {
    const jobs = runningByNode.get(n.id) ?? [];
    if (!consolidable(n))
      return `${n.instanceType} ${n.capacityType} at $${priceOf(n)}/h: the queued work its free room would take runs for less than half on offerings with room; drained so its ${jobs.length} job(s) finish and none of that work lands on it`;
    if (n.capacityType === 'on-demand' && jobs.every((r) => r.preemptable && spotAvailableFor(r)))
      return `on-demand at $${priceOf(n)}/h running only preemptable work that spot capacity can run; drained so its jobs finish and no more land on it`;
    const here = jobs.reduce((s, r) => s + costOn(n, r), 0);
    const elsewhere = jobs.reduce((s, r) => s + cheapestFor(r), 0);
    return `${n.instanceType} ${n.capacityType} at $${priceOf(n)}/h runs work worth $${here.toFixed(3)}/h of it that the cheapest fitting offerings run for $${elsewhere.toFixed(3)}/h; drained so its jobs finish and no more land on it`;
  };
  // Offerings whose node type (and, for spot, the spot pool) has room once draining nodes are gone.
  const typeUse = config.nodeTypes.map(() => 0);
  let spotUse = 0;
  for (const n of active) {
    const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
    if (idx !== undefined) typeUse[idx]! += 1;
    if (n.capacityType === 'spot') spotUse += 1;
  }
  const withRoom = offerings.filter(
    (o) =>
      typeUse[o.nodeTypeIndex]! < config.nodeTypes[o.nodeTypeIndex]!.maxNodes &&
      (o.capacityType !== 'spot' ||
        config.maxPreemptableNodes === undefined ||
        spotUse < config.maxPreemptableNodes) &&
      (config.maxTotalNodes === undefined || active.length < config.maxTotalNodes),
  );
  const cheapestWithRoom = cheapestOver(withRoom);
  // Room on a smaller node of a full pool (dear room over the run, second alternative): the $/h
  // one job of `r` pays on a registered node of a pool at its limits, cheaper per hour than `n`,
  // that is expected to have room for it within `within` seconds (the time `n` is held anyway by
  // its own jobs), sharing it with at most `together` of its class; Infinity when there is none.
  // A job that outlives a node's other jobs pays that node's hourly price alone, so only a node
  // cheaper per hour runs that part for less; a dearer one (a big node of a full pool holding
  // many of the class) is no alternative for it.
  const fullPool = (m: ExistingNode): boolean => {
    const idx = nodeTypeIndexOf(config, m.instanceType, m.capacityType);
    return idx !== undefined && !withRoom.some((o) => o.nodeTypeIndex === idx);
  };
  const roomIn = new Map<string, number>();
  const secondsUntilRoom = (m: ExistingNode, r: JobRequest): number => {
    const key = `${m.id}\u0000${r.cores}/${r.memoryBytes}/${r.diskBytes}/${r.gpus ?? 0}`;
    const known = roomIn.get(key);
    if (known !== undefined) return known;
    const cap = types.byName.get(m.instanceType)?.packable;
    let at = Infinity;
    if (cap && maxFit(cap, r) >= 1) {
      let free = cap;
      const running = runningByNode.get(m.id) ?? [];
      for (const j of running) free = subtract(free, j);
      const ends = running.map((j) => ({ at: remainingOf(j, true), res: j })).sort((a, b) => a.at - b.at);
      if (maxFit(free, r) >= 1) at = 0;
      for (const e of ends) {
        if (at !== Infinity) break;
        free = add(free, e.res);
        if (maxFit(free, r) >= 1) at = e.at;
      }
    }
    roomIn.set(key, at);
    return at;
  };
  const onSmallerFullNode = (n: ExistingNode, r: JobRequest, together: number, within: number): number => {
    let best = Infinity;
    for (const m of active) {
      if (m.state !== 'registered' || m.rebalanceRecommended || priceOf(m) >= priceOf(n) || !fullPool(m))
        continue;
      if ((m.capacityType === 'spot' && !r.preemptable) || secondsUntilRoom(m, r) > within) continue;
      const e = types.byName.get(m.instanceType);
      if (!e || !archMatches(r, e.type.architecture)) continue;
      const held = Math.min(together, maxFit(e.packable, r));
      best = Math.min(best, priceOf(m) * Math.max(dominantShare(r, e.packable), 1 / held));
    }
    return best;
  };
  // Dear room (consolidation's second case): a registered node whose free room the queue would
  // fill with work it is dear for — preemptable work on an on-demand node while the spot pool has
  // room, small CPU jobs on a big memory node launched for a big job — is kept from that work: the batch system places first-fit, so a job that lands
  // there keeps a dear node alive until it ends (on mem-bursts, on-demand r5.xlarge nodes opened
  // for a merge ran preemptable jobs for hours at 2.9× the spot price). "Dear" is counted against
  // offerings whose node type and pool still have room, so when the cheap pool is full
  // (tight-few: 3 spot nodes) the node still takes that work rather than churn.
  const keptFromDearWork = (n: ExistingNode): boolean => {
    // A static worker stays billed whatever lands on it: no room of it is dear.
    if (n.state !== 'registered' || (n.static && !config.retireStaticNodes)) return false;
    const cap = types.byName.get(n.instanceType)?.packable;
    if (!cap) return false;
    return workFor(n).some(
      (c) =>
        c.remaining > 0 &&
        (n.capacityType === 'on-demand' || c.request.preemptable) &&
        maxFit(cap, c.request) >= 1 &&
        dearOver(n, c, cheapestWithRoom),
    );
  };
  // Preemptable work stays on spot: while some spot offering with room is available, the batch
  // system is told to keep preemptable jobs a spot node could hold off on-demand room (it would
  // otherwise give them that room after a few seconds' patience), so an on-demand node opened for
  // a non-preemptable job keeps its room for the next one instead of running preemptable work at
  // ~3× the spot price until it is drained for it and another is launched (mem-bursts@many-loose:
  // 90 on-demand launches against toil-classic's 30). The plan counts on-demand room the same way.
  // Only where the batch system can honour it: Slurm would place the job on that room anyway, and
  // a spot node launched for it would idle.
  const preemptableStaysOnSpot =
    snapshot.preemptableCanStayOnSpot !== false &&
    config.maxPreemptableNodes !== 0 &&
    (yieldOnDemand ? offerings : withRoom).some((o) => o.capacityType === 'spot' && o.available);
  const spotNodeCouldHold = (r: JobRequest): boolean =>
    active.some((n) => {
      if (n.capacityType !== 'spot' || n.state !== 'registered') return false;
      const cap = types.byName.get(n.instanceType)?.packable;
      return cap !== undefined && maxFit(cap, r) >= 1;
    });
  // Seconds a node stays billed for the jobs it runs now (the longest one's expected remainder).
  const heldAnyway = new Map<string, number>();
  const heldFor = (n: ExistingNode): number => {
    let h = heldAnyway.get(n.id);
    if (h === undefined) {
      h = (runningByNode.get(n.id) ?? []).reduce((m, j) => Math.max(m, remainingOf(j)), 0);
      heldAnyway.set(n.id, h);
    }
    return h;
  };
  // ...and so does preemptable work no spot node up could hold yet, when the spot pool can: the
  // batch system would give it on-demand room first (it knows only the agents up), and the
  // on-demand node launched for non-preemptable work often registers before the spot node
  // launched beside it, so the preemptable jobs take it and run there, at about three times the
  // spot price, for as long as they run, while the non-preemptable work opens another node and
  // the spot node idles (drawn diamonds, day-long jobs: 29 h of on-demand c5.2xlarge for jobs a
  // spot node booting a minute later would have run). The batch system is told which requests
  // wait for spot (`preemptableWaitsForSpot`), and the plan counts no on-demand room for them.
  // Not when a registered on-demand node is billed anyway for longer than the work runs (a static
  // worker, or one whose own jobs outlast it): its room costs nothing more, and the work takes it.
  const onDemandRoomFree = (c: WorkClass): boolean =>
    active.some(
      (n) =>
        n.capacityType === 'on-demand' &&
        n.state === 'registered' &&
        !n.rebalanceRecommended &&
        secondsUntilRoom(n, c.request) === 0 &&
        ((n.static && !config.retireStaticNodes) || heldFor(n) >= c.runtimeSeconds),
    );
  const spotPoolHolds = (r: JobRequest): boolean =>
    (yieldOnDemand ? offerings : withRoom).some(
      (o) => o.capacityType === 'spot' && o.available && fitOnType(r, o.instanceType) >= 1,
    );
  const waitsForSpot = preemptableStaysOnSpot
    ? work.filter(
        (c) =>
          c.request.preemptable &&
          !spotNodeCouldHold(c.request) &&
          spotPoolHolds(c.request) &&
          !onDemandRoomFree(c),
      )
    : [];
  const waitingForSpot = new Set(waitsForSpot);
  // Rule 19: the next wave of a shape already running on on-demand room waits for spot too. Work
  // that arrives between two plans is placed before any plan has seen it, so the tasks of the next
  // workflow (or wave) of a scatter take the on-demand room their split's node left, as the last
  // wave's did, and run there at about three times the spot price for as long as they run (drawn
  // scatter-gather of day-long tasks: four on on-demand c5.2xlarge for 28 h, toil-classic's spot
  // node idle beside them). A preemptable job running on a (non-static) on-demand node that no spot
  // node up could hold and the spot pool could names its shape among the requests that wait for
  // spot, so the next jobs of that shape wait for the next plan, which launches spot for them.
  // Only for a long job (one known to run unknownRuntime or more, or one that has already): short
  // jobs of the shape are better run in room the cluster has (drawn diamonds of one-minute jobs
  // kept r5.8xlarge nodes up for held jobs). Not a shape the plan gives on-demand room this tick.
  const runsLong = (r: RunningJob): boolean => {
    const e = estimateRuntime(snapshot.runtimes, r, estimateOpts);
    const U = config.unknownRuntimeSeconds;
    return (e.source !== 'default' && e.seconds >= U) || (now - r.startedAt) / 1000 >= U;
  };
  const takesOnDemandRoom = new Set(
    work
      .filter((c) => c.request.preemptable && c.remaining > 0 && !waitingForSpot.has(c))
      .map((c) => requestPlacementKey(c.request, true)),
  );
  // Per job the cheap tests; per distinct request the ones that scan nodes and offerings (a
  // scatter runs thousands of jobs of a few shapes).
  const nextWaveWaitsForSpot: string[] = [];
  if (preemptableStaysOnSpot) {
    const nodeById = new Map(snapshot.nodes.map((n) => [n.id, n]));
    const longOnOnDemand = new Map<string, RunningJob>();
    for (const r of snapshot.running) {
      if (!r.preemptable || r.onDemandBecause !== undefined) continue;
      const n = nodeById.get(r.nodeId);
      if (n?.capacityType !== 'on-demand' || (n.static && !config.retireStaticNodes)) continue;
      const key = requestPlacementKey(r, true);
      if (!longOnOnDemand.has(key) && !takesOnDemandRoom.has(key) && spotRisk(r) === undefined && runsLong(r))
        longOnOnDemand.set(key, r);
    }
    for (const [key, r] of longOnOnDemand)
      if (!spotNodeCouldHold(r) && spotPoolHolds(r)) nextWaveWaitsForSpot.push(key);
  }
  const onDemandWork = preemptableStaysOnSpot
    ? work.filter((c) => !waitingForSpot.has(c) && !(c.request.preemptable && spotNodeCouldHold(c.request)))
    : work;
  // Preemptable work does not outlive an on-demand node's own jobs. With the spot pool at its
  // limits the switch above is off and the batch system gives preemptable jobs on-demand room
  // first-fit: room a node holds anyway while its jobs run costs nothing more, but a preemptable
  // job still running after them keeps the node billed, at on-demand price, for work the spot
  // pool runs for about a third (mem-bursts@tight-few: r5.4xlarge opened for a burst's
  // non-preemptable jobs took the burst's preemptable jobs as those ended, 33 job-hours of them
  // against toil-classic's 3, then were drained for running only preemptable work). Such work is
  // kept off that node (a hint, and the plan counts no room there for it); it waits for spot.
  // Spot refused everywhere, it cannot: compensation decides, as before.
  const keepsSpotWorkShort =
    !preemptableStaysOnSpot &&
    config.objective !== 'speed' &&
    snapshot.keepOffHonoured !== false &&
    snapshot.preemptableCanStayOnSpot !== false &&
    config.maxPreemptableNodes !== 0;
  // Its tail too: a job expected to end within the hold may still run past it (a heavy-tailed
  // name's 75th percentile says little of its longest), and then it keeps the node billed alone.
  // Over the name's recent runtimes, the time the job is expected to run past the node's own jobs,
  // at the node's price, is weighed against the whole job at its share of the cheapest spot
  // offering: the room within the hold costs nothing, the overrun costs more than spot would. Less
  // a relaunch (max(bootTime, billingMinimum) at the node's price), and only on a node dearer per
  // hour than the cheapest on-demand node the work fits: a node retired early for the tail is
  // launched again by the next wave's non-preemptable work, and the cheapest one is what that
  // wave opens anyway (tight-few: r5.4xlarge opened for a burst's non-preemptable jobs ran the
  // burst's heavy-tailed preemptable jobs for hours past them; the same test on every on-demand
  // node retired m5.2xlarge between waves and cost more than it saved).
  const cheapestSpot = cheapestOver(offerings.filter((o) => o.capacityType === 'spot'));
  const cheapestOnDemandNode = (r: JobRequest): number =>
    offerings.reduce(
      (m, o) =>
        o.capacityType === 'on-demand' && o.available && fitOnType(r, o.instanceType) >= 1
          ? Math.min(m, o.pricePerHour)
          : m,
      Infinity,
    );
  const overrunCostsMore = (n: ExistingNode, c: WorkClass): boolean => {
    if (priceOf(n) <= cheapestOnDemandNode(c.request) + 1e-12) return false;
    const tail = runtimeOverrun(snapshot.runtimes, c.name, heldFor(n));
    return (
      tail !== undefined &&
      priceOf(n) * (tail.overrunSeconds - Math.max(config.bootTimeSeconds, config.billingMinimumSeconds)) >
        cheapestSpot(c.request) * tail.meanSeconds + 1e-9
    );
  };
  const outlivesOnDemandNode = (n: ExistingNode, c: WorkClass): boolean =>
    keepsSpotWorkShort &&
    n.capacityType === 'on-demand' &&
    c.request.preemptable &&
    spotNodeCouldHold(c.request) &&
    spotAvailableFor(c.request) &&
    (c.runtimeSeconds > heldFor(n) || overrunCostsMore(n, c));
  // A node held by the one big job it was opened for: a queued request whose share of a registered
  // on-demand node costs more than KEEP_OFF_MARGIN over the cheapest offering with room, by price
  // alone (at the queue's scale, as dear room counts it), is kept off that node (a hint, and the
  // plan counts no room there for it) while the node runs a job no offering cheap for the request
  // could hold, and only one of which fits the node. An r5.8xlarge opened for a 16-core 160 GiB
  // job runs a 4-core 2 GiB job at $0.252/h against $0.170/h on a c5.2xlarge (1.48×): under the
  // drain's 2×, and the over-the-run test judges one node at a time, so small jobs kept off one
  // big node took the next (few-very-large@on-demand-only held-out seed 7: 21 small jobs kept an
  // r5.8xlarge billed 64 minutes after its big job). Narrower versions were measured and lost
  // (docs/scaler.md, "Small work kept off a node opened for a big job"): any job the request's
  // type cannot hold (an m5.xlarge running a 10 GiB job passes as an r5.8xlarge does, and small
  // work kept off it gets launches of its own: chains-stream and diamonds), an idle node after
  // its big job, and spot nodes (their room is the cheap pool already).
  const hintMargin = 1 + KEEP_OFF_MARGIN;
  // Whether a running job fits no node type with room that runs `r` within the hint's margin of
  // its cheapest: the node it runs on was opened for a job the work's own type cannot hold. By
  // type only: preemptable work on on-demand room is the spot switch's and its own rule's.
  const needsBigNode = (j: RunningJob, r: JobRequest): boolean =>
    !withRoom.some((o) => {
      if (!o.available) return false;
      const e = types.byName.get(o.instanceType);
      return (
        e !== undefined &&
        maxFit(e.packable, j) >= 1 &&
        maxFit(e.packable, r) >= 1 &&
        o.pricePerHour * dominantShare(r, e.packable) <= hintMargin * cheapestWithRoom(r) + 1e-12
      );
    });
  const bigForWork =
    config.objective !== 'speed' && snapshot.keepOffHonoured !== false
      ? (n: ExistingNode, c: WorkClass): boolean => {
          if (n.state !== 'registered' || n.capacityType !== 'on-demand') return false;
          const cap = types.byName.get(n.instanceType)?.packable;
          if (!cap || maxFit(cap, c.request) < 1) return false;
          const r = c.request;
          const jobs = runningByNode.get(n.id) ?? [];
          if (!jobs.some((j) => maxFit(cap, j) === 1 && needsBigNode(j, r))) return false;
          const share = costOn(n, r);
          return (
            share > hintMargin * cheapestWithRoom(r) + 1e-12 &&
            share > hintMargin * cheapestWithRoom(r, launchedToHold(n, c)) + 1e-12
          );
        }
      : () => false;
  // A long tail kept off a dear node (rule 21). A job that outlives a node's own jobs keeps the
  // node billed alone, at its whole price: on an r5.8xlarge that is $2.016/h for a 4-core job an
  // m5.2xlarge runs alone for $0.384/h. A queued job is kept off a registered on-demand node that
  // costs more per hour than the cheapest on-demand node it fits and more per job (over
  // KEEP_OFF_MARGIN) than the cheapest offering, when its name's recent runtimes say the part
  // expected to outlive the node's own jobs, past what a relaunch costs (boot, billing minimum),
  // costs more at the difference in hourly price than the whole job on the cheapest offering.
  // The wait is rule 11's: a full cheap pool's work waits for its room rather than pay the
  // premium. On tight-few the heavy-tailed scatter tasks kept an r5.8xlarge billed 10 hours for
  // one 4-core job of 18 hours (drawn seed 7, drawn22: 1.364 of toil-classic's cost; toil-classic
  // ran it on an m5.2xlarge). The expected part, not the worst: the node is held for the work it
  // is not dear for, and a name whose runtimes are tight takes its room. A draining node is judged
  // the same way before it is taken back: undrained for the queue, it took a tail of its own
  // (drawn seed 7, drawn19-diamonds-poisson@tight-few: 1.079 of toil-classic's cost, 0.973 with
  // draining nodes judged too).
  const tailOnDearNode = (n: ExistingNode, c: WorkClass): boolean => {
    if (config.objective === 'speed' || snapshot.keepOffHonoured === false) return false;
    if (n.state === 'booting' || n.capacityType !== 'on-demand') return false;
    const r = c.request;
    const own = cheapestOnDemandNode(r);
    if (priceOf(n) <= own + 1e-12 || costOn(n, r) <= hintMargin * cheapestFor(r) + 1e-12) return false;
    const tail = runtimeOverrun(snapshot.runtimes, c.name, heldFor(n));
    if (tail === undefined) return false;
    const relaunch = Math.max(config.bootTimeSeconds, config.billingMinimumSeconds);
    return (priceOf(n) - own) * (tail.overrunSeconds - relaunch) > cheapestFor(r) * tail.meanSeconds + 1e-9;
  };
  // A node a whole-node job waits for. A queued job that fills any node able to run it (no type
  // that runs it holds two), where no offering with room runs it, starts only once a node of a
  // full pool empties; the batch system places first-fit, so smaller jobs queued behind it take
  // the room each of those nodes frees and none ever empties while they last
  // (few-very-large@tight-few: a 32-core job waited for an r5.8xlarge while 1-core jobs refilled
  // the other one, and the four 32-core jobs ran one after another on one node). The nodes whose
  // room for it frees soonest, one per queued job, are kept off the rest of the queue (a hint, and
  // the plan counts no room there for it), except work expected to end before that room frees,
  // which delays nothing. `speed` starts work wherever there is room.
  const wholeNodeAt = new Map<string, number>();
  if (config.objective !== 'speed' && snapshot.keepOffHonoured !== false) {
    const fitting = (r: JobRequest, capacityType: string, instanceType: string): number =>
      capacityType === 'spot' && !r.preemptable ? 0 : fitOnType(r, instanceType);
    for (const c of work) {
      const queued = c.remaining;
      const r = c.request;
      if (queued === 0) continue;
      const runs = offerings.filter((o) => fitting(r, o.capacityType, o.instanceType) >= 1);
      if (runs.length === 0 || runs.some((o) => fitting(r, o.capacityType, o.instanceType) > 1)) continue;
      if (withRoom.some((o) => o.available && runs.includes(o))) continue;
      const hosts = active
        .filter(
          (m) =>
            m.state === 'registered' &&
            !m.rebalanceRecommended &&
            !wholeNodeAt.has(m.id) &&
            fitting(r, m.capacityType, m.instanceType) === 1,
        )
        .map((m) => ({ m, at: secondsUntilRoom(m, r) }))
        .filter((h) => Number.isFinite(h.at))
        .sort((a, b) => a.at - b.at || a.m.id.localeCompare(b.m.id));
      for (const h of hosts.slice(0, queued)) wholeNodeAt.set(h.m.id, h.at);
    }
  }
  const waitsForWholeNode = (n: ExistingNode, c: WorkClass): boolean => {
    const at = wholeNodeAt.get(n.id);
    if (at === undefined || c.runtimeSeconds <= at) return false;
    const cap = types.byName.get(n.instanceType)?.packable;
    return cap !== undefined && maxFit(cap, c.request) > 1;
  };
  const workFor = (n: ExistingNode): WorkClass[] =>
    n.capacityType !== 'on-demand'
      ? work
      : preemptableStaysOnSpot
        ? onDemandWork
        : keepsSpotWorkShort
          ? work.filter((c) => !outlivesOnDemandNode(n, c))
          : work;
  // The work whose room the plan counts on a node: none kept off it by type (dear room and
  // consolidation still judge the node by all of its work, so a node they drain is drained).
  const roomFor = (n: ExistingNode): WorkClass[] =>
    workFor(n).filter((c) => !bigForWork(n, c) && !waitsForWholeNode(n, c) && !tailOnDearNode(n, c));
  const took = new Map<string, number>();
  const consolidate = new Set<string>();
  // Keep-off hints (placement, not a drain): the batch system places no more of a class on a
  // registered node that class is dear for, against offerings with room, by more than
  // KEEP_OFF_MARGIN. Dear room drains a node only when it has no fair work left, and once the
  // whole queue is placed elsewhere it checks no node at all, while the batch system, placing
  // first-fit, gives the next small jobs a big node's free room as soon as they are queued: a
  // 1-core job beside an r5.8xlarge's big job, ending after it, keeps the node alive for itself
  // (few-very-large@on-demand-only seed 1: $6.92 of r5.8xlarge billed after its big jobs). A hint
  // costs no relaunch, so it may be stricter than the drain's 2×. `speed` starts work wherever
  // there is room.
  const keepOff = new Map<string, Set<string>>();
  // The batch system's key for a queued request (what a hint names).
  const hintKey = (c: WorkClass): string =>
    requestPlacementKey(c.request, c.request.preemptable || c.spotRisk !== undefined);
  const queuedAtStart = new Map(work.map((c) => [c, c.remaining]));
  // The node kinds (type and capacity type) the plan counts on for each class, filled as the
  // nodes below take work. A class placed on nodes of a node's own kind is not kept off it: the
  // work would wait for the same price elsewhere while that node idled. In a stream of small jobs
  // on r5.xlarge nodes, one more r5.xlarge launched for the backlog was kept off the backlog the
  // others took (dear against a c5.4xlarge the plan never launched), idled and was drained, and
  // the next spike launched another: eight launches where toil-classic made three.
  const placedOnKind = new Map<WorkClass, Set<string>>();
  const kindOf = (n: ExistingNode): string => `${n.instanceType}/${n.capacityType}`;
  // Long work planned onto existing room past targetTime (LONG_WORK_WAIT_SHARE): jobs and the
  // latest start, per class, for the plan's note.
  const startsLate = new Map<WorkClass, { count: number; latest: number }>();
  const recordPlaced =
    (n: ExistingNode) =>
    (c: WorkClass, count: number, at: number): void => {
      placedOnKind.set(c, (placedOnKind.get(c) ?? new Set<string>()).add(kindOf(n)));
      // Past targetTime by its own bound only: any work may start on a booting node once it is
      // up, which with a bootTime over targetTime is past targetTime too.
      if (at <= T || startBy(c) <= T) return;
      const late = startsLate.get(c);
      startsLate.set(c, { count: (late?.count ?? 0) + count, latest: Math.max(late?.latest ?? 0, at) });
    };
  // Plans queued classes onto an existing node's room over time, recording where they went.
  const placeOn = (n: ExistingNode, classes: readonly WorkClass[]): number =>
    packOntoNode(n, runningByNode.get(n.id) ?? [], classes, types, timing(n), startBy, recordPlaced(n));
  const keepOffDearWork = (
    n: ExistingNode,
    wholeQueue: boolean,
    takenBackFor: ReadonlySet<WorkClass> = new Set(),
  ): void => {
    // Where a batch system cannot honour hints (the snapshot says so) notes saying otherwise
    // would mislead.
    if (config.objective === 'speed' || snapshot.keepOffHonoured === false) return;
    if (n.state !== 'registered' && !(n.state === 'draining' && takenBackFor.size > 0)) return;
    const cap = types.byName.get(n.instanceType)?.packable;
    if (!cap) return;
    for (const c of workFor(n)) {
      const queued = wholeQueue ? (queuedAtStart.get(c) ?? 0) : c.remaining;
      if (
        queued > 0 &&
        !takenBackFor.has(c) &&
        (n.capacityType === 'on-demand' || c.request.preemptable) &&
        maxFit(cap, c.request) >= 1 &&
        !(placedOnKind.get(c)?.has(kindOf(n)) ?? false) &&
        dearOver(n, c, cheapestWithRoom, KEEP_OFF_MARGIN)
      ) {
        const keys = keepOff.get(n.id) ?? new Set<string>();
        keys.add(hintKey(c));
        keepOff.set(n.id, keys);
      }
    }
  };
  // Nodes planned by consolidation or dear room (their own rules), left out of the spare-room rule.
  const special = new Set<string>();
  // A node EC2 recommends rebalancing is at risk of interruption soon: no new work is planned
  // there (the executor keeps the batch system from placing any); what runs there finishes.
  for (const n of live.filter((x) => x.rebalanceRecommended))
    notes.push(
      `node ${n.id} (${n.instanceType} ${n.capacityType} in ${n.zone}) has a rebalance recommendation: no new work is placed there; its ${(runningByNode.get(n.id) ?? []).length} running job(s) finish`,
    );
  // Requests kept off a node by one rule, counted where that rule set the hint first (the notes).
  const keptShort = new Map<string, number>();
  const keptBig = new Map<string, number>();
  const keptWhole = new Map<string, number>();
  const keptTail = new Map<string, number>();
  const hintOff = (n: ExistingNode, c: WorkClass, counted: Map<string, number>): void => {
    const keys = keepOff.get(n.id) ?? new Set<string>();
    const key = hintKey(c);
    if (!keys.has(key)) counted.set(n.id, (counted.get(n.id) ?? 0) + 1);
    keys.add(key);
    keepOff.set(n.id, keys);
  };
  for (const n of ordered) {
    if (n.rebalanceRecommended) continue;
    for (const c of work) {
      if ((queuedAtStart.get(c) ?? 0) === 0) continue;
      if (bigForWork(n, c)) hintOff(n, c, keptBig);
      if (waitsForWholeNode(n, c)) hintOff(n, c, keptWhole);
      if (n.state === 'registered' && outlivesOnDemandNode(n, c)) hintOff(n, c, keptShort);
      if (tailOnDearNode(n, c)) hintOff(n, c, keptTail);
    }
    const placed = work.every((c) => c.remaining === 0);
    if (placed && !consolidable(n)) {
      // The queue is placed elsewhere, but the batch system would give this node's room to the
      // first of it that fits.
      if ((runningByNode.get(n.id) ?? []).length > 0) keepOffDearWork(n, true);
      continue;
    }
    const mine = roomFor(n);
    if (consolidable(n)) {
      special.add(n.id);
      // Kept only for the queued work it is not dear for that it can start in time (its leftover
      // room is not counted on for the rest: that is planned where it is cheapest).
      const fair = mine.filter((c) => !dearFor(n, c));
      const needed = placed ? 0 : placeOn(n, fair);
      if (needed > 0) took.set(n.id, needed);
      else consolidate.add(n.id);
      continue;
    }
    if (!placed && keptFromDearWork(n)) {
      special.add(n.id);
      // Its room would go to work it is dear for (see keptFromDearWork): it is counted only for
      // the work it is not dear for; with none, a busy node is drained so its jobs finish and
      // nothing more lands (an idle one retires after idleGrace as usual).
      const fair = mine.filter((c) => !dearFor(n, c));
      keepOffDearWork(n, false);
      const needed = placeOn(n, fair);
      if (needed > 0) took.set(n.id, needed);
      else if ((runningByNode.get(n.id) ?? []).length > 0) consolidate.add(n.id);
      continue;
    }
    const k = placeOn(n, mine);
    if (k > 0) took.set(n.id, k);
  }
  for (const n of [...draining].sort((a, b) => priceOf(a) - priceOf(b))) {
    if (work.every((c) => c.remaining === 0)) break;
    if (n.rebalanceRecommended) continue;
    // A draining node is not taken back for work other offerings run much cheaper (preemptable
    // work spot can run, on an on-demand node).
    const mayTake = workFor(n).filter((c) => !dearFor(n, c) && !tailOnDearNode(n, c));
    const before = new Map(mayTake.map((c) => [c, c.remaining]));
    const k = packOntoNode(n, runningByNode.get(n.id) ?? [], mayTake, types, timing(n), startBy);
    if (k > 0) {
      took.set(n.id, k);
      // Taken back for these jobs only: the batch system, placing first-fit, would give its room
      // to whatever of the queue fits first, and a small job it is dear for keeps it billed long
      // after the work it was taken back for (few-very-large@on-demand-only: an r5.8xlarge taken
      // back for one 16-core job took ten 1- and 2-core jobs beside it, was drained again the next
      // tick, and stayed billed 3,300 s after the big job for them).
      keepOffDearWork(n, true, new Set(mayTake.filter((c) => c.remaining < before.get(c)!)));
      for (const c of work)
        if ((queuedAtStart.get(c) ?? 0) > 0 && tailOnDearNode(n, c)) hintOff(n, c, keptTail);
      undrain.push({
        nodeId: n.id,
        reason: `demand is back: takes ${k} queued job(s) within targetTime, cheaper than a launch`,
      });
    }
  }
  // Classes spot risk plans as on-demand work are kept off every spot node, so the batch system
  // gives them on-demand room only.
  const risky = work.filter((c) => c.spotRisk !== undefined && (queuedAtStart.get(c) ?? 0) > 0);
  for (const c of risky) {
    for (const n of live)
      if (n.capacityType === 'spot') keepOff.set(n.id, (keepOff.get(n.id) ?? new Set()).add(hintKey(c)));
    notes.push(
      `${queuedAtStart.get(c)} preemptable '${c.name}' job(s) planned on on-demand and kept off spot nodes: ${c.spotRisk}`,
    );
  }
  for (const [id, keys] of keepOff) {
    const n = live.find((x) => x.id === id);
    if (!n) continue;
    const short = keptShort.get(id) ?? 0;
    const big = keptBig.get(id) ?? 0;
    const whole = keptWhole.get(id) ?? 0;
    const tail = keptTail.get(id) ?? 0;
    const running = (runningByNode.get(id) ?? []).length;
    if (big > 0)
      notes.push(
        `node ${id} (${n.instanceType} ${n.capacityType}) is kept off ${big} queued request(s) of a type it would not be opened for: their share of it costs over ${1 + KEEP_OFF_MARGIN}× as much as on offerings with room; the batch system places them where a node would be opened for them anyway, and its ${running} running job(s) are untouched`,
      );
    if (whole > 0)
      notes.push(
        `node ${id} (${n.instanceType} ${n.capacityType}) is kept off ${whole} queued request(s) that would run past the time its room frees for a queued job that fills a node of every type able to run it (no offering with room runs it): the node empties for that job`,
      );
    if (tail > 0)
      notes.push(
        `node ${id} (${n.instanceType} ${n.capacityType}) is kept off ${tail} queued request(s) of a name whose runtimes have a long tail: a job outliving its ${running} running job(s) would keep it billed alone at $${priceOf(n)}/h, more than the cheapest node that runs it: they go to cheaper room, or wait for it`,
      );
    if (keys.size > short + big + whole + tail)
      notes.push(
        `node ${id} (${n.instanceType} ${n.capacityType}) is kept off ${keys.size - short - big - whole - tail} queued request(s) that cost over ${1 + KEEP_OFF_MARGIN}× as much there as on offerings with room, over their run: the batch system places them elsewhere; its ${running} running job(s) are untouched`,
      );
    if (short > 0)
      notes.push(
        `node ${id} (${n.instanceType} on-demand) is kept off ${short} preemptable request(s) whose jobs would run past its ${running} running job(s), keeping it billed for work the spot pool (at its limits) runs for less: they wait for spot room`,
      );
  }
  const onExisting = queuedTotal - work.reduce((s, c) => s + c.remaining, 0);
  // The last wave's stragglers (docs/scaler.md). With the whole queue placed on existing nodes,
  // the batch system starts each queued job on the first room that frees, wherever it frees, so
  // a wave's last jobs scatter over many nodes, one or two each, and each such node is billed a
  // whole runtime longer, mostly empty (tight-on-demand: the last 20 jobs on 14 of 20 four-job
  // nodes; unused $0.48 against toil-classic's $0.28). So once no work has arrived for targetTime
  // (a queue that fits now is then the end of the work, not a lull in a stream or a DAG between
  // follow-ons), the queue is planned where it adds the least billed time per job: on room that
  // frees while its node is held anyway, then on whole nodes as they empty; no job later than the
  // queue would have started on whole nodes in the order they empty (the wave's bound, within
  // targetTime). The on-demand nodes that get none are drained (their jobs finish, no straggler
  // lands there); a node drained so is taken back when the queue is better placed there after
  // all. Spot nodes are left out: one can be taken back any time, so it is not held anyway.
  // Times are bounds, not estimates: a job's end is counted from the longest it may run (its
  // walltime, or its name's longest recent runtime), and a node running a job with no bound, or
  // past it, is left alone (a heavy-tailed job planned to end inside a node's busy time often
  // does not). The added time is priced at the node's $/h, so a big node is extended last.
  const spareNodes = (): { ids: Set<string>; by: number } | undefined => {
    const runningOn = (n: ExistingNode): RunningJob[] => runningByNode.get(n.id) ?? [];
    const stillRunning = draining.filter(
      (n) =>
        !n.rebalanceRecommended && runningOn(n).length > 0 && !consolidable(n) && n.capacityType !== 'spot',
    );
    const isDraining = new Set(stillRunning.map((n) => n.id));
    // Seconds a running job may run yet at most, as far as is known (its walltime, or its name's
    // longest recent runtime); undefined when nothing bounds it or it is past that bound.
    const boundLeft = (r: RunningJob): number | undefined => {
      const left = longestItMayRun(r) - Math.max(0, (now - r.startedAt) / 1000);
      return Number.isFinite(left) && left > 0 ? left : undefined;
    };
    const nodes = [
      ...ordered.filter(
        (n) =>
          !n.rebalanceRecommended &&
          !special.has(n.id) &&
          (took.has(n.id) || runningOn(n).length > 0) &&
          n.capacityType !== 'spot',
      ),
      ...stillRunning,
    ].filter((n) => runningOn(n).every((r) => boundLeft(r) !== undefined));
    const bounded = (n: ExistingNode): NodeTiming => ({
      availableIn: timing(n).availableIn,
      remainingOf: (r) => boundLeft(r)!,
    });
    // A fresh copy of the whole queue, for packing trials that must not consume it.
    const fresh = () => new Map(work.map((c) => [c.key, { ...c, remaining: queuedCount.get(c.key) ?? 0 }]));
    const copies = fresh();
    const mineOf = (n: ExistingNode, from: Map<string, WorkClass>): WorkClass[] =>
      roomFor(n)
        .filter((c) => !isDraining.has(n.id) || !dearFor(n, c))
        .map((c) => from.get(c.key)!);
    // Packs the queue (or what is left of it) onto a node's room as it frees up to `deadline`:
    // how many jobs, how much later the node is then held (extension) and the last start.
    const tryOn = (n: ExistingNode, deadline: number, from: Map<string, WorkClass>) => {
      const held = busyUntil(n);
      let ends = held;
      let last = 0;
      const k = packOntoNode(n, runningOn(n), mineOf(n, from), types, bounded(n), deadline, (c, _k, at) => {
        const most = longestOf.get(c.key) ?? Infinity;
        ends = Math.max(ends, at + (Number.isFinite(most) ? most : c.runtimeSeconds));
        last = Math.max(last, at);
      });
      // Billed dollars the node adds (its price over the extra time).
      return { k, extension: ((ends - held) * priceOf(n)) / 3600, last };
    };
    const busyUntil = (n: ExistingNode): number =>
      runningOn(n).reduce((m, r) => Math.max(m, boundLeft(r)!), timing(n).availableIn);
    // The wave's bound: the queue placed on whole nodes in the order they empty, each taking the
    // room it frees until its last running job ends; the last of those ends is as late as any
    // queued job may start.
    const byEmptying = nodes.map((n) => ({ n, held: busyUntil(n) })).sort((x, y) => x.held - y.held);
    const wave = fresh();
    let bound = 0;
    for (const { n, held } of byEmptying) {
      if ([...wave.values()].every((c) => c.remaining === 0)) break;
      if (held > T) break;
      if (tryOn(n, held, wave).k > 0) bound = held;
    }
    if (![...wave.values()].every((c) => c.remaining === 0)) return undefined;
    // Each node's cheapest use: all the room it frees while held by its running jobs (up to the
    // end of the last), or all but the room that last job frees; ranked by the billed time it
    // adds per queued job it takes, then by how soon it has taken them.
    const options = nodes.map((n) => {
      const held = busyUntil(n);
      const releases = runningOn(n)
        .map((r) => boundLeft(r)!)
        .filter((x) => x < held)
        .sort((x, y) => y - x);
      const best = [Math.min(held, bound), ...(releases.length > 0 ? [Math.min(releases[0]!, bound)] : [])]
        .map((deadline) => ({ deadline, ...tryOn(n, deadline, fresh()) }))
        .filter((o) => o.k > 0)
        .sort((x, y) => x.extension / x.k - y.extension / y.k || x.last - y.last)[0];
      return { n, best };
    });
    const used = new Set<string>();
    let by = 0;
    const ranked = options
      .filter((o) => o.best !== undefined)
      .sort(
        (x, y) =>
          x.best!.extension / x.best!.k - y.best!.extension / y.best!.k || x.best!.last - y.best!.last,
      );
    // The nodes that stay are tried before the ones the rule drained: a drained node is taken back
    // only for the part of the queue the others cannot start within the wave's bound, not because
    // it adds a little less billed time per job this minute. Among like nodes that ranking moves
    // from tick to tick as the queue starts and hold times shift, so the rule drained one few and
    // took them back at the next tick for another few, at every tick of a burst's end (a user's
    // four bursts on on-demand r5 nodes: 68 drains undone within targetTime).
    const keptFirst = [
      ...ranked.filter((o) => !isDraining.has(o.n.id)),
      ...ranked.filter((o) => isDraining.has(o.n.id)),
    ];
    for (const { n, best } of keptFirst) {
      if ([...copies.values()].every((c) => c.remaining === 0)) break;
      const got = tryOn(n, best!.deadline, copies);
      if (got.k > 0) {
        used.add(n.id);
        by = Math.max(by, got.last);
      }
    }
    if (![...copies.values()].every((c) => c.remaining === 0)) return undefined;
    // The next plan counts room by its estimates, not these bounds (a job past its estimate runs
    // half as long again as it has, which may outlast its name's longest runtime): a node drained
    // here whose room that packing needs is taken back at the next tick ("demand is back") and
    // drained again at the one after, a flip per minute (scatter-mem-bursts@many-loose held-out
    // seed 8: one node ten times). So the nodes that stay must start the queue within targetTime
    // by the estimates too; a node whose room they still need is kept.
    const keptBy = fresh();
    const packEstimated = (n: ExistingNode): number =>
      packOntoNode(
        n,
        runningOn(n),
        (special.has(n.id) ? roomFor(n).filter((c) => !dearFor(n, c)) : roomFor(n)).map((c) =>
          keptBy.get(c.key)!,
        ),
        types,
        timing(n),
        startBy,
      );
    const inWave = new Set(nodes.map((n) => n.id));
    const candidates = ordered.filter(
      (n) => inWave.has(n.id) && n.state === 'registered' && !isDraining.has(n.id) && !used.has(n.id),
    );
    const candidateIds = new Set(candidates.map((n) => n.id));
    for (const n of [...ordered, ...stillRunning.filter((x) => used.has(x.id))])
      if (!n.rebalanceRecommended && !consolidable(n) && !candidateIds.has(n.id)) packEstimated(n);
    for (const n of candidates) {
      if ([...keptBy.values()].every((c) => c.remaining === 0)) break;
      if (packEstimated(n) > 0) used.add(n.id);
    }
    for (const n of stillRunning)
      if (used.has(n.id))
        undrain.push({
          nodeId: n.id,
          reason: `the queue's ${queuedTotal} job(s) are better placed on its room after all (it adds the least billed time per job)`,
        });
    const ids = new Set(
      nodes
        .filter((n) => n.state === 'registered' && !isDraining.has(n.id) && !used.has(n.id))
        .map((n) => n.id),
    );
    return ids.size > 0 ? { ids, by } : undefined;
  };
  // Jobs completed and issued so far; the plan's state keeps when the issued count last grew.
  const completed = Object.values(snapshot.runtimes?.byName ?? {}).reduce((s, r) => s + r.count, 0);
  const issued =
    snapshot.queued.reduce((s, q) => s + (q.count ?? 1), 0) + snapshot.running.length + completed;
  const last = snapshot.state;
  const arrivedAt = last?.issued === undefined || issued > last.issued ? now : (last.arrivedAt ?? now);
  const flow = workFlow(last, issued, completed, now, Math.min(T, FAN_IN_WINDOW_SECONDS));
  const quiet = (now - arrivedAt) / 1000 >= T;
  const spare =
    undrain.length === 0 && queuedTotal > 0 && onExisting === queuedTotal && (quiet || flow.fanningIn)
      ? spareNodes()
      : undefined;

  // 4. New nodes.
  const counted = [...active, ...draining.filter((n) => undrain.some((u) => u.nodeId === n.id))];
  // A draining node still running jobs is billed until they end, so it holds its limit slot: the
  // limits cap what the operator pays for, and a launch that replaced it at once would overrun them.
  const leaving = draining.filter((n) => !counted.includes(n) && (runningByNode.get(n.id) ?? []).length > 0);
  const leavingByType = config.nodeTypes.map(() => 0);
  for (const n of leaving) {
    const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
    if (idx !== undefined) leavingByType[idx]! += 1;
  }
  const limits: LimitState = {
    byType: [...leavingByType],
    spot: leaving.filter((n) => n.capacityType === 'spot').length,
    total: counted.length + leaving.length,
    hourlyCost: live.reduce((s, n) => s + priceOf(n), 0),
  };
  // A static node that never registered holds no work but is billed, so it holds its limit slot.
  for (const n of unregisteredStatic) {
    const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
    if (idx !== undefined) limits.byType[idx]! += 1;
    if (n.capacityType === 'spot') limits.spot += 1;
    limits.total += 1;
  }
  const existingByOffering = new Map<string, number>();
  for (const n of counted) {
    const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
    if (idx !== undefined) limits.byType[idx]! += 1;
    if (n.capacityType === 'spot') limits.spot += 1;
    const key = offeringKey(n.instanceType, n.zone, n.capacityType);
    existingByOffering.set(key, (existingByOffering.get(key) ?? 0) + 1);
  }
  const spotNodeTypes = counted.filter((n) => n.capacityType === 'spot').map((n) => n.instanceType);
  const runningValue = runningValuePerDollar(
    active.flatMap((n) => {
      const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
      return n.state === 'registered' && idx !== undefined
        ? [{ nodeTypeIndex: idx, pricePerHour: priceOf(n), running: runningByNode.get(n.id) ?? [] }]
        : [];
    }),
    config.nodeTypes.length,
    offerings,
    types,
    config,
  );
  // A name with no completion whose first jobs run now on existing capacity waits for them a
  // little before new nodes are bought for the rest: priced at the unknown-runtime default, a
  // scatter of 45-second jobs bought a fleet that booted after the first of them had ended
  // (drawn seed 10, drawn21: 8 nodes against toil-classic's 3, cost 1.24–1.34). The first ends
  // within the probe and is learned, or the doubling estimate has grown by then.
  const unknownRuntime = new Set(
    classes
      .filter((c) => estimateRuntime(snapshot.runtimes, c, estimateOpts).source === 'default')
      .map((c) => c.key),
  );
  const probing = probingClasses(work, longestRunning, unknownRuntime, config);
  for (const { c, elapsed } of probing) {
    waiting.push({
      jobName: c.name,
      count: c.remaining,
      reason: `its runtime is unknown: waiting up to ${formatDuration((config.unknownRuntimeSeconds - elapsed) * 1000)} more for the first of its running jobs to end before buying nodes for it`,
    });
  }
  const probed = new Set(probing.map((p) => p.c));
  const sightings = firstSightings(
    work,
    queuedCount,
    longestRunning,
    unknownRuntime,
    snapshot,
    config,
    active.some((n) => n.state === 'booting'),
  );
  for (const [c, allow] of sightings.allowed) {
    if (c.remaining <= allow) continue;
    waiting.push({
      jobName: c.name,
      count: c.remaining - allow,
      reason:
        sightings.firstSeenAt[c.name] === now
          ? `its runtime is unknown: nodes are bought for a few of its name's jobs first, and for the rest once they run`
          : 'its runtime is unknown: waiting for the nodes booting for the first of its name before buying more',
    });
  }
  const chosen = chooseNewNodes(
    work.map((c) =>
      probed.has(c)
        ? { ...c, remaining: 0 }
        : sightings.allowed.has(c)
          ? { ...c, remaining: Math.min(c.remaining, sightings.allowed.get(c)!) }
          : c,
    ),
    offerings,
    types,
    config,
    { ...limits, byType: [...limits.byType] },
    spotNodeTypes,
    runningValue,
    waitingForSpot,
  );
  waiting.push(...chosen.waiting);

  // 5. Smoothing per offering: EWMA of the wanted count (existing + new), unclamped, as Toil does.
  const prev = snapshot.state?.smoothed ?? {};
  const smoothed: Record<string, number> = {};
  const wanted = new Map<string, number>();
  for (const c of chosen.choices) wanted.set(c.offering.key, c.count);
  const keys = new Set([...wanted.keys(), ...Object.keys(prev)]);
  for (const key of [...keys].sort()) {
    const have = existingByOffering.get(key) ?? 0;
    const target = have + (wanted.get(key) ?? 0);
    const w = (1 - config.betaInertia) * target + config.betaInertia * (prev[key] ?? have);
    if (w > 0.01) smoothed[key] = w;
  }
  let plannedCost = 0;
  for (const c of chosen.choices) {
    const key = c.offering.key;
    const have = existingByOffering.get(key) ?? 0;
    const count = Math.min(c.count, Math.max(0, roundHalfUp(smoothed[key] ?? 0) - have));
    if (count <= 0) continue;
    const jobs = [...c.jobs.entries()].sort((a, b) => b[1] - a[1]);
    const what =
      jobs
        .slice(0, 3)
        .map(([name, n]) => `${n} × ${name}`)
        .join(', ') + (jobs.length > 3 ? `, +${jobs.length - 3} more` : '');
    const smoothNote =
      count < c.count ? ` (${c.count} wanted, betaInertia ${config.betaInertia} smooths to ${count})` : '';
    launch.push({
      instanceType: c.offering.instanceType,
      zone: c.offering.zone,
      capacityType: c.offering.capacityType,
      count,
      pricePerHour: c.offering.pricePerHour,
      reason: `${what} cannot start on existing capacity within targetTime ${formatDuration(T * 1000)}; cheapest fit is ${c.offering.instanceType} ${c.offering.capacityType} in ${c.offering.zone} at $${c.offering.pricePerHour}/h${smoothNote}`,
    });
    plannedCost += count * c.offering.pricePerHour;
    const idx = c.offering.nodeTypeIndex;
    limits.byType[idx]! += count;
  }

  // minNodes per node type.
  config.nodeTypes.forEach((nt, idx) => {
    // A leaving node does not keep the type at minNodes, but still holds its maxNodes slot.
    const missing = Math.min(
      nt.minNodes - (limits.byType[idx]! - leavingByType[idx]!),
      nt.maxNodes - limits.byType[idx]!,
    );
    if (missing <= 0) return;
    const o = offerings
      .filter((x) => x.nodeTypeIndex === idx && x.available)
      .sort((a, b) => a.pricePerHour - b.pricePerHour)[0];
    if (!o) {
      notes.push(`node type ${nt.label} is below minNodes ${nt.minNodes} but no offering is available`);
      return;
    }
    launch.push({
      instanceType: o.instanceType,
      zone: o.zone,
      capacityType: o.capacityType,
      count: missing,
      pricePerHour: o.pricePerHour,
      reason: `node type ${nt.label} has ${limits.byType[idx]} node(s), below minNodes ${nt.minNodes}`,
    });
    limits.byType[idx]! += missing;
    plannedCost += missing * o.pricePerHour;
  });

  // A node taken back is not drained again within targetTime for dear room: the take-back was for
  // work it runs on room held anyway (a short job beside its own), and once that has started the
  // queue it is dear for drains it again, and the next such job takes it back
  // (scatter-mem-bursts@on-demand-only seed 7: ten r5.2xlarge drained and taken back about every
  // minute for 15 minutes, each a drain call, a log line and a window where no work lands). The
  // work it is dear for is kept off it by hint instead, which is what the drain was for; where the
  // batch system cannot honour hints, or under `speed`, the drain stays. Consolidation (a node
  // whose own jobs are dear there) still drains it: held on tight-few, on-demand nodes running
  // preemptable work with the spot pool full ran more of it (scatter-mem-bursts seed 8: 0.918 →
  // 0.953, launches 1.47 → 1.67× toil-classic's).
  const takenBackAt: Record<string, number> = {};
  for (const [id, at] of Object.entries(snapshot.state?.takenBackAt ?? {}))
    if ((now - at) / 1000 < T && live.some((n) => n.id === id)) takenBackAt[id] = at;
  for (const u of undrain) takenBackAt[u.nodeId] = now;
  const heldSince = (n: ExistingNode): number | undefined => {
    const at = snapshot.state?.takenBackAt?.[n.id];
    if (at === undefined || config.objective === 'speed' || snapshot.keepOffHonoured === false)
      return undefined;
    const since = (now - at) / 1000;
    return since < T ? since : undefined;
  };

  // 6. Scale-down.
  let retiredCost = 0;
  const undrained = new Set(undrain.map((u) => u.nodeId));
  for (const n of draining) {
    if (undrained.has(n.id)) continue;
    if ((runningByNode.get(n.id) ?? []).length === 0) {
      terminate.push({ nodeId: n.id, reason: 'drained and empty' });
      retiredCost += priceOf(n);
    }
  }
  for (const id of failed) retiredCost += priceOf(snapshot.nodes.find((n) => n.id === id)!);
  const draining2 = new Set<string>();
  // Nodes that stay: leaving ones are already on their way out.
  const typeCount = limits.byType.map((c, idx) => c - leavingByType[idx]!);
  const retire = (n: ExistingNode, reason: string): void => {
    draining2.add(n.id);
    drain.push({ nodeId: n.id, reason });
    const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
    if (idx !== undefined) typeCount[idx]! -= 1;
    if ((runningByNode.get(n.id) ?? []).length === 0) retiredCost += priceOf(n);
  };
  const retirable = (n: ExistingNode): boolean =>
    n.state === 'registered' && (!n.static || config.retireStaticNodes);
  const idle = active
    .filter((n) => retirable(n) && !took.has(n.id) && (runningByNode.get(n.id) ?? []).length === 0)
    .map((n) => ({ n, idleFor: (now - Math.max(n.lastBusyAt ?? 0, n.registeredAt ?? n.launchedAt)) / 1000 }))
    .filter((x) => x.idleFor >= Math.max(config.idleGraceSeconds, HANDOFF_GRACE_SECONDS))
    .sort((a, b) => priceOf(b.n) - priceOf(a.n) || b.idleFor - a.idleFor || a.n.id.localeCompare(b.n.id));
  for (const { n, idleFor } of idle) {
    const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
    if (idx !== undefined && typeCount[idx]! <= config.nodeTypes[idx]!.minNodes) continue;
    retire(
      n,
      `idle for ${formatDuration(idleFor * 1000)} (idleGrace ${formatDuration(config.idleGraceSeconds * 1000)}) and no queued job needs it; $${priceOf(n)}/h saved`,
    );
    // It runs nothing, so it goes in this plan rather than idling another scaleInterval: the
    // executor marks it draining before it checks emptiness, so a task that lands in between
    // keeps it alive (race-free), as for toil-classic's victims.
    terminate.push({ nodeId: n.id, reason: 'idle and drained in this plan; empty' });
  }
  for (const n of active) {
    if (!consolidate.has(n.id) || draining2.has(n.id) || !retirable(n)) continue;
    const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
    if (idx !== undefined && typeCount[idx]! <= config.nodeTypes[idx]!.minNodes) continue;
    const since = consolidable(n) ? undefined : heldSince(n);
    if (since !== undefined) {
      // Kept to the work it was taken back for: none the drain would have kept from it lands.
      keepOffDearWork(n, true);
      const cap = types.byName.get(n.instanceType)?.packable;
      for (const c of workFor(n))
        if ((queuedAtStart.get(c) ?? 0) > 0 && cap && maxFit(cap, c.request) >= 1 && dearFor(n, c)) {
          const keys = keepOff.get(n.id) ?? new Set<string>();
          keys.add(hintKey(c));
          keepOff.set(n.id, keys);
        }
      notes.push(
        `node ${n.id} (${n.instanceType} ${n.capacityType}) was taken back ${formatDuration(since * 1000)} ago: not drained again within targetTime for work it is dear for; that work is kept off it instead, and its ${(runningByNode.get(n.id) ?? []).length} running job(s) are untouched`,
      );
      continue;
    }
    retire(n, consolidateReason(n));
  }
  if (spare) {
    for (const n of active) {
      if (!spare.ids.has(n.id) || draining2.has(n.id) || !retirable(n)) continue;
      if ((runningByNode.get(n.id) ?? []).length === 0) continue;
      const idx = nodeTypeIndexOf(config, n.instanceType, n.capacityType);
      if (idx !== undefined && typeCount[idx]! <= config.nodeTypes[idx]!.minNodes) continue;
      retire(
        n,
        `no queued job needs its room: all ${queuedTotal} start within ${formatDuration(spare.by * 1000)} on room other nodes hold anyway or as they empty; its ${(runningByNode.get(n.id) ?? []).length} running job(s) finish, then it retires`,
      );
    }
  }
  // Limits lowered under a running cluster: drain the least useful nodes for their price.
  const usefulness = (n: ExistingNode): number =>
    ((took.get(n.id) ?? 0) + (runningByNode.get(n.id) ?? []).length) / Math.max(priceOf(n), 1e-9);
  config.nodeTypes.forEach((nt, idx) => {
    let over = typeCount[idx]! - nt.maxNodes;
    if (over <= 0) return;
    const mine = active
      .filter(
        (n) =>
          retirable(n) &&
          !draining2.has(n.id) &&
          nodeTypeIndexOf(config, n.instanceType, n.capacityType) === idx,
      )
      .sort((a, b) => usefulness(a) - usefulness(b) || a.id.localeCompare(b.id));
    for (const n of mine) {
      if (over <= 0) break;
      retire(n, `node type ${nt.label} has ${nt.maxNodes + over} nodes, over maxNodes ${nt.maxNodes}`);
      over--;
    }
  });
  if (config.maxTotalNodes !== undefined) {
    let over =
      active.length - draining2.size + launch.reduce((s, l) => s + l.count, 0) - config.maxTotalNodes;
    const mine = active
      .filter((n) => retirable(n) && !draining2.has(n.id))
      .sort((a, b) => usefulness(a) - usefulness(b) || a.id.localeCompare(b.id));
    for (const n of mine) {
      if (over <= 0) break;
      retire(n, `the cluster is over maxTotalNodes ${config.maxTotalNodes}`);
      over--;
    }
  }

  const current =
    live.reduce((s, n) => s + priceOf(n), 0) +
    [...failed].reduce((s, id) => s + priceOf(snapshot.nodes.find((n) => n.id === id)!), 0);
  if (onExisting > 0)
    notes.push(
      `${onExisting} of ${queuedTotal} queued job(s) start on existing or booting nodes within targetTime` +
        (startsLate.size > 0 ? `, or long work within ${Math.round(waitShare * 100)} % of its runtime` : ''),
    );
  if (startsLate.size > 0) {
    const late = [...startsLate].sort((a, b) => b[1].latest - a[1].latest);
    const jobsLate = late.reduce((s, [, l]) => s + l.count, 0);
    const names = [...new Set(late.map(([c]) => c.name))];
    notes.push(
      `${jobsLate} queued job(s) of long work (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}; ` +
        `expected to run ${formatDuration(late.reduce((m, [c]) => Math.min(m, c.waitBasisSeconds ?? Infinity), Infinity) * 1000)} or more) wait up to ` +
        `${formatDuration(late[0]![1].latest * 1000)} for room on the nodes there are, past targetTime ${formatDuration(T * 1000)}: ` +
        `objective ${config.objective} lets a job wait up to ${Math.round(waitShare * 100)} % of its runtime rather than buy a node for it`,
    );
  }
  if (waitsForSpot.length > 0) {
    const waiting = waitsForSpot.reduce((n, c) => n + (queuedAtStart.get(c) ?? 0), 0);
    notes.push(
      `${waiting} queued preemptable job(s) no spot node up could hold wait for the spot nodes launched or booting for them, not for on-demand room`,
    );
  }
  notes.push(...chosen.notes);
  return {
    policy: 'cost',
    launch,
    drain,
    undrain,
    terminate,
    unschedulable,
    waiting,
    notes,
    hourlyCost: { current, planned: Math.max(0, current + plannedCost - retiredCost) },
    state: {
      smoothed,
      issued,
      arrivedAt,
      flow: flow.state,
      ...(Object.keys(takenBackAt).length > 0 ? { takenBackAt } : {}),
      ...(Object.keys(sightings.firstSeenAt).length > 0 ? { firstSeenAt: sightings.firstSeenAt } : {}),
    },
    ...(preemptableStaysOnSpot ? { preemptableStaysOnSpot } : {}),
    ...(waitsForSpot.length + nextWaveWaitsForSpot.length > 0
      ? {
          preemptableWaitsForSpot: [
            ...new Set([...waitsForSpot.map(hintKey), ...nextWaveWaitsForSpot]),
          ].sort(),
        }
      : {}),
    ...(risky.length > 0 ? { preemptableOnOnDemand: [...new Set(risky.map(hintKey))].sort() } : {}),
    ...(keepOff.size > 0
      ? { keepOff: [...keepOff].map(([nodeId, keys]) => ({ nodeId, requests: [...keys].sort() })) }
      : {}),
  };
}

/** The window over which jobs issued and completed are weighed (seconds; targetTime when shorter). */
export const FAN_IN_WINDOW_SECONDS = 600;
/** At most this many jobs issued per job completed, over the window, is a fan-in (merges), not a stream. */
export const FAN_IN_SHARE = 0.75;

/**
 * Jobs issued and completed over the recent window, each an exponentially decayed sum. A DAG's
 * merges are issued as the jobs they follow end, so the count of issued jobs grows to the very
 * end of a split-merge and "nothing arrived for targetTime" never holds while its last leaves
 * run; but fewer are issued than end. A chain issues one step per step that ends, and a stream
 * issues as fast as it completes: both are work still arriving.
 */
function workFlow(
  last: ScalerState | undefined,
  issued: number,
  completed: number,
  now: number,
  windowSeconds: number,
): { fanningIn: boolean; state: WorkFlowState } {
  const prev = last?.flow;
  if (prev === undefined || last?.issued === undefined)
    return { fanningIn: false, state: { at: now, completed, inflow: issued, outflow: 0 } };
  const decay = Math.exp(-Math.max(0, now - prev.at) / 1000 / windowSeconds);
  const inflow = prev.inflow * decay + Math.max(0, issued - last.issued);
  const outflow = prev.outflow * decay + Math.max(0, completed - prev.completed);
  // A few completions say nothing of a trend: the window must hold more than one job's worth.
  const fanningIn = outflow >= 2 && inflow <= FAN_IN_SHARE * outflow;
  return { fanningIn, state: { at: now, completed, inflow, outflow } };
}

function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5);
}
