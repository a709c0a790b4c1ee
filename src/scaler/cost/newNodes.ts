import { formatDuration, usdPerHour } from '../../common/units.js';
import type { Objective, ScalerConfig } from '../config.js';
import type { TypeTable } from '../offerings.js';
import { archMatches, dominantShare, maxFit, requestKey, subtract } from '../shapes.js';
import type { Architecture, JobRequest, Offering, Resources, WaitingJobs } from '../types.js';
import type { WorkClass } from './existing.js';

/**
 * How an item may use capacity: `od` must run on on-demand; `spot` leads spot nodes and may fill
 * leftover room on on-demand nodes launched anyway; `od-lead` is preemptable work allowed to open
 * on-demand nodes (no spot allowed, spot missing and compensated, or the spot pool at its limit).
 */
type Mode = 'od' | 'spot' | 'od-lead' | 'wait';

/**
 * Classes with the same request share slots: a slot runs their jobs back to back whatever their
 * names or declared walltimes, so the slots needed are ⌈Σ remaining ÷ perSlot⌉ over the pool, not
 * one per class (with a walltime per job, every job would otherwise get a slot of its own).
 */
interface Pool {
  readonly name: string;
  readonly members: { readonly cls: WorkClass; readonly perSlot: number }[];
}

function poolRemaining(p: Pool): number {
  return p.members.reduce((s, m) => s + m.cls.remaining, 0);
}

function poolSlots(p: Pool): number {
  return Math.ceil(p.members.reduce((s, m) => s + m.cls.remaining / m.perSlot, 0) - 1e-9);
}

/** Gives `slots` slots to the pool's jobs (shortest-runtime classes last); returns jobs per name. */
function takeSlots(p: Pool, slots: number, all: boolean): Map<string, number> {
  const out = new Map<string, number>();
  let left = slots;
  for (const m of p.members) {
    if (m.cls.remaining <= 0) continue;
    const k = all ? m.cls.remaining : Math.min(m.cls.remaining, Math.floor(left * m.perSlot + 1e-9));
    if (k <= 0) continue;
    m.cls.remaining -= k;
    left -= k / m.perSlot;
    out.set(m.cls.name, (out.get(m.cls.name) ?? 0) + k);
  }
  return out;
}

/**
 * The spread of runtimes assumed for a name with too few completions to measure it: about that of
 * a lognormal with log-sd 0.5, a common shape for batch jobs of one kind.
 */
export const DEFAULT_RUNTIME_SPREAD = 0.5;

/**
 * The expected largest of k standard normal draws (Blom's plotting position through Tukey's
 * lambda approximation of the normal quantile; within 0.03 of the exact value for k ≤ 16, 0.1 for
 * k ≤ 64).
 */
export function expectedMaxOfNormals(k: number): number {
  if (k <= 1) return 0;
  const p = (k - 0.375) / (k + 0.25);
  return 4.91 * (p ** 0.14 - (1 - p) ** 0.14);
}

/**
 * The share of a new node's cost expected to go on room no job takes at the end of its work: a
 * node lives until the last of the `jobs` it runs side by side ends, and those ends spread by
 * about `spread` × runtime × E[max of k normals], a tail spread over the `perSlot` jobs each
 * place runs back to back. Big nodes running many varied jobs pay this most; a node running one
 * job at a time pays none.
 */
export function tailShare(jobs: number, spread: number, perSlot: number): number {
  return (spread * expectedMaxOfNormals(jobs)) / Math.max(1, perSlot);
}

/**
 * How much the expected runtimes of a pool's classes differ (coefficient of variation over its
 * queued jobs). Jobs of one shape share a node whichever class they are of, so when each job
 * declares its own walltime (a class of one), its co-tenants' ends spread by this much, though no
 * class has a spread of its own: 486 heavy-tailed memory jobs, walltimes declared, were packed two
 * to an m5.4xlarge as if they ended together, and a long job held each alone for hours
 * (drawn16-scatter-gather-once: $63 of $118 unused; docs/scaler.md, "A tail between declared
 * walltimes").
 */
