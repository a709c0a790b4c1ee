import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import type { Clock } from '../common/clock.js';
import { ToilError, coerceError, isAbortError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { ProvisionedNode, Provisioner } from '../provisioner/provisioner.js';
import { SpotPriceFeed, type ObservedSpotPrice, type SpotPriceFeedStatus } from '../scaler/spotPriceFeed.js';
import type { ScalerConfig } from '../scaler/config.js';
import { planScaling } from '../scaler/policy.js';
import { emptyRuntimeHistory, recordCompletion as recordRuntime } from '../scaler/runtimes.js';
import type {
  CapacityType,
  ExistingNode,
  LaunchAction,
  LaunchShortfall,
  OfferingState,
  QueuedJob,
  RunningJob,
  RuntimeHistory,
  ScalerState,
  ScalingPlan,
} from '../scaler/types.js';
import type { TickConfig } from './leaderConfig.js';
import type { LeaderMetrics } from './metrics.js';

/**
 * The scaler tick, Karpenter-style: observe → plan → act → persist, once per call. A driver
 * (`runScalerLoop`) calls it every scaleInterval and soon after the queue changes.
 *
 * - Observe: the cluster's instances (Provisioner), the agents and our tasks on them (AgentPort),
 *   queued and running job shapes (WorkloadPort), what the last tick asked for (TickState).
 * - Plan: the scaler's pure `planScaling`.
 * - Act: through a p-queue (bounded concurrency, a calls-per-second cap). Errors by disposition:
 *   'retry' → backoff and try again (same client token, so never twice); 'unavailable' → the
 *   offering is marked unavailable for `unavailableFor` and the plan is made again in the same
 *   tick (so on-demand compensation follows at once); 'fatal' → surfaced in status/logs, no loop.
 * - Persist: a launch is written (with its client token) before it is sent; instances we own,
 *   draining marks, unavailable offerings, smoothing state and learned runtimes are written after
 *   each tick, so a restarted leader adopts its instances (none leaked, none launched twice).
 */

/** An agent as the tick needs it. `instanceId`/`hostname` tie it to a provisioned node. */
export interface ClusterAgent {
  readonly agentId: string;
  readonly hostname: string;
  /** From an `instance_id` attribute, when the agent has one. */
  readonly instanceId?: string;
  readonly preemptable: boolean;
  /** Jobs of ours running there. */
  readonly runningJobIds: readonly string[];
}

/**
 * The batch-system side of scaling (narrow: what the tick needs from Mesos).
 * `markDraining` must be synchronous and race-free: after it returns, no new task is placed on the
 * agent, so `isEmpty` answered after the mark stays true.
 */
export interface AgentPort {
  agents(): Promise<ClusterAgent[]>;
  markDraining(agentId: string): void;
  unmarkDraining(agentId: string): Promise<void>;
  /** Only meaningful after `markDraining`. */
  isEmpty(agentId: string): boolean;
  /** Kill what still runs there (its jobs come back 'lost', no retry spent). */
  forceDrain(agentId: string): Promise<void>;
}

export interface RunningOnAgent extends Omit<RunningJob, 'nodeId'> {
  readonly agentId: string;
}

/** Queued and running job shapes, from the leader(s). */
export interface WorkloadPort {
  workload(): { queued: readonly QueuedJob[]; running: readonly RunningOnAgent[] };
  /** Completed-job runtimes learned since the last call (name, seconds), to persist. */
  takeCompletions?(): readonly { name: string; seconds: number }[];
}

/** A launch asked for and not yet answered: re-sent with the same token after a restart. */
export interface PendingLaunch {
  readonly clientToken: string;
  readonly instanceType: string;
  readonly zone: string;
  readonly capacityType: CapacityType;
  readonly count: number;
  readonly requestedAt: number;
  /** Spot: the bid sent as MaxPrice (a re-send must carry the same parameters). */
  readonly maxPrice?: number;
}

/** What the tick persists between leader runs (plain JSON). */
export interface TickState {
  readonly format: 1;
  readonly pendingLaunches: readonly PendingLaunch[];
  /** Instances this leader (or its predecessor) launched: never static, always ours to retire. */
  readonly owned: Readonly<
    Record<string, { readonly launchedAt: number; readonly pricePerHour: number; readonly spot?: boolean }>
  >;
  /** Spot instances of ours that went away without our asking (reclaimed), counted over all runs. */
  readonly spotInterruptions?: number;
  /** Nodes marked draining, with when. */
  readonly draining: Readonly<Record<string, number>>;
  /** Offering key (type/zone/capacity) → unavailable until (ms). */
  readonly unavailable: Readonly<Record<string, number>>;
  readonly smoothing?: ScalerState;
  readonly runtimes: RuntimeHistory;
  readonly lastBusyAt: Readonly<Record<string, number>>;
  /** Dollars spent on owned nodes so far (per-second, 60 s minimum per node ignored here). */
  readonly costDollars: number;
}

/** A node as the status page shows it: with its price and how many of our tasks run on it. */
export type ObservedNode = ExistingNode & { readonly pricePerHour: number; readonly tasks: number };

export interface TickStateStore {
  load(): Promise<TickState | undefined>;
  save(state: TickState): Promise<void>;
}

export function emptyTickState(): TickState {
  return {
    format: 1,
    pendingLaunches: [],
    owned: {},
    draining: {},
    unavailable: {},
    runtimes: emptyRuntimeHistory(),
    lastBusyAt: {},
    costDollars: 0,
  };
}

/** One failed provisioner call of a tick. `plan` is the plan (1-based) whose action failed. */
export interface TickError {
  readonly action: string;
  readonly code: string;
  readonly message: string;
  readonly plan: number;
  readonly disposition?: string;
  /** type/zone/capacity, for launches. */
  readonly offering?: string;
}

/** One launch call of a tick that the cloud answered. */
export interface TickLaunch {
  readonly plan: number;
  readonly offering: string;
  readonly capacityType: CapacityType;
  readonly asked: number;
  readonly got: number;
}

export interface TickReport {
  /** Ticks since this leader started (1 = the first). */
  readonly seq: number;
  readonly at: number;
  readonly durationMs: number;
  readonly plan: ScalingPlan;
  /** Plans made in this tick (more than one when an offering was unavailable). */
  readonly plans: number;
  readonly launched: readonly string[];
  readonly launches: readonly TickLaunch[];
  readonly terminated: readonly string[];
  readonly drained: readonly string[];
  readonly errors: readonly TickError[];
  /** Observed spot prices the plan used, with their age; and how the last read went. */
  readonly spotPrices?: readonly ObservedSpotPrice[];
  readonly spotPriceFeed?: SpotPriceFeedStatus;
  /** Spot nodes whose interruption notice was seen this tick (drained at once). */
  readonly interruptionNotices?: readonly string[];
}

/**
 * A launch error retrying cannot fix, as shown in /status: one entry per distinct error (code,
 * offering or scope, message), logged once when first seen, counted after that.
 */
export interface FatalLaunchError {
  readonly code: string;
  readonly message: string;
  /** type/zone/capacity backed off, or 'all' when every launch is paused. */
  readonly scope: string;
  readonly firstAt: number;
  lastAt: number;
  count: number;
  backedOffUntil: number;
}

/**
 * Fatal codes no other offering avoids: every launch pauses. The rest (a vCPU or spot limit, a
 * request EC2 rejects for this type or zone) back off only the offering, and the plan moves on.
 */
const CLUSTER_WIDE_FATAL = new Set([
  'NOT_AUTHORISED',
  'CLUSTER_NOT_FOUND',
  'NOT_FOUND',
  'NO_CREDENTIALS',
  'NO_REGION',
]);

/** Reports kept for /status: the last ticks that did something (launch, drain, terminate, error). */
const HISTORY = 30;

export interface ScalerTickOptions {
  readonly provisioner: Provisioner;
  readonly agents: AgentPort;
  readonly workload: WorkloadPort;
  readonly store: TickStateStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: LeaderMetrics;
  /** Read at every tick, so a reloaded config is in effect at the next one. */
  readonly config: () => { readonly scaler: ScalerConfig; readonly tick: TickConfig };
  readonly onReport?: (report: TickReport) => void;
}

const offeringKey = (type: string, zone: string, capacity: CapacityType): string =>
  `${type}/${zone}/${capacity}`;

export class ScalerTick {
  private readonly o: ScalerTickOptions;
  private readonly log: Logger;
  private state: TickState = emptyTickState();
  private lastReport: TickReport | undefined;
  private lastTickAt: number | undefined;
  private launching = true;
  private readonly abort = new AbortController();
  private queue: PQueue | undefined;
  private seq = 0;
  private readonly history: TickReport[] = [];
  private readonly fatal = new Map<string, FatalLaunchError>();
  /**
   * Backoffs after fatal launch errors: offering → until (ms), and a pause of every launch. Kept in
   * memory on purpose: restarting the leader (or re-running `toil run`) is how an operator says
   * "fixed, try again", so a restarted leader must not sit out an old backoff.
   */
  private readonly backedOff = new Map<string, number>();
  private pausedUntil = 0;
  private readonly spot: SpotPriceFeed;
  /** Spot nodes with an interruption notice → when they go: drained, and not planned on. */
  private readonly noticed = new Map<string, number>();
  private noticesThisTick: string[] = [];

  constructor(options: ScalerTickOptions) {
    this.o = options;
    this.log = options.log.child({ component: 'scaler-tick' });
    this.spot = new SpotPriceFeed({
      source: options.provisioner,
      clock: options.clock,
      log: options.log,
      refreshMs: () => options.config().tick.spotPriceRefresh,
    });
  }

  /** Observed spot prices with their age, and how the last read went (for /status). */
  get spotPrices(): { prices: ObservedSpotPrice[]; feed: SpotPriceFeedStatus } {
    return { prices: this.spot.view(), feed: this.spot.status() };
  }

  /** What the tick persists (for the status page and tests). */
  get persisted(): TickState {
    return this.state;
  }

  /** The nodes as the last tick observed them, with their price and our tasks on each. */
  get nodes(): readonly ObservedNode[] {
    return this.observedNodes;
  }

  private observedNodes: ObservedNode[] = [];

  get report(): TickReport | undefined {
    return this.lastReport;
  }

  get lastCompletedAt(): number | undefined {
    return this.lastTickAt;
  }

  /** The last ticks that launched, drained, terminated or failed a call, oldest first. */
  get recentReports(): readonly TickReport[] {
    return this.history;
  }

  /** Distinct fatal launch errors seen by this leader, oldest first. */
  get fatalErrors(): readonly FatalLaunchError[] {
    return [...this.fatal.values()];
  }

  /** Until when every launch is paused after a fatal error no offering avoids (0: not paused). */
  get launchesPausedUntil(): number {
    return this.pausedUntil;
  }

  /** The state the policy sees: persisted unavailability plus this leader's fatal backoffs. */
  private planningState(): TickState {
    const now = this.o.clock.now();
    const unavailable = { ...this.state.unavailable };
    for (const [key, until] of this.backedOff)
      if (until > now) unavailable[key] = Math.max(until, unavailable[key] ?? 0);
      else this.backedOff.delete(key);
    return { ...this.state, unavailable };
  }

  /**
   * Loads what a previous leader persisted and adopts its instances: launches that were asked for
   * and not answered are re-sent with the same client token (the cloud returns the instances of
   * the first request rather than launching more), and their instances join `owned`. Owned ids no
   * longer in the cloud are forgotten.
   */
  async restore(): Promise<{ adopted: string[]; forgotten: string[] }> {
    this.state = (await this.o.store.load()) ?? emptyTickState();
    const adopted = await this.resolvePendingLaunches();
    const live = new Set((await this.o.provisioner.listNodes({ role: 'worker' })).map((n) => n.instanceId));
    const forgotten = Object.keys(this.state.owned).filter((id) => !live.has(id));
    for (const id of forgotten) this.forget(id);
    adopted.push(...Object.keys(this.state.owned).filter((id) => !adopted.includes(id)));
    await this.o.store.save(this.state);
    this.log.info(
      { adopted: adopted.length, forgotten: forgotten.length },
      "adopted the last leader's instances",
    );
    return { adopted, forgotten };
  }

  /**
   * Re-sends launches whose answer never came (a lost reply, a crash) with their client token:
   * the cloud answers with the instances of the first request, which become ours.
   */
  private async resolvePendingLaunches(): Promise<string[]> {
    const adopted: string[] = [];
    const still: PendingLaunch[] = [];
    for (const p of this.state.pendingLaunches) {
      try {
        const r = await this.o.provisioner.launch({
          offering: {
            instanceType: p.instanceType,
            zone: p.zone,
            market: p.capacityType,
            ...(p.maxPrice !== undefined ? { maxPrice: p.maxPrice } : {}),
          },
          count: p.count,
          clientToken: p.clientToken,
        });
        for (const n of r.nodes) {
          this.own(
            n.instanceId,
            p.requestedAt,
            this.priceOf(p.instanceType, p.capacityType),
            p.capacityType === 'spot',
          );
          adopted.push(n.instanceId);
        }
      } catch (e) {
        const err = coerceError(e);
        // Unknown failures (a dropped connection) may have launched: keep asking with the token.
        if (!(err instanceof ToilError)) still.push(p);
        this.log.warn({ err, clientToken: p.clientToken }, 'an unanswered launch failed when re-sent');
      }
    }
    this.state = { ...this.state, pendingLaunches: still };
    return adopted;
  }

  /** Stop launching (SIGTERM): later ticks still drain and terminate, never launch. */
  stopLaunching(): void {
    this.launching = false;
  }

  /** Aborts in-flight retries (a second signal). */
  abortInFlight(): void {
    this.abort.abort(new ToilError('ABORTED', 'the leader is stopping now'));
    this.queue?.clear();
  }

  /** Resolves when no provisioner call is in flight. */
  async idle(): Promise<void> {
    await this.queue?.onIdle();
  }

  /** One observe → plan → act → persist pass. Resolves with how long to wait before the next. */
  async reconcile(): Promise<{ requeueAfterMs: number; report: TickReport }> {
    const started = this.o.clock.now();
    const { scaler, tick } = this.o.config();
    const queue = this.queueFor(tick);
    const errors: TickError[] = [];
    const launched: string[] = [];
    const launches: TickLaunch[] = [];
    const terminated: string[] = [];
    const drained: string[] = [];
    this.noticesThisTick = [];
    this.learnRuntimes();
    if (this.state.pendingLaunches.length > 0) launched.push(...(await this.resolvePendingLaunches()));

    let plan: ScalingPlan | undefined;
    let plans = 0;
    for (;;) {
      const view = await this.observe();
      const planStart = this.o.clock.now();
      plan = planScaling(this.snapshotOf(view), scaler);
      plans++;
      this.o.metrics?.planDuration.observe((this.o.clock.now() - planStart) / 1000);
      this.state = { ...this.state, smoothing: plan.state };
      this.log.info(
        {
          launch: plan.launch.map((l) => `${l.count}×${l.instanceType}/${l.capacityType}/${l.zone}`),
          drain: plan.drain.length,
          undrain: plan.undrain.length,
          terminate: plan.terminate.length,
          waiting: plan.waiting.map((w) => `${w.count} ${w.jobName}: ${w.reason}`).slice(0, 5),
          hourlyCost: plan.hourlyCost,
        },
        'scaling plan',
      );
      const unavailable = await this.act(plan, view, queue, {
        plan: plans,
        launched,
        launches,
        terminated,
        drained,
        errors,
      });
      if (!unavailable || plans >= 3) break;
      this.log.info({ plans }, 'an offering had no capacity; planning again in this tick');
    }
    this.accrueCost(started);
    await this.o.store.save(this.state);
    const report: TickReport = {
      seq: ++this.seq,
      at: started,
      durationMs: this.o.clock.now() - started,
      plan,
      plans,
      launched,
      launches,
      terminated,
      drained,
      errors,
      spotPrices: this.spot.view(),
      spotPriceFeed: this.spot.status(),
      interruptionNotices: this.noticesThisTick,
    };
    this.lastReport = report;
    if (launches.length + terminated.length + drained.length + errors.length > 0) {
      this.history.push(report);
      if (this.history.length > HISTORY) this.history.shift();
    }
    this.lastTickAt = this.o.clock.now();
    this.o.metrics?.ticks.inc({ result: errors.length ? 'error' : 'ok' });
    this.o.onReport?.(report);
    return { requeueAfterMs: scaler.scaleIntervalSeconds * 1000, report };
  }

  /** A dry run: the plan for the cluster as it is now, acting on nothing. */
  async planNow(): Promise<ScalingPlan> {
    const { scaler } = this.o.config();
    const view = await this.observe();
    return planScaling(this.snapshotOf(view), scaler);
  }

  /** What the policy sees: the view, with observed spot prices, and noticed nodes already gone. */
  private snapshotOf(view: ClusterView): ReturnType<ClusterView['snapshot']> {
    return view.snapshot(this.planningState(), this.shortfall, {
      prices: this.spot.offerings(),
      doomed: new Set(this.noticed.keys()),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Observe

  private async observe(): Promise<ClusterView> {
    const now = this.o.clock.now();
    const [nodes, agents] = await Promise.all([
      this.o.provisioner.listNodes({ role: 'worker' }),
      this.o.agents.agents(),
    ]);
    const { queued, running } = this.o.workload.workload();
    const view = new ClusterView(now, nodes, agents, queued, running);
    // Busy nodes reset their idle clock; forget marks of nodes that are gone.
    const lastBusyAt = { ...this.state.lastBusyAt };
    for (const n of nodes) if (view.runningOn(n.instanceId) > 0) lastBusyAt[n.instanceId] = now;
    const live = new Set(nodes.map((n) => n.instanceId));
    const draining = Object.fromEntries(Object.entries(this.state.draining).filter(([id]) => live.has(id)));
    // Owned instances the cloud no longer lists as pending/running stop costing money. We forget
    // the ones we terminate when we terminate them, so a spot node gone here was reclaimed: an
    // interruption (its tasks come back 'lost' and re-run without spending a retry).
    const alive = new Set(
      nodes.filter((n) => n.state === 'pending' || n.state === 'running').map((n) => n.instanceId),
    );
    for (const [id, o] of Object.entries(this.state.owned))
      if (!alive.has(id)) {
        if (o.spot) {
          this.o.metrics?.spotInterruptions.inc();
          this.state = { ...this.state, spotInterruptions: (this.state.spotInterruptions ?? 0) + 1 };
          this.log.warn({ nodeId: id }, 'a spot node of ours was reclaimed');
        }
        this.forget(id);
      }
    const unavailable = Object.fromEntries(
      Object.entries(this.state.unavailable).filter(([, until]) => until > now),
    );
    this.state = { ...this.state, lastBusyAt, draining, unavailable };
    const { scaler } = this.o.config();
    await this.spot.refreshIfDue(spotInstanceTypes(scaler), scaler.zones);
    await this.drainNoticed(view);
    this.exportNodeMetrics(view);
    return view;
  }

  /**
   * Spot interruption notices (polled through the provisioner: on AWS the spot request turns
   * `marked-for-termination` when the instance's metadata shows `spot/instance-action`, so the
   * leader needs nothing from the node's agent). A noticed node is marked draining at once — no
   * new task lands there — and leaves the snapshot, so the plan made in this same tick replaces
   * it; the jobs running there are planned as queued work, and re-issued by the leader when the
   * batch system reports them lost (no retry spent).
   */
  private async drainNoticed(view: ClusterView): Promise<void> {
    let notices;
    try {
      notices = await this.o.provisioner.interruptionNotices();
    } catch (e) {
      this.log.warn({ err: coerceError(e) }, 'could not read spot interruption notices');
      return;
    }
    const now = this.o.clock.now();
    const live = new Set(view.nodes.map((n) => n.instanceId));
    for (const id of this.noticed.keys()) if (!live.has(id)) this.noticed.delete(id);
    for (const n of notices) {
      if (!live.has(n.instanceId)) continue;
      const agent = view.agentOf(n.instanceId);
      // Marked every tick: an agent that registers after the notice is marked too.
      if (agent) this.o.agents.markDraining(agent.agentId);
      if (this.noticed.has(n.instanceId)) continue;
      this.noticed.set(n.instanceId, n.terminateAt);
      this.noticesThisTick.push(n.instanceId);
      this.state = {
        ...this.state,
        draining: { ...this.state.draining, [n.instanceId]: this.state.draining[n.instanceId] ?? now },
      };
      this.o.metrics?.spotNotices.inc();
      this.log.warn(
        {
          nodeId: n.instanceId,
          terminateAt: new Date(n.terminateAt).toISOString(),
          runningJobs: view.runningOn(n.instanceId),
        },
        'spot interruption notice: node drained now; its replacement is planned in this tick',
      );
    }
  }

  private exportNodeMetrics(view: ClusterView): void {
    this.observedNodes = view.existing(this.state).map((n) => ({
      ...n,
      pricePerHour: n.pricePerHour ?? this.priceOf(n.instanceType, n.capacityType),
      tasks: view.runningOn(n.id),
    }));
    const m = this.o.metrics;
    if (!m) return;
    m.nodes.reset();
    for (const n of view.existing(this.state))
      m.nodes.inc({ pool: n.capacityType, instance_type: n.instanceType, state: n.state });
    m.spotPrice.reset();
    m.spotPriceAge.reset();
    for (const p of this.spot.view()) {
      m.spotPrice.set({ instance_type: p.instanceType, zone: p.zone }, p.price);
      m.spotPriceAge.set({ instance_type: p.instanceType, zone: p.zone }, p.ageSeconds);
    }
    m.queuedJobs.set(view.queued.reduce((s, q) => s + (q.count ?? 1), 0));
    m.runningJobs.set(view.running.length);
    m.clusterHourlyCost.set(
      view
        .existing(this.state)
        .reduce((s, n) => s + (n.pricePerHour ?? this.priceOf(n.instanceType, n.capacityType)), 0),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Act

  private async act(
    plan: ScalingPlan,
    view: ClusterView,
    queue: PQueue,
    out: {
      plan: number;
      launched: string[];
      launches: TickLaunch[];
      terminated: string[];
      drained: string[];
      errors: TickError[];
    },
  ): Promise<boolean> {
    const m = this.o.metrics;
    if (m) {
      m.desiredNodes.reset();
      for (const n of view.existing(this.state))
        if (!plan.terminate.some((t) => t.nodeId === n.id) && n.state !== 'draining')
          m.desiredNodes.inc({ pool: n.capacityType, instance_type: n.instanceType });
      for (const l of plan.launch)
        m.desiredNodes.inc({ pool: l.capacityType, instance_type: l.instanceType }, l.count);
    }
    // Undrain and drain first: they are local marks (no cloud call), race-free by contract.
    for (const u of plan.undrain) {
      const agent = view.agentOf(u.nodeId);
      if (agent) await this.o.agents.unmarkDraining(agent.agentId);
      const { [u.nodeId]: _gone, ...rest } = this.state.draining;
      this.state = { ...this.state, draining: rest };
    }
    const now = this.o.clock.now();
    for (const d of plan.drain) {
      const agent = view.agentOf(d.nodeId);
      if (agent) this.o.agents.markDraining(agent.agentId);
      this.state = { ...this.state, draining: { ...this.state.draining, [d.nodeId]: now } };
      out.drained.push(d.nodeId);
      this.log.info({ nodeId: d.nodeId, reason: d.reason }, 'draining node');
    }
    // Draining too long: kill what still runs there (comes back 'lost', no retry spent).
    const { drainTimeout } = this.o.config().tick;
    for (const [id, since] of Object.entries(this.state.draining)) {
      const agent = view.agentOf(id);
      if (agent && now - since > drainTimeout && !this.o.agents.isEmpty(agent.agentId))
        await this.o.agents
          .forceDrain(agent.agentId)
          .catch((e: unknown) => this.log.warn({ err: coerceError(e), nodeId: id }, 'force drain failed'));
    }
    // Terminate: only nodes that are marked and empty *after* the mark, or never registered.
    const toTerminate: string[] = [];
    for (const t of plan.terminate) {
      const agent = view.agentOf(t.nodeId);
      if (agent) {
        this.o.agents.markDraining(agent.agentId);
        if (!this.o.agents.isEmpty(agent.agentId)) {
          this.log.info({ nodeId: t.nodeId }, 'not terminating: a task is still on it');
          this.state = {
            ...this.state,
            draining: { ...this.state.draining, [t.nodeId]: this.state.draining[t.nodeId] ?? now },
          };
          continue;
        }
      }
      toTerminate.push(t.nodeId);
      this.log.info({ nodeId: t.nodeId, reason: t.reason }, 'terminating node');
    }
    if (toTerminate.length > 0) {
      const ok = await this.call(
        queue,
        'terminate',
        async () => {
          await this.o.provisioner.terminate(toTerminate);
          return true;
        },
        out.errors,
        out.plan,
      );
      if (ok !== undefined) {
        for (const id of toTerminate) this.forget(id);
        out.terminated.push(...toTerminate);
      }
    }
    if (!this.launching) return false;
    if (plan.launch.length > 0 && this.pausedUntil > now) {
      this.log.debug({ pausedUntil: this.pausedUntil }, 'launches paused after a fatal launch error');
      return false;
    }
    let unavailable = false;
    const shortfalls: LaunchShortfall[] = [];
    await Promise.all(
      plan.launch.map(async (l) => {
        const r = await this.launch(queue, l, out);
        if (r === 'unavailable') {
          unavailable = true;
          shortfalls.push({ instanceType: l.instanceType, capacityType: l.capacityType, count: l.count });
        } else if (r < l.count && l.capacityType === 'spot')
          shortfalls.push({ instanceType: l.instanceType, capacityType: l.capacityType, count: l.count - r });
      }),
    );
    this.shortfall = shortfalls;
    return unavailable;
  }

  private shortfall: LaunchShortfall[] = [];

  private async launch(
    queue: PQueue,
    l: LaunchAction,
    out: { plan: number; launched: string[]; launches: TickLaunch[]; errors: TickError[] },
  ): Promise<number | 'unavailable'> {
    const key = offeringKey(l.instanceType, l.zone, l.capacityType);
    const bid = l.capacityType === 'spot' ? this.bidOf(l.instanceType) : undefined;
    const pending: PendingLaunch = {
      clientToken: randomUUID(),
      instanceType: l.instanceType,
      zone: l.zone,
      capacityType: l.capacityType,
      count: l.count,
      requestedAt: this.o.clock.now(),
      ...(bid !== undefined ? { maxPrice: bid } : {}),
    };
    // Written before it is sent: a leader killed mid-call re-sends the same token and adopts.
    this.state = { ...this.state, pendingLaunches: [...this.state.pendingLaunches, pending] };
    await this.o.store.save(this.state);
    let result;
    try {
      result = await this.callOrThrow(queue, 'launch', () =>
        this.o.provisioner.launch({
          offering: {
            instanceType: l.instanceType,
            zone: l.zone,
            market: l.capacityType,
            // Toil's type:bid is the spot MaxPrice; without one EC2 caps at on-demand.
            ...(bid !== undefined ? { maxPrice: bid } : {}),
          },
          count: l.count,
          clientToken: pending.clientToken,
        }),
      );
    } catch (e) {
      const err = coerceError(e);
      // A typed error means the cloud said no; anything else (a lost reply) may have launched,
      // so the intent stays and the next tick re-sends it with the same token.
      if (err instanceof ToilError)
        this.state = {
          ...this.state,
          pendingLaunches: this.state.pendingLaunches.filter((p) => p.clientToken !== pending.clientToken),
        };
      const code = err instanceof ToilError ? err.code : 'UNKNOWN';
      out.errors.push({
        action: `launch ${l.count}×${l.instanceType}/${l.capacityType}`,
        code,
        message: err.message,
        plan: out.plan,
        offering: key,
        ...(err instanceof ToilError ? { disposition: err.disposition } : {}),
      });
      if (err instanceof ToilError && (err.disposition === 'fatal' || err.disposition === 'user')) {
        this.backOffFatal(err, key);
        return 0;
      }
      if (err instanceof ToilError && err.disposition === 'unavailable') {
        const until = this.o.clock.now() + this.o.config().tick.unavailableFor;
        this.state = { ...this.state, unavailable: { ...this.state.unavailable, [key]: until } };
        this.log.warn(
          { offering: key, code },
          'no capacity for this offering; marked unavailable and re-planning',
        );
        return 'unavailable';
      }
      this.log.error({ err, offering: key }, 'launch failed');
      return 0;
    }
    out.launches.push({
      plan: out.plan,
      offering: key,
      capacityType: l.capacityType,
      asked: l.count,
      got: result.nodes.length,
    });
    for (const n of result.nodes) {
      this.own(n.instanceId, n.launchTime || pending.requestedAt, l.pricePerHour, l.capacityType === 'spot');
      out.launched.push(n.instanceId);
    }
    this.state = {
      ...this.state,
      pendingLaunches: this.state.pendingLaunches.filter((p) => p.clientToken !== pending.clientToken),
    };
    this.log.info(
      {
        instanceType: l.instanceType,
        capacityType: l.capacityType,
        asked: l.count,
        got: result.nodes.length,
        reason: l.reason,
      },
      'launched nodes',
    );
    return result.nodes.length;
  }

  /**
   * A launch the cloud refused for a reason retrying cannot fix: the offering (or, when no other
   * offering could avoid it, every launch) is backed off for `tick.fatalBackoff`, so the loop does
   * not hammer the API every tick; the error is logged at error level once per distinct error and
   * listed in /status with a count.
   */
  private backOffFatal(err: ToilError, offering: string): void {
    const now = this.o.clock.now();
    const until = now + this.o.config().tick.fatalBackoff;
    const scope = CLUSTER_WIDE_FATAL.has(err.code) ? 'all' : offering;
    if (scope === 'all') this.pausedUntil = until;
    else this.backedOff.set(offering, until);
    const id = `${err.code}\u0000${scope}\u0000${err.message}`;
    const seen = this.fatal.get(id);
    if (seen) {
      seen.count++;
      seen.lastAt = now;
      seen.backedOffUntil = until;
      this.log.debug({ code: err.code, scope, count: seen.count }, 'the same fatal launch error again');
      return;
    }
    this.fatal.set(id, {
      code: err.code,
      message: err.message,
      scope,
      firstAt: now,
      lastAt: now,
      count: 1,
      backedOffUntil: until,
    });
    this.log.error(
      { code: err.code, scope, backedOffUntil: new Date(until).toISOString(), message: err.message },
      scope === 'all'
        ? 'launch failed for good: every launch paused (fix the cause; shown in /status)'
        : 'launch failed for good: offering backed off (fix the cause; shown in /status)',
    );
  }

  /** Runs a provisioner call on the queue, retrying 'retry' errors with backoff; undefined on failure. */
  private async call<T>(
    queue: PQueue,
    operation: string,
    fn: () => Promise<T>,
    errors: TickError[],
    plan: number,
  ): Promise<T | undefined> {
    try {
      return await this.callOrThrow(queue, operation, fn);
    } catch (e) {
      const err = coerceError(e);
      errors.push({
        action: operation,
        code: err instanceof ToilError ? err.code : 'UNKNOWN',
        message: err.message,
        plan,
      });
      this.log.error({ err, operation }, 'provisioner call failed');
      return undefined;
    }
  }

  private async callOrThrow<T>(queue: PQueue, operation: string, fn: () => Promise<T>): Promise<T> {
    const { maxAttempts } = this.o.config().tick;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = (await queue.add(fn, { signal: this.abort.signal })) as T;
        this.o.metrics?.provisionerCalls.inc({ operation, result: 'ok' });
        return r;
      } catch (e) {
        const err = coerceError(e);
        const code = err instanceof ToilError ? err.code : isAbortError(err) ? 'ABORTED' : 'UNKNOWN';
        this.o.metrics?.provisionerCalls.inc({ operation, result: code });
        const retry = err instanceof ToilError && err.disposition === 'retry' && attempt < maxAttempts;
        if (!retry || this.abort.signal.aborted) throw err;
        const delay = Math.min(30_000, 500 * 2 ** (attempt - 1));
        this.log.warn({ operation, code, attempt, delayMs: delay }, 'provisioner call failed; retrying');
        await this.o.clock.sleep(delay, this.abort.signal);
      }
    }
  }

  private queueFor(tick: TickConfig): PQueue {
    if (
      !this.queue ||
      this.queue.concurrency !== tick.concurrency ||
      this.queueRate !== tick.callsPerSecond
    ) {
      // p-queue's interval cap runs on real timers; it only spaces calls, never decides anything.
      this.queue = new PQueue({
        concurrency: tick.concurrency,
        intervalCap: Math.max(1, Math.floor(tick.callsPerSecond)),
        interval: 1000,
      });
      this.queueRate = tick.callsPerSecond;
    }
    return this.queue;
  }

  private queueRate = 0;

  // -------------------------------------------------------------------------------------------
  // State

  private own(id: string, launchedAt: number, pricePerHour: number, spot: boolean): void {
    this.state = {
      ...this.state,
      owned: { ...this.state.owned, [id]: { launchedAt, pricePerHour, ...(spot ? { spot } : {}) } },
    };
  }

  private forget(id: string): void {
    const { [id]: _o, ...owned } = this.state.owned;
    const { [id]: _d, ...draining } = this.state.draining;
    const { [id]: _b, ...lastBusyAt } = this.state.lastBusyAt;
    this.state = { ...this.state, owned, draining, lastBusyAt };
  }

  private learnRuntimes(): void {
    const done = this.o.workload.takeCompletions?.() ?? [];
    if (done.length === 0) return;
    let runtimes = this.state.runtimes;
    for (const c of done) runtimes = recordRuntime(runtimes, c.name, c.seconds);
    this.state = { ...this.state, runtimes };
  }

  private accrueCost(tickStart: number): void {
    const last = this.lastTickAt ?? tickStart;
    const hours = Math.max(0, tickStart - last) / 3_600_000;
    const perHour = Object.values(this.state.owned).reduce((s, o) => s + o.pricePerHour, 0);
    this.state = { ...this.state, costDollars: this.state.costDollars + perHour * hours };
  }

  private priceOf(instanceType: string, capacity: CapacityType): number {
    const { scaler } = this.o.config();
    for (const nt of scaler.nodeTypes)
      for (const it of nt.instanceTypes)
        if (it.name === instanceType)
          return capacity === 'spot' && nt.bid !== undefined
            ? Math.min(nt.bid, it.onDemandPrice)
            : it.onDemandPrice;
    return 0;
  }

  /** The bid configured for a spot instance type (Toil's `type:bid`), if any. */
  private bidOf(instanceType: string): number | undefined {
    for (const nt of this.o.config().scaler.nodeTypes)
      if (
        nt.capacityType === 'spot' &&
        nt.bid !== undefined &&
        nt.instanceTypes.some((t) => t.name === instanceType)
      )
        return nt.bid;
    return undefined;
  }

  /** The shortfall of spot launches in the last tick (toil-classic compensates next tick). */
  get lastShortfall(): readonly LaunchShortfall[] {
    return this.shortfall;
  }
}

/** One tick's observation, and the snapshot the policy sees. */
export class ClusterView {
  readonly now: number;
  readonly nodes: readonly ProvisionedNode[];
  readonly agents: readonly ClusterAgent[];
  readonly queued: readonly QueuedJob[];
  readonly running: readonly RunningOnAgent[];
  private readonly agentByNode = new Map<string, ClusterAgent>();
  private readonly nodeByAgent = new Map<string, string>();

  constructor(
    now: number,
    nodes: readonly ProvisionedNode[],
    agents: readonly ClusterAgent[],
    queued: readonly QueuedJob[],
    running: readonly RunningOnAgent[],
  ) {
    this.now = now;
    this.nodes = nodes;
    this.agents = agents;
    this.queued = queued;
    this.running = running;
    for (const n of nodes) {
      const agent =
        agents.find((a) => a.instanceId === n.instanceId) ??
        (n.privateIp
          ? agents.find((a) => a.instanceId === undefined && a.hostname === n.privateIp)
          : undefined);
      if (agent) {
        this.agentByNode.set(n.instanceId, agent);
        this.nodeByAgent.set(agent.agentId, n.instanceId);
      }
    }
  }

  agentOf(nodeId: string): ClusterAgent | undefined {
    return this.agentByNode.get(nodeId);
  }

  runningOn(nodeId: string): number {
    return this.agentByNode.get(nodeId)?.runningJobIds.length ?? 0;
  }

  existing(state: TickState): ExistingNode[] {
    return this.nodes
      .filter((n) => n.state === 'pending' || n.state === 'running')
      .map((n) => {
        const agent = this.agentByNode.get(n.instanceId);
        const owned = state.owned[n.instanceId];
        const draining = state.draining[n.instanceId] !== undefined;
        return {
          id: n.instanceId,
          instanceType: n.instanceType,
          zone: n.zone,
          capacityType: n.market,
          state: draining ? 'draining' : agent ? 'registered' : 'booting',
          launchedAt: owned?.launchedAt ?? n.launchTime,
          ...(agent ? { registeredAt: owned?.launchedAt ?? n.launchTime } : {}),
          // Nodes no leader of ours launched (launch-cluster -w N) are static.
          ...(owned ? {} : { static: true }),
          ...(state.lastBusyAt[n.instanceId] !== undefined
            ? { lastBusyAt: state.lastBusyAt[n.instanceId] }
            : {}),
          ...(owned ? { pricePerHour: owned.pricePerHour } : {}),
        } satisfies ExistingNode;
      });
  }

  /**
   * `spot.prices`: observed spot prices, merged with the unavailable offerings. `spot.doomed`:
   * nodes about to be reclaimed (an interruption notice): left out, and the jobs running there
   * planned as queued work, so their replacement is planned now.
   */
  snapshot(
    state: TickState,
    lastShortfall: readonly LaunchShortfall[] = [],
    spot: { prices?: readonly OfferingState[]; doomed?: ReadonlySet<string> } = {},
  ): Parameters<typeof planScaling>[0] {
    const doomed = spot.doomed ?? new Set<string>();
    const running: RunningJob[] = [];
    const requeued: QueuedJob[] = [];
    for (const r of this.running) {
      const nodeId = this.nodeByAgent.get(r.agentId);
      if (!nodeId) continue;
      const { agentId: _a, ...rest } = r;
      if (doomed.has(nodeId)) {
        const { startedAt: _s, ...job } = rest;
        requeued.push(job);
      } else running.push({ ...rest, nodeId });
    }
    const byKey = new Map<string, OfferingState>();
    for (const p of spot.prices ?? []) byKey.set(offeringKey(p.instanceType, p.zone, p.capacityType), p);
    for (const [key, until] of Object.entries(state.unavailable)) {
      const [instanceType = '', zone = '', capacityType = 'on-demand'] = key.split('/');
      byKey.set(key, {
        ...byKey.get(key),
        instanceType,
        zone,
        capacityType: capacityType as CapacityType,
        unavailableUntil: until,
      });
    }
    return {
      now: this.now,
      queued: requeued.length > 0 ? [...this.queued, ...requeued] : this.queued,
      running,
      nodes: this.existing(state).filter((n) => !doomed.has(n.id)),
      offerings: [...byKey.values()],
      runtimes: state.runtimes,
      lastShortfall,
      ...(state.smoothing ? { state: state.smoothing } : {}),
    };
  }
}

/** The instance types of the configured spot node types (whose prices the feed reads). */
function spotInstanceTypes(config: ScalerConfig): string[] {
  return config.nodeTypes
    .filter((nt) => nt.capacityType === 'spot')
    .flatMap((nt) => nt.instanceTypes.map((t) => t.name));
}