function spreadBetween(pool: Pool): number {
  const jobs = poolRemaining(pool);
  if (jobs < 2) return 0;
  const mean = pool.members.reduce((s, m) => s + m.cls.runtimeSeconds * m.cls.remaining, 0) / jobs;
  if (mean <= 0) return 0;
  const variance =
    pool.members.reduce((s, m) => s + (m.cls.runtimeSeconds - mean) ** 2 * m.cls.remaining, 0) / jobs;
  return Math.sqrt(variance) / mean;
}

/**
 * The share of a new node's cost that goes on fixed overheads rather than on the work it runs:
 * it is billed from launch, so its boot, and for at least the billing minimum, over the `busy`
 * seconds its slots run jobs. A node that runs one short wave pays a large share (boot 2 min over
 * a 30-min wave: 6.7 %), one that runs for hours a small one. Waiting for the nodes a full pool
 * already has pays none of it, so this is what a node opened in another pool to go faster costs
 * over waiting, besides any difference in price per job.
 */
export function fixedShare(busy: number, bootSeconds: number, config: ScalerConfig): number {
  const life = Math.max(busy, 1);
  return Math.max(bootSeconds, config.billingMinimumSeconds - life) / life;
}

/**
 * How much more than the cheapest offering a node may cost for its jobs before it is consolidated
 * (given no more of that work and drained): a replacement pays a boot and the billing minimum, so
 * small differences are not worth the churn. 1: twice the cheapest (0.25 was measured: churn, up to
 * 9.5× the launches on split-merge-cpu).
 */
export const CONSOLIDATION_MARGIN = 1;

/**
 * The margin of a keep-off hint (the batch system places no more of a class on a node it is dear
 * for; rule 10, "Keep-off hints" in docs/scaler.md): a hint drains nothing, so it costs no
 * relaunch and may be stricter than CONSOLIDATION_MARGIN. Of 0, 0.1, 0.2, 0.5 and 1 measured on
 * the corpus, 0.1 and 0.2 did best on the tuning seeds, and 0.1 added fewer cases over toil-classic's
 * cost on the judging seeds.
 */
export const KEEP_OFF_MARGIN = 0.1;

/**
 * The cheapest fractional cost (USD/h) of running one job of `r` on any available offering it may
 * use (spot only for preemptable work with spot allowed): price × the job's dominant share of the
 * type's packable resources. Infinity when no available offering fits it. With `together`, a node
 * runs at most that many such jobs (all there is of the work), so each pays at least
 * price ÷ min(together, jobs the type holds): a node opened for one small job costs its whole price.
 */
export function cheapestPerJob(
  r: JobRequest,
  offerings: readonly Offering[],
  types: TypeTable,
  config: ScalerConfig,
  together = Infinity,
): number {
  let best = Infinity;
  for (const o of offerings) {
    if (!o.available) continue;
    if (o.capacityType === 'spot' && (!r.preemptable || config.maxPreemptableNodes === 0)) continue;
    const e = types.byName.get(o.instanceType);
    if (!e || maxFit(e.packable, r) < 1 || !archMatches(r, e.type.architecture)) continue;
    const share = dominantShare(r, e.packable);
    const held = Math.min(together, maxFit(e.packable, r));
    best = Math.min(best, o.pricePerHour * (together === Infinity ? share : Math.max(share, 1 / held)));
  }
  return best;
}

/**
 * The value per dollar a node type's registered nodes hold now: their running jobs, each valued at
 * the cheapest fractional cost any available offering could run it for (cheapestPerJob, as a new
 * node's slots are valued), over the nodes' prices. Only nodes running jobs count (an idle node of
 * a full pool takes queued work before anything is launched). Undefined for a type with none.
 */
export function runningValuePerDollar(
  nodes: readonly {
    readonly nodeTypeIndex: number;
    readonly pricePerHour: number;
    readonly running: readonly JobRequest[];
  }[],
  nodeTypeCount: number,
  offerings: readonly Offering[],
  types: TypeTable,
  config: ScalerConfig,
): (number | undefined)[] {
  const value = new Array<number>(nodeTypeCount).fill(0);
  const price = new Array<number>(nodeTypeCount).fill(0);
  for (const n of nodes) {
    if (n.running.length === 0 || n.pricePerHour <= 0) continue;
    const v = n.running.reduce((s, r) => s + cheapestPerJob(r, offerings, types, config), 0);
    if (!Number.isFinite(v)) continue;
    value[n.nodeTypeIndex]! += v;
    price[n.nodeTypeIndex]! += n.pricePerHour;
  }
  return value.map((v, i) => (price[i]! > 0 ? v / price[i]! : undefined));
}

/** One slot-class: `slots` concurrent places, each running a pool's jobs back to back. */
interface Item {
  readonly cls: Pool;
  readonly req: JobRequest;
  /** Runtime spread and jobs per slot of the pool (weighted by its jobs), for tailShare. */
  readonly spread: number;
  readonly perSlot: number;
  /** Seconds a slot of the pool is busy: its jobs per slot × their runtime (weighted by jobs). */
  readonly busy: number;
  slots: number;
  /** False when only part of the pool is planned here (compensation): the rest waits. */
  readonly whole?: false;
  mode: Mode;
  value: number;
  note?: string;
  /** Left over because every offering with room costs more per job than the objective allows. */
  capped?: boolean;
  /** For capped work: why it may wait (the full pool it waits for and when room is expected). */
  waitNote?: string;
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
 * The most a new node may cost per job over the best value any configured offering would give
 * (were its limits not reached), per objective: `cost` pays no premium and waits for the cheap
 * pool, `balanced` pays a little to start work sooner, `speed` pays whatever targetTime asks.
 * `balanced` 2 %: at 5 % it opened dearer pools that cost more, and launched more nodes, than the
 * time they saved was worth on the corpus's held-out seeds (docs/scaler.md, "Balanced pays 2 %").
 */
export const OBJECTIVE_PREMIUM: Readonly<Record<Objective, number>> = {
  cost: 0,
  balanced: 0.02,
  speed: Infinity,
};

/** Whether work the objective's premium keeps off dearer pools may wait for its full pool. */
export interface WaitVerdict {
  readonly waits: boolean;
  /** The node type index of the full pool waited for. */
  readonly pool: number;
  /** Node-seconds of the full pool the waiting work takes. */
  readonly work: number;
  /** The most slots of the work that can wait within the bound (Infinity: all). */
  readonly mayWaitSlots: number;
  readonly note: string;
}

/**
 * The bounded wait (docs/scaler.md, "Bounded wait"). Work that every offering with room runs for
 * more per job than the objective's premium over a full pool waits for that pool's nodes, but
 * only while the room they free comes soon enough. Those nodes run the work already planned on
 * them within targetTime (that is what the plan counted them for); the waiting work follows,
 * behind the work already waiting for them: its last job starts about (node-seconds ahead + its
 * own node-seconds) ÷ the pool's nodes past targetTime. The objective's premium is what the user
 * pays per job to start it within targetTime rather than later, and a delay weighs by the work's
 * own length (the seconds a slot of it is busy, at least targetTime): a wait past targetTime as
 * long as the work is worth the premium once. The work waits while that worth stays within what
 * the dearer pool costs more per job (q): for at most length × q ÷ premium past targetTime. An
 * hour is little to a day-long job and much to a wave of ten-minute jobs. `cost` (no premium)
 * always waits; `speed` never gets here. Past the bound, only the part of the work that cannot
 * wait within it opens the dearer pool (`mayWaitSlots` of it still wait).
 */
export function boundedWait(
  it: { readonly slots: number; readonly busy: number; readonly cls: { readonly name: string } },
  full: Offering,
  dearer: Offering,
  q: number,
  ctx: {
    readonly nodes: number;
    readonly perNode: number;
    readonly ahead: number;
    readonly targetSeconds: number;
    readonly premium: number;
    readonly objective: Objective;
  },
): WaitVerdict {
  const perSlot = it.busy / Math.max(ctx.perNode, 1);
  const work = it.slots * perSlot;
  const past = ctx.nodes > 0 && ctx.perNode >= 1 ? (ctx.ahead + work) / ctx.nodes : Infinity;
  const length = Math.max(it.busy, ctx.targetSeconds);
  const bound = ctx.premium > 0 ? (length * Math.max(q, 0)) / ctx.premium : Infinity;
  const waits = past <= bound;
  const mayWaitSlots = Number.isFinite(bound)
    ? Math.max(0, Math.floor((bound * ctx.nodes - ctx.ahead) / Math.max(perSlot, 1e-9) + 1e-9))
    : Infinity;
  const pool = `${full.instanceType} ${full.capacityType}`;
  const dear = `${dearer.instanceType} ${dearer.capacityType} costs ${Math.round(q * 100)} % more per job`;
  const worth = Number.isFinite(bound)
    ? `worth a wait of up to ${formatDuration(bound * 1000)} past targetTime for work ${formatDuration(length * 1000)} long at objective ${ctx.objective}'s ${Math.round(ctx.premium * 100)} %`
    : `objective ${ctx.objective} pays no premium to go faster`;
  const expected = roomExpected(past, ctx.nodes, ctx.targetSeconds);
  const note = waits
    ? `waiting for room on ${pool} (at its limits), ${expected}; ${dear}, ${worth}`
    : `cannot wait for room on ${pool} (at its limits), ${expected}: ${dear}, ${worth}`;
  return { waits, pool: full.nodeTypeIndex, work, mayWaitSlots, note };
}

/**
 * When waiting work is expected to have room on a full pool: its `nodes` run the work planned on
 * them within targetTime, then `past` seconds of the work waiting for them (this work last).
 */
function roomExpected(past: number, nodes: number, targetSeconds: number): string {
  return Number.isFinite(past)
    ? `the last of it expected to start in ${formatDuration((targetSeconds + past) * 1000)} (its ${nodes} node(s) run the work planned within targetTime ${formatDuration(targetSeconds * 1000)}, then ${formatDuration(past * 1000)} of this and earlier waiting work)`
    : 'not expected (the pool has no node)';
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
  /**
   * Per node type index, the value per dollar its registered nodes' running jobs hold now (see
   * runningValuePerDollar); undefined where none runs a job.
   */
  runningValue: readonly (number | undefined)[] = [],
  /**
   * Preemptable classes the batch system keeps off on-demand room (they wait for spot nodes
   * being launched): they fill no leftover room of a new on-demand node either.
   */
  keptOffOnDemand: ReadonlySet<WorkClass> = new Set(),
): NewNodesResult {
  const waiting: WaitingJobs[] = [];
  const notes: string[] = [];
  const boot = config.bootTimeSeconds;
  const window = Math.max(config.targetTimeSeconds, boot) - boot;
  const spotAllowed = config.maxPreemptableNodes !== 0;
  const premium = OBJECTIVE_PREMIUM[config.objective];

  const cap = (o: Offering): Resources => types.byName.get(o.instanceType)!.packable;
  const arch = (o: Offering): Architecture => types.byName.get(o.instanceType)!.type.architecture;
  const fitsOffering = (req: Item['req'], o: Offering): boolean =>
    maxFit(cap(o), req) >= 1 && archMatches(req, arch(o));

  // The soonest a spot offering that fits comes back from a capacity backoff, if that is soon
  // enough for nodes launched then to start the work within targetTime.
  const spotBackWithin = (req: JobRequest): number | undefined => {
    let soonest = Infinity;
    for (const o of offerings)
      if (o.capacityType === 'spot' && o.availableInSeconds !== undefined && fitsOffering(req, o))
        soonest = Math.min(soonest, o.availableInSeconds);
    return soonest + boot <= config.targetTimeSeconds ? soonest : undefined;
  };
  const pools = new Map<string, Pool>();
  for (const c of classes) {
    if (c.remaining <= 0) continue;
    const r = c.request;
    const key = requestKey(r);
    let p = pools.get(key);
    if (!p) pools.set(key, (p = { name: c.name, members: [] }));
    p.members.push({ cls: c, perSlot: Math.floor(window / c.runtimeSeconds) + 1 });
  }
  const items: Item[] = [];
  for (const c of pools.values()) {
    const slots = poolSlots(c);
    const req = c.members[0]!.cls.request;
    const jobs = poolRemaining(c);
    const weighted = (f: (m: Pool['members'][number]) => number): number =>
      c.members.reduce((s, m) => s + f(m) * m.cls.remaining, 0) / Math.max(jobs, 1);
    const shape = {
      spread: Math.max(
        weighted((m) => m.cls.runtimeSpread ?? DEFAULT_RUNTIME_SPREAD),
        spreadBetween(c),
      ),
      perSlot: weighted((m) => m.perSlot),
      busy: weighted((m) => m.perSlot * m.cls.runtimeSeconds),
    };
    if (!req.preemptable) {
      items.push({ cls: c, req, ...shape, slots, mode: 'od', value: 0 });
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
        ...shape,
        slots,
        mode: 'od-lead',
        value: 0,
        note: !spotAllowed ? 'maxPreemptableNodes is 0' : 'no spot node type fits it',
      });
    } else if (!spotAvailable && spotBackWithin(req) !== undefined) {
      // Spot capacity is expected back soon enough that nodes launched then still start this
      // work within targetTime: buying on-demand now would pay about three times the price.
      waiting.push({
        jobName: c.name,
        count: poolRemaining(c),
        reason: `waiting for spot capacity, expected back in ${Math.ceil(spotBackWithin(req)!)} s: nodes launched then start it within targetTime ${config.targetTimeSeconds} s, so no on-demand is bought for it`,
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
          ...shape,
          slots: compensated,
          whole: false,
          mode: 'od-lead',
          value: 0,
          note: `spot unavailable (${why}); preemptableCompensation ${config.preemptableCompensation}`,
        });
      const rest = slots - compensated;
      if (rest > 0) {
        const remaining = poolRemaining(c);
        waiting.push({
          jobName: c.name,
          count: Math.min(remaining, Math.ceil((remaining * rest) / slots)),
          reason: `waiting for spot capacity: ${why}; preemptableCompensation ${config.preemptableCompensation} moves ${compensated} of ${slots} slot(s) to on-demand`,
        });
      }
    } else items.push({ cls: c, req, ...shape, slots, mode: 'spot', value: 0 });
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
      (it) =>
        fitsOffering(it.req, o) &&
        (o.capacityType === 'on-demand'
          ? !(it.mode === 'spot' && it.cls.members.some((m) => keptOffOnDemand.has(m.cls)))
          : it.req.preemptable),
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
  // Node-seconds of capped work already waiting for each full node type (the queue ahead).
  const queuedOn = new Map<number, number>();

  for (let round = 0; round < 100_000; round++) {
    const live = items.filter((it) => it.slots > 0 && it.mode !== 'wait' && !it.capped);
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
    // Value of one slot: the cheapest fractional cost of running it on any offering that fits,
    // whether or not that offering has room left (limits): a node is worth what its work would
    // cost at the cheapest price, so a dearer pool is not made to look good by a full cheap one.
    for (const it of live) {
      let v = Infinity;
      for (const o of candidates) {
        if (it.mode === 'od-lead' && o.capacityType === 'spot') continue;
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
    // Every offering is filled, with room or not: the best value per dollar each leading item
    // would get were limits not reached is the yardstick of the objective's premium; the choice
    // is the best node among the offerings with room whose leader pays at most that premium.
    const fills: { o: Offering; placed: [Item, number][]; eff: number; leader: Item }[] = [];
    const yardstick = new Map<Item, number>();
    // The offering that set each leader's yardstick: the full pool the work would wait for.
    const yardOffering = new Map<Item, Offering>();
    for (const o of candidates) {
      for (const order of orders.get(o)!) {
        let free = cap(o);
        const placed: [Item, number][] = [];
        let value = 0;
        let leaders = 0;
        for (const pass of [true, false]) {
          for (const it of order) {
            if (it.slots <= 0 || it.mode === 'wait' || it.capped || isLeader(it, o) !== pass) continue;
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
        const leader = placed.find(([it]) => constrained.has(it) && isLeader(it, o))?.[0];
        if (leaders === 0 || !leader) continue;
        // What the node is expected to cost, its end-of-work tail included (see tailShare).
        const jobs = placed.reduce((s, [, k]) => s + k, 0);
        const mean = (f: (it: Item) => number): number =>
          placed.reduce((s, [it, k]) => s + f(it) * k, 0) / jobs;
        const room = allowance(o) > 0;
        // Only a new node pays a tail of its own. An offering at its limit is the yardstick as the
        // nodes it already has: work that waits for them runs after their current jobs, and their
        // end-of-work tail is paid whether it waits or not (it comes later, not larger). Priced
        // with that tail, a full pool of two-job r5.2xlarge made one-job m5.2xlarge look as good
        // per job: 14 launched for 15 jobs the r5 nodes ran as they freed up. Not while other
        // work takes that room first: preemptable work waiting for a full spot pool lands on
        // on-demand room (the batch system keeps it off only while spot has room), so work
        // waiting for a full on-demand pool waits behind it (docs/scaler.md, "The yardstick has
        // no tail").
        const contested =
          o.capacityType === 'on-demand' &&
          items.some((it) => it.mode === 'wait' && it.slots > 0 && fitsOffering(it.req, o));
        const tail =
          room || contested
            ? tailShare(
                jobs,
                mean((it) => it.spread),
                mean((it) => it.perSlot),
              )
            : 0;
        // A new node also pays its fixed overheads (boot, billing minimum) on the work it runs;
        // an offering at its limit is the yardstick as the nodes it already has, which the work
        // can wait for without paying them again (see fixedShare). A factor, not a term added to
        // the tail: it is the same for every new node running the same work, so among offerings
        // with room it changes no choice; it only counts against going faster than waiting.
        const fixed = room
          ? fixedShare(
              mean((it) => it.busy),
              boot,
              config,
            )
          : 0;
        const eff = o.pricePerHour > 0 ? value / (o.pricePerHour * (1 + tail) * (1 + fixed)) : Infinity;
        // A pool at its limit is the yardstick as its nodes run: work that waits for them starts
        // there beside the work they run, not alone on a node of what this plan has left over (a
        // memory-heavy job alone on an m5.2xlarge idles its cores; beside the CPU jobs the pool
        // runs, it does not). docs/scaler.md, "A full pool as it runs".
        const yard = room ? eff : Math.max(eff, runningValue[o.nodeTypeIndex] ?? 0);
        if (yard > (yardstick.get(leader) ?? 0)) {
          yardstick.set(leader, yard);
          yardOffering.set(leader, o);
        }
        if (room) fills.push({ o, placed, eff, leader });
      }
    }
    // The best value per dollar; among equals the cheaper node.
    const bestOf = (fs: typeof fills): (typeof fills)[number] | undefined =>
      fs.reduce<(typeof fills)[number] | undefined>(
        (b, f) =>
          !b ||
          f.eff > b.eff + 1e-12 ||
          (Math.abs(f.eff - b.eff) <= 1e-12 && f.o.pricePerHour < b.o.pricePerHour)
            ? f
            : b,
        undefined,
      );
    let best = bestOf(fills.filter((f) => f.eff * (1 + premium) >= yardstick.get(f.leader)! - 1e-12));
    let mayWaitSlots = Infinity;
    if (!best && fills.length > 0) {
      // Only dearer pools have room for the most constrained work: it waits for the cheap ones,
      // as long as the room they free comes soon enough for what the dearer pool would cost
      // (see boundedWait); past that, the dearest part of the wait is bought on the best of them.
      const verdicts = new Map<Item, WaitVerdict>();
      for (const it of constrained) {
        const full = yardOffering.get(it);
        const own = fills.filter((f) => f.leader === it);
        if (!full || own.length === 0) continue;
        const bestOwn = own.reduce((a, b) => (b.eff > a.eff ? b : a));
        verdicts.set(
          it,
          boundedWait(it, full, bestOwn.o, yardstick.get(it)! / bestOwn.eff - 1, {
            nodes: limits.byType[full.nodeTypeIndex]!,
            perNode: maxFit(cap(full), it.req),
            ahead: queuedOn.get(full.nodeTypeIndex) ?? 0,
            targetSeconds: config.targetTimeSeconds,
            premium,
            objective: config.objective,
          }),
        );
      }
      best = bestOf(fills.filter((f) => verdicts.get(f.leader)?.waits === false));
      if (!best) {
        for (const it of constrained) {
          it.capped = true;
          const v = verdicts.get(it);
          if (!v) continue;
          it.waitNote = v.note;
          queuedOn.set(v.pool, (queuedOn.get(v.pool) ?? 0) + v.work);
        }
        continue;
      }
      const v = verdicts.get(best.leader)!;
      mayWaitSlots = v.mayWaitSlots;
      notes.push(`'${best.leader.cls.name}' on ${best.o.instanceType} ${best.o.capacityType}: ${v.note}`);
    }
    if (!best) break;
    let copies = allowance(best.o);
    for (const [it, k] of best.placed) copies = Math.min(copies, Math.floor(it.slots / k));
    // Work that could not wait opens only as many nodes as it takes for the rest to wait within
    // the bound.
    const lead = best.placed.find(([it]) => it === best.leader)?.[1] ?? 1;
    if (Number.isFinite(mayWaitSlots))
      copies = Math.min(copies, Math.ceil((best.leader.slots - mayWaitSlots) / lead));
    copies = Math.max(1, copies);
    let choice = choices.get(best.o);
    if (!choice) {
      choice = { offering: best.o, count: 0, jobs: new Map() };
      choices.set(best.o, choice);
    }
    choice.count += copies;
    for (const [it, k] of best.placed) {
      const slots = k * copies;
      it.slots -= slots;
      const taken = takeSlots(it.cls, slots, it.slots <= 0 && it.whole !== false);
      let jobs = 0;
      for (const [name, n] of taken) {
        choice.jobs.set(name, (choice.jobs.get(name) ?? 0) + n);
        jobs += n;
      }
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

  // Spot work waiting for the spot pool at its limits: when room is expected there, as for the
  // bounded wait (the spot nodes that exist or are planned and fit it; earlier waiting spot work
  // ahead of it). Said in the reason only: on-demand costs about three times as much per job.
  const spotNodes = [
    ...spotNodeTypes.map((name) => ({ name, count: 1 })),
    ...[...choices.values()]
      .filter((c) => c.offering.capacityType === 'spot')
      .map((c) => ({ name: c.offering.instanceType, count: c.count })),
  ];
  let spotAhead = 0;
  const spotRoom = (it: Item): string => {
    let nodes = 0;
    let perNode = 0;
    for (const n of spotNodes) {
      const e = types.byName.get(n.name);
      const k = e && archMatches(it.req, e.type.architecture) ? maxFit(e.packable, it.req) : 0;
      if (k < 1) continue;
      nodes += n.count;
      perNode = Math.max(perNode, k);
    }
    spotAhead += perNode > 0 ? (it.slots * it.busy) / perNode : 0;
    return roomExpected(nodes > 0 ? spotAhead / nodes : Infinity, nodes, config.targetTimeSeconds);
  };
  for (const it of items) {
    if (it.slots <= 0) continue;
    const jobs = [...takeSlots(it.cls, it.slots, it.whole !== false).values()].reduce((a, b) => a + b, 0);
    const why = blockedReason(it, offerings, config, limits, fitsOffering);
    waiting.push({
      jobName: it.cls.name,
      count: jobs,
      reason: it.mode === 'wait' ? `${why}: ${spotRoom(it)}` : why,
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
  if (it.mode === 'wait') {
    const spot = offerings.filter((o) => o.capacityType === 'spot' && fitsOffering(it.req, o));
    return `the spot pool is at its limits (${spotLimitsReached(spot, config, limits)}); runs on spot nodes as they free up`;
  }
  if (it.capped)
    return `${it.waitNote ? `${it.waitNote}. ` : ''}objective ${config.objective}: every offering with room costs more than ${Math.round(OBJECTIVE_PREMIUM[config.objective] * 100)} % over the cheapest per job (counting the room a node holds idle while its last jobs end, and a new node's boot and billing minimum over the work it runs), whose node types are at their limits; runs on existing nodes as they free up`;
  const fitting = offerings.filter(
    (o) => fitsOffering(it.req, o) && (o.capacityType === 'on-demand' || it.req.preemptable),
  );
  if (fitting.length > 0 && fitting.every((o) => !o.available))
    return `every offering that fits is unavailable (${fitting[0]!.unavailableReason})`;
  const cheapest = fitting.reduce<Offering | undefined>(
    (best, o) => (!best || o.pricePerHour < best.pricePerHour ? o : best),
    undefined,
  );
  if (config.maxHourlyCost !== undefined && cheapest !== undefined) {
    // Not a limit reached but one no node that fits is under: raising it is the only way out.
    if (cheapest.pricePerHour > config.maxHourlyCost)
      return `maxHourlyCost ${usdPerHour(config.maxHourlyCost)} is below the cheapest node that fits (${cheapest.instanceType} ${cheapest.capacityType} at ${usdPerHour(cheapest.pricePerHour)}); runs on existing nodes as they free up, or raise it`;
    if (limits.hourlyCost + cheapest.pricePerHour > config.maxHourlyCost)
      return `maxHourlyCost ${usdPerHour(config.maxHourlyCost)} reached (planned $${limits.hourlyCost.toFixed(3)}/h); runs on existing nodes as they free up`;
  }
  if (config.maxTotalNodes !== undefined && limits.total >= config.maxTotalNodes)
    return `maxTotalNodes ${config.maxTotalNodes} reached; runs on existing nodes as they free up`;
  // The types at their limit with their counts: what an operator raises, and by how much.
  const full = typesAtMaxNodes(fitting, config, limits).map(
    (f) => `${f.label} (maxNodes ${f.maxNodes}, ${f.have} node(s))`,
  );
  const types =
    full.length > 0 ? full : [...new Set(fitting.map((o) => config.nodeTypes[o.nodeTypeIndex]!.label))];
  return `maxNodes reached for ${types.join(', ')}; runs on existing nodes as they free up`;
}

/** The node types of these offerings at their maxNodes, each once, with how many nodes it has. */
function typesAtMaxNodes(
  offerings: readonly Offering[],
  config: ScalerConfig,
  limits: LimitState,
): { label: string; maxNodes: number; have: number }[] {
  const full = new Map<number, { label: string; maxNodes: number; have: number }>();
  for (const o of offerings) {
    const nt = config.nodeTypes[o.nodeTypeIndex]!;
    const have = limits.byType[o.nodeTypeIndex]!;
    if (have >= nt.maxNodes) full.set(o.nodeTypeIndex, { label: nt.label, maxNodes: nt.maxNodes, have });
  }
  return [...full.values()];
}

/** Which limits keep the spot pool (its offerings that fit) from growing, with their counts. */
function spotLimitsReached(spot: readonly Offering[], config: ScalerConfig, limits: LimitState): string {
  if (config.maxPreemptableNodes !== undefined && limits.spot >= config.maxPreemptableNodes)
    return `maxPreemptableNodes ${config.maxPreemptableNodes}, ${limits.spot} spot node(s)`;
  const full = typesAtMaxNodes(spot, config, limits).map(
    (f) => `maxNodes ${f.maxNodes} for ${f.label}, ${f.have} node(s)`,
  );
  return full.length > 0 ? full.join('; ') : 'no spot offering has room';
}

function fewerRefusals(o: Offering, b: Offering): boolean {
  const a = o.recentRefusals ?? 0;
  const c = b.recentRefusals ?? 0;
  return a < c || (a === c && o.zone < b.zone);
}
