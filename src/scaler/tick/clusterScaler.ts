import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { ClusterPort } from '../../ports/cluster.js';
import { ToilError, coerceError } from '../../common/errors.js';
import type {
  AgentInstance,
  InterruptionNotice,
  ProvisionedNode,
  Provisioner,
} from '../../ports/provisioner.js';
import type { ScalerConfig } from '../config.js';
import { spotPricedOut } from '../offerings.js';
import { planScaling } from '../policy.js';
import { SpotPriceFeed, type ObservedSpotPrice, type SpotPriceFeedStatus } from '../spotPriceFeed.js';
import type { LaunchShortfall, ScalingPlan } from '../types.js';
import { PlanExecutor, type TickSettings } from './act.js';
import { ProvisionerCalls } from './calls.js';
import { ClusterView, type ObservedNode } from './clusterView.js';
import {
  staticNeverRegistered,
  staticNeverRegisteredWarning,
  staticWorkers,
  staticWorkersNotice,
  unownedNodes,
  unownedWarning,
} from './unownedNodes.js';
import { readHeartbeat } from '../../ports/leaderHeartbeat.js';
import { judgeForeign, retirementLine, type ForeignMark, type RetiredNode } from './deadLeaders.js';
import { LeaderHeartbeat } from './heartbeat.js';
import { FatalBackoffs, type FatalLaunchError } from './fatalBackoff.js';
import { exportBootBackoffs, exportClusterGauges, exportDesiredNodes, type TickMetrics } from './metrics.js';
import { priceOfNode } from './nodePrice.js';
import { NoticeWatcher } from './noticeWatcher.js';
import { noticeLine, type NoticedNode } from './noticeLine.js';
import { observe, type TickEvent } from './observe.js';
import { PlanLog } from './planLog.js';
import { stoppedLine, stoppedOfOurs, stoppedReason } from './stoppedNodes.js';
import { ReportHistory, emptyOutcome, type GoneNode, type TickOutcome, type TickReport } from './report.js';
import {
  accrueCost,
  accrueStaticWorkersCost,
  emptyTickState,
  forget,
  type TickState,
  type TickStateStore,
} from './state.js';

/**
 * The cluster scaler: one observe → plan → act → persist pass per `tick()`, Karpenter-style. The
 * daemon calls it every scaleInterval and soon after the queue changes.
 *
 * - Observe (observe.ts, pure): the cluster's instances (Provisioner), the agents and our jobs
 *   (ClusterPort), what the last tick asked for (TickState) → the state brought up to date.
 * - Plan: the scaler's pure `planScaling`.
 * - Act (act.ts): an executor over the plan; provisioner calls go through one retry layer
 *   (calls.ts). An offering without capacity is marked and the plan is made again in the same
 *   tick (so on-demand compensation follows at once), up to three plans.
 * - Persist: a launch is written (with its client token) before it is sent; the rest after the tick.
 *
 * The config is read once, at the start of a tick. `dryRun()` observes and plans on a copy of the
 * state and changes nothing: no state, no metric, no report.
 */
export interface ClusterScalerOptions {
  readonly provisioner: Provisioner;
  readonly cluster: ClusterPort;
  readonly store: TickStateStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: TickMetrics;
  /** The config in force; read once per tick. */
  readonly config: () => TickSettings;
  readonly onReport?: (report: TickReport) => void;
  /** Makes this leader's id on its first start (default: a random UUID). */
  readonly newLeaderId?: () => string;
}

/** At most this many plans per tick (a re-plan follows an offering found unavailable). */
const MAX_PLANS = 3;

export class ClusterScaler {
  private readonly o: ClusterScalerOptions;
  private readonly log: Logger;
  private readonly calls: ProvisionerCalls;
  private readonly fatal: FatalBackoffs;
  private readonly history = new ReportHistory();
  private readonly planLog: PlanLog;
  private state: TickState = emptyTickState();
  private lastReport: TickReport | undefined;
  private lastTickAt: number | undefined;
  /** Up to when the owned nodes' cost is in the state (unset until the first tick or restore). */
  private accruedTo: number | undefined;
  private shortfall: readonly LaunchShortfall[] = [];
  private launching = true;
  private seq = 0;
  private observedJobs = { queued: 0, running: 0 };
  private observedNodes: ObservedNode[] = [];
  /** The instance behind each agent (by agent id or host), as the last tick saw them. */
  private instanceOfAgent: (agent: string) => string | undefined = () => undefined;
  /** The worker instances the last tick listed (the notice watcher finds their agents by address). */
  private listedNodes: readonly ProvisionedNode[] = [];
  /** Instances of the cluster not ours that the log has named already (each is named once). */
  private readonly unownedTold = new Set<string>();
  /** Static instances the log has warned of as never registered (each is warned of once). */
  private readonly unregisteredTold = new Set<string>();
  /** What the leader mark on each instance not ours said at the last tick. */
  private foreignMarks = new Map<string, ForeignMark>();
  private readonly heartbeat: LeaderHeartbeat;
  /** Instances retired because their leader stopped beating, oldest first (the newest 50). */
  private readonly retiredNodes: (RetiredNode & { readonly at: number; readonly reason: string })[] = [];
  private readonly spot: SpotPriceFeed;
  /** tick.spotPriceRefresh of the tick in progress (the feed reads it; config once per tick). */
  private spotRefreshMs: number;

  constructor(options: ClusterScalerOptions) {
    this.o = options;
    this.log = options.log.child({ component: 'scaler-tick' });
    this.calls = new ProvisionerCalls({
      clock: options.clock,
      log: this.log,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    this.fatal = new FatalBackoffs(this.log);
    this.heartbeat = new LeaderHeartbeat({
      provisioner: options.provisioner,
      calls: this.calls,
      clock: options.clock,
      log: this.log,
    });
    this.planLog = new PlanLog(this.log);
    this.spotRefreshMs = options.config().tick.spotPriceRefresh;
    this.spot = new SpotPriceFeed({
      source: options.provisioner,
      clock: options.clock,
      log: options.log,
      refreshMs: () => this.spotRefreshMs,
    });
  }

  /** One observe → plan → act → persist pass. Resolves with how long to wait before the next. */
  async tick(): Promise<{ requeueAfterMs: number; report: TickReport }> {
    const started = this.o.clock.now();
    const cfg = this.o.config();
    this.spotRefreshMs = cfg.tick.spotPriceRefresh;
    // Nodes this tick terminates or finds gone have cost what they cost until now.
    this.accrue(cfg);
    this.state = this.withLeaderId(this.state);
    const out = emptyOutcome();
    const notices: NoticedNode[] = [];
    const exec = this.executor(cfg, out);
    if (exec.state.pendingLaunches.length > 0) {
      const adopted = await exec.resolvePendingLaunches();
      out.launched.push(...adopted);
      // Their mark is the one their launch first carried, perhaps old: renewed before anything else.
      if (adopted.length > 0) {
        const beatError = await this.heartbeat.beat(cfg.tick, this.leaderId, Object.keys(exec.state.owned));
        if (beatError) out.errors.push(beatError);
      }
    }
    this.fatal.expire(started);
    let plan: ScalingPlan | undefined;
    /** The plan as the finally block sees it (reading `plan` there would widen its type after). */
    let planMade: ScalingPlan | undefined;
    let plans = 0;
    try {
      for (;;) {
        const view = await this.view(cfg, {
          dryRun: false,
          takeEvents: plans === 0,
          ...(plans === 0
            ? {
                retire: async (nodes) =>
                  this.terminateStopped(
                    cfg,
                    await this.retireDeadLeadersNodes(cfg, nodes, exec.state, out),
                    exec.state,
                    out,
                  ),
              }
            : {}),
        });
        const observed = observe(exec.state, view);
        exec.state = observed.state;
        this.declareLost(observed.events);
        if (plans === 0) out.gone.push(...goneNodes(observed.events, out.stopped));
        this.observedJobs = { queued: view.queued.length, running: view.running.length };
        const spot = this.spot.view();
        this.observedNodes = view.observedNodes(exec.state, (n) => priceOfNode(cfg.scaler, n, spot));
        this.instanceOfAgent = (agent) => view.nodeOfAgent(agent);
        this.tellUnowned(cfg.scaler);
        notices.push(...this.announce(observed.events));
        if (this.o.metrics) exportClusterGauges(this.o.metrics, this.observedNodes, view, this.spot.view());
        const planStart = this.o.clock.now();
        plan = planScaling(this.snapshotOf(view, exec.state), cfg.scaler);
        planMade = plan;
        plans++;
        this.o.metrics?.planDuration.observe((this.o.clock.now() - planStart) / 1000);
        exec.state = { ...exec.state, smoothing: plan.state };
        this.planLog.write(plan);
        if (this.o.metrics) {
          exportDesiredNodes(this.o.metrics, plan, view, exec.state);
          exportBootBackoffs(this.o.metrics, plan, this.o.clock.now());
        }
        const acted = await exec.act(plan, view, plans, this.launching);
        this.shortfall = acted.shortfalls;
        if (!acted.unavailable || plans >= MAX_PLANS) break;
        this.log.info({ plans }, 'an offering had no capacity; planning again in this tick');
      }
    } finally {
      // What was done stays done, even when a later step of the tick failed.
      this.state = exec.state;
      // After the plan and its launches: the line says what they did for the noticed nodes' jobs.
      this.tellNotices(notices, planMade, out);
      // After the launches, so an instance adopted or launched unmarked in this tick is marked in
      // this tick; and even when the tick failed (the cluster manager unreachable, say): this
      // leader still lives.
      const beatError = await this.heartbeat.beat(cfg.tick, this.leaderId, Object.keys(this.state.owned));
      if (beatError) out.errors.push(beatError);
    }
    // The nodes launched in this tick are charged their billing minimum at once.
    this.accrue(cfg);
    await this.o.store.save(this.state);
    const report: TickReport = {
      seq: ++this.seq,
      at: started,
      durationMs: this.o.clock.now() - started,
      plan,
      plans,
      ...out,
      spotPrices: this.spot.view(),
      spotPriceFeed: this.spot.status(),
      interruptionNotices: notices.map((n) => n.nodeId),
    };
    this.lastReport = report;
    this.history.add(report);
    this.lastTickAt = this.o.clock.now();
    this.o.metrics?.ticks.inc({ result: out.errors.length ? 'error' : 'ok' });
    this.o.metrics?.nodesDrained.inc(out.drained.length);
    this.o.metrics?.nodesTakenBack.inc(out.takenBack.length);
    this.o.onReport?.(report);
    return { requeueAfterMs: cfg.scaler.scaleIntervalSeconds * 1000, report };
  }

  /**
   * Reads the spot interruption notices every `tick.noticePoll` until `signal` aborts: a new one
   * has its node kept from new jobs at once and calls `onNotice` (the daemon wakes a tick, which
   * records and counts it and plans the replacement). See NoticeWatcher.
   */
  watchNotices(signal: AbortSignal, onNotice: () => void): Promise<void> {
    return new NoticeWatcher({
      provisioner: this.o.provisioner,
      cluster: this.o.cluster,
      calls: this.calls,
      clock: this.o.clock,
      log: this.log,
      tick: () => this.o.config().tick,
      recorded: () => new Set(Object.keys(this.state.noticed ?? {})),
      addressOf: (id) =>
        this.state.owned[id]?.privateIp ?? this.listedNodes.find((n) => n.instanceId === id)?.privateIp,
      onNotice,
    }).run(signal);
  }

  /** A dry run: the plan for the cluster as it is now, on a copy of the state. Changes nothing. */
  async dryRun(): Promise<ScalingPlan> {
    const cfg = this.o.config();
    const view = await this.view(cfg, { dryRun: true, takeEvents: false });
    const { state } = observe(this.state, view);
    return planScaling(this.snapshotOf(view, state), cfg.scaler);
  }

  /**
   * Loads what a previous leader persisted and adopts its instances: launches that were asked for
   * and not answered are re-sent with the same client token (the cloud returns the instances of
   * the first request rather than launching more), and their instances join `owned`. Owned ids no
   * longer in the cloud are forgotten. Adopted nodes count as busy now: how long they sat idle
   * while no leader ran proves nothing, since the workflows being resumed have not issued their
   * jobs again yet (the first tick would otherwise drain the very nodes those jobs need).
   */
  async restore(): Promise<{ adopted: string[]; forgotten: string[] }> {
    const cfg = this.o.config();
    const exec = this.executor(cfg, emptyOutcome());
    exec.state = this.withLeaderId(withoutBootFailures((await this.o.store.load()) ?? emptyTickState()));
    const adopted = await exec.resolvePendingLaunches();
    // A stopped node stays owned: the first tick terminates it rather than forgetting it.
    const nodes = await this.calls.run(
      cfg.tick,
      'listNodes',
      () => this.o.provisioner.listNodes({ role: 'worker', includeStopped: true }),
      {
        queued: false,
      },
    );
    const live = new Set(nodes.map((n) => n.instanceId));
    const forgotten = Object.keys(exec.state.owned).filter((id) => !live.has(id));
    this.state = forgotten.reduce(forget, exec.state);
    adopted.push(...Object.keys(this.state.owned).filter((id) => !adopted.includes(id)));
    // Beaten at once, not at the first tick: the marks on what it adopts are as old as the last
    // beat before the restart (or the launch), and another leader of the cluster retires an
    // instance whose mark is stale.
    if (adopted.length > 0) await this.heartbeat.beat(cfg.tick, this.leaderId, Object.keys(this.state.owned));
    const now = this.o.clock.now();
    this.state = {
      ...this.state,
      lastBusyAt: { ...this.state.lastBusyAt, ...Object.fromEntries(adopted.map((id) => [id, now])) },
    };
    await this.o.store.save(this.state);
    this.log.info(
      { adopted: adopted.length, forgotten: forgotten.length, leaderId: this.state.leaderId },
      "adopted the last leader's instances",
    );
    return { adopted, forgotten };
  }

  /**
   * Terminates every node this leader launched (a stopping leader that releases its nodes), through
   * the tick's retry layer, and forgets them: the nodes it owns, and those of launches it never
   * heard back from (an answer lost, a call cut short by the stop), which carry its mark from
   * their launch. Those launches are done with then; a launch that went unmarked stays pending,
   * for a restart to adopt what it made.
   */
  async releaseOwned(): Promise<string[]> {
    const tick = this.o.config().tick;
    const owned = Object.keys(this.state.owned);
    const unadopted = await this.unadopted(tick);
    const ids = [...owned, ...(unadopted ?? [])];
    if (unadopted !== undefined)
      this.state = {
        ...this.state,
        pendingLaunches: this.state.pendingLaunches.filter((p) => !p.leaderBeat),
      };
    if (ids.length === 0) return [];
    this.log.info(
      { nodes: ids.length, ...(unadopted?.length ? { unadopted } : {}) },
      'releasing every node this leader launched',
    );
    await this.removeFromClusterManager(
      ids.map((id) => ({ id, privateIp: this.state.owned[id]?.privateIp })),
    );
    await this.calls.run(tick, 'terminate', () => this.o.provisioner.terminate(ids));
    this.accrue(this.o.config());
    this.state = owned.reduce(forget, this.state);
    return ids;
  }

  /**
   * Worker instances marked with this leader's id that it does not own: made by a launch whose
   * answer it never got. Undefined when the listing failed (said; the owned nodes go all the same).
   */
  private async unadopted(tick: TickSettings['tick']): Promise<string[] | undefined> {
    const me = this.state.leaderId;
    if (!me) return [];
    try {
      const nodes = await this.calls.run(
        tick,
        'listNodes',
        () => this.o.provisioner.listNodes({ role: 'worker', includeStopped: true }),
        {
          queued: false,
        },
      );
      return nodes
        .filter((n) => !this.state.owned[n.instanceId] && readHeartbeat(n.tags)?.leaderId === me)
        .map((n) => n.instanceId);
    } catch (e) {
      this.log.warn(
        { err: coerceError(e) },
        'could not list the cluster for instances of launches this leader never heard back from; they ' +
          'carry its mark, so another leader of the cluster retires them once it is stale',
      );
      return undefined;
    }
  }

  /** The cluster manager forgets these nodes (Slurm: deleted from slurmctld), as at scale-in. */
  private async removeFromClusterManager(
    nodes: readonly { id: string; privateIp: string | undefined }[],
  ): Promise<void> {
    const agents = await this.o.cluster.read().then(
      (r) => r.agents,
      () => [],
    );
    for (const { id, privateIp: ip } of nodes) {
      const agent =
        agents.find((a) => a.instanceId === id) ??
        (ip ? agents.find((a) => a.instanceId === undefined && a.hostname === ip) : undefined);
      if (agent)
        await this.o.cluster
          .removeNode(agent.agentId)
          .catch((e: unknown) =>
            this.log.warn({ err: coerceError(e), nodeId: id }, 'the cluster manager did not remove its node'),
          );
    }
  }

  /** This leader's id (see TickState.leaderId). */
  get leaderId(): string {
    return this.state.leaderId ?? '';
  }

  private withLeaderId(state: TickState): TickState {
    return state.leaderId ? state : { ...state, leaderId: (this.o.newLeaderId ?? randomUUID)() };
  }

  /**
   * Judges the worker instances of the cluster no leader of ours launched by their leader mark
   * (deadLeaders.ts) and retires those whose leader stopped beating, unless
   * `tick.retireDeadLeadersNodes` is false: each is logged, removed from the cluster manager and
   * terminated through the tick's retry layer. Resolves with the nodes still there.
   */
  private async retireDeadLeadersNodes(
    cfg: TickSettings,
    nodes: readonly ProvisionedNode[],
    state: TickState,
    out: ReturnType<typeof emptyOutcome>,
  ): Promise<ProvisionedNode[]> {
    const now = this.o.clock.now();
    const marks = new Map<string, ForeignMark>();
    const retiring: RetiredNode[] = [];
    for (const n of nodes) {
      if (n.role !== 'worker' || state.owned[n.instanceId]) continue;
      const mark = judgeForeign(n, now, cfg.tick);
      // An instance marked with our own id and not owned is ours from a launch not yet adopted.
      if (mark.kind !== 'unmarked' && mark.beat.leaderId === state.leaderId) continue;
      marks.set(n.instanceId, mark);
      if (mark.kind === 'stopped' && cfg.tick.retireDeadLeadersNodes)
        retiring.push({
          id: n.instanceId,
          instanceType: n.instanceType,
          market: n.market,
          pricePerHour: priceOfNode(cfg.scaler, { ...n, capacityType: n.market }).pricePerHour,
          launchedAt: n.launchTime,
          leaderId: mark.beat.leaderId,
          lastBeatAt: mark.beat.at,
          beatEveryMs: mark.beat.everyMs,
        });
    }
    this.foreignMarks = marks;
    if (retiring.length === 0) return [...nodes];
    for (const r of retiring)
      this.log.warn(
        {
          nodeId: r.id,
          instanceType: r.instanceType,
          leaderId: r.leaderId,
          lastBeatAt: new Date(r.lastBeatAt),
        },
        retirementLine(r, now, cfg.tick),
      );
    const ids = retiring.map((r) => r.id);
    await this.removeFromClusterManager(
      ids.map((id) => ({ id, privateIp: nodes.find((n) => n.instanceId === id)?.privateIp })),
    );
    if (!(await this.terminateOrSay(cfg, ids, 'retire', "a gone leader's instances", out))) return [...nodes];
    out.retired.push(...ids);
    for (const r of retiring) {
      this.retiredNodes.push({ ...r, at: now, reason: retirementLine(r, now, cfg.tick) });
      this.unownedTold.delete(r.id);
    }
    this.retiredNodes.splice(0, Math.max(0, this.retiredNodes.length - 50));
    return nodes.filter((n) => !ids.includes(n.instanceId));
  }

  /**
   * Terminates the stopped instances of ours (stoppedNodes.ts), each said in one log line and
   * in the tick's report, through the tick's retry layer. They stay in the listing as stopped, so
   * observing finds them gone and declares their jobs lost in this tick; a failed call is tried
   * again next tick.
   */
  private async terminateStopped(
    cfg: TickSettings,
    nodes: readonly ProvisionedNode[],
    state: TickState,
    out: ReturnType<typeof emptyOutcome>,
  ): Promise<ProvisionedNode[]> {
    const stopped = stoppedOfOurs(nodes, state);
    if (stopped.length === 0) return [...nodes];
    for (const n of stopped)
      this.log.warn({ nodeId: n.instanceId, instanceType: n.instanceType, state: n.state }, stoppedLine(n));
    const ids = stopped.map((n) => n.instanceId);
    if (!(await this.terminateOrSay(cfg, ids, 'terminate', 'stopped instances of ours', out)))
      return [...nodes];
    out.terminated.push(...ids);
    out.stopped.push(...stopped.map((n) => ({ nodeId: n.instanceId, reason: stoppedReason(n) })));
    return [...nodes];
  }

  /**
   * Terminates `ids` before the plan, through the tick's retry layer; false when that failed,
   * which is said (a warning, an error of the tick as `action`): the next tick tries again.
   */
  private async terminateOrSay(
    cfg: TickSettings,
    ids: readonly string[],
    action: string,
    what: string,
    out: ReturnType<typeof emptyOutcome>,
  ): Promise<boolean> {
    try {
      await this.calls.run(cfg.tick, 'terminate', () => this.o.provisioner.terminate(ids));
      return true;
    } catch (e) {
      const err = coerceError(e);
      this.log.warn({ err, nodes: ids }, `could not ${action} ${what}; tried again next tick`);
      out.errors.push({
        action,
        code: err instanceof ToilError ? err.code : 'UNKNOWN',
        message: err.message,
        plan: 1,
      });
      return false;
    }
  }

  /** What the leader mark on each worker instance not ours said at the last tick. */
  get leaderMarks(): ReadonlyMap<string, ForeignMark> {
    return this.foreignMarks;
  }

  /** Instances this leader retired because their leader stopped beating, oldest first. */
  get retired(): readonly (RetiredNode & { readonly at: number; readonly reason: string })[] {
    return this.retiredNodes;
  }

  /**
   * A stop that keeps this leader's nodes (`shutdown.releaseNodes: false`): marks them kept, so
   * other leaders of the cluster do not retire them when its heartbeat stops (heartbeat.ts).
   */
  async keepOwned(): Promise<void> {
    await this.heartbeat.keep(this.o.config().tick, this.leaderId, Object.keys(this.state.owned));
  }

  /** Stop launching (SIGTERM): later ticks still drain and terminate, never launch. */
  stopLaunching(): void {
    this.launching = false;
  }

  /** Aborts in-flight retries (a second signal). */
  abortInFlight(): void {
    this.calls.abortAll();
  }

  /** Resolves when no provisioner call is in flight. */
  async idle(): Promise<void> {
    await this.calls.idle();
  }

  /** What the tick persists (for the status page and tests). */
  get persisted(): TickState {
    return this.state;
  }

  get report(): TickReport | undefined {
    return this.lastReport;
  }

  get lastCompletedAt(): number | undefined {
    return this.lastTickAt;
  }

  /** The last ticks that launched, drained, terminated or failed a call, oldest first. */
  get recentReports(): readonly TickReport[] {
    return this.history.reports;
  }

  /** Distinct fatal launch errors seen by this leader, oldest first. */
  get fatalErrors(): readonly FatalLaunchError[] {
    return this.fatal.errors;
  }

  /** Until when every launch is paused after a fatal error no offering avoids (0: not paused). */
  get launchesPausedUntil(): number {
    return this.fatal.pausedUntil;
  }

  /** The nodes as the last tick observed them, with their price and our tasks on each. */
  get nodes(): readonly ObservedNode[] {
    return this.observedNodes;
  }

  /**
   * The instance an agent (its id or host) runs on, as the last tick saw it, and when it is
   * reclaimed if it had a spot interruption notice: what a job's loss there names.
   */
  nodeOfAgent(agent: string): AgentInstance | undefined {
    const id = this.instanceOfAgent(agent);
    const node = id === undefined ? undefined : this.observedNodes.find((n) => n.id === id);
    if (!node) return undefined;
    const reclaimAt = this.state.noticed?.[node.id];
    return {
      instanceId: node.id,
      instanceType: node.instanceType,
      market: node.capacityType,
      ...(reclaimAt !== undefined ? { reclaimAt } : {}),
    };
  }

  /** Worker instances of the cluster this leader did not launch, as the last tick saw them. */
  get unowned(): readonly ObservedNode[] {
    return unownedNodes(this.observedNodes);
  }

  private tellUnowned(scaler: ScalerConfig): void {
    const { retireStaticNodes } = scaler;
    const now = this.o.clock.now();
    if (!retireStaticNodes) {
      const stuck = staticNeverRegistered(this.observedNodes, now, scaler.bootTimeoutSeconds).filter(
        (n) => !this.unregisteredTold.has(n.id),
      );
      for (const n of stuck) this.unregisteredTold.add(n.id);
      if (stuck.length > 0)
        this.log.warn(
          { instances: stuck.map((n) => n.id) },
          staticNeverRegisteredWarning(stuck, now, scaler.bootTimeoutSeconds),
        );
    }
    const workers = staticWorkers(this.observedNodes).filter((n) => !this.unownedTold.has(n.id));
    for (const n of workers) this.unownedTold.add(n.id);
    if (workers.length > 0)
      this.log.info(
        { instances: workers.map((n) => n.id) },
        staticWorkersNotice(workers, this.o.clock.now(), retireStaticNodes),
      );
    const all = unownedNodes(this.observedNodes);
    const fresh = all.filter((n) => !this.unownedTold.has(n.id));
    if (fresh.length === 0) return;
    for (const n of fresh) this.unownedTold.add(n.id);
    const message = unownedWarning(fresh, all, this.o.clock.now(), retireStaticNodes, this.foreignMarks);
    this.log.warn({ instances: fresh.map((n) => n.id) }, message);
  }

  /** Observed spot prices with their age, and how the last read went (for /status). */
  get spotPrices(): { prices: ObservedSpotPrice[]; feed: SpotPriceFeedStatus } {
    return { prices: this.spot.view(), feed: this.spot.status() };
  }

  /** Our jobs queued and running as the last tick saw them. */
  get jobs(): { readonly queued: number; readonly running: number } {
    return this.observedJobs;
  }

  /** The shortfall of spot launches in the last tick (toil-classic compensates next tick). */
  get lastShortfall(): readonly LaunchShortfall[] {
    return this.shortfall;
  }

  /**
   * Adds the owned nodes' cost since the last accrual, priced by the policy's billing rule, and
   * the static workers' (launch-cluster --workers) that the last tick saw, per second while this
   * leader ran: the run works on them, though it neither launched them nor ends them.
   */
  private accrue(cfg: TickSettings): void {
    const now = this.o.clock.now();
    const from = this.accruedTo ?? now;
    // The owned nodes ran on while no leader did (killed, restarting): counted from the last
    // accrual saved, or the cost so far left out the downtime of every node a restart adopted.
    const ownedFrom = this.accruedTo ?? this.state.costAccruedTo ?? now;
    this.state = accrueCost(this.state, ownedFrom, now, cfg.scaler.billingMinimumSeconds);
    this.state = accrueStaticWorkersCost(this.state, staticWorkers(this.observedNodes), from, now);
    this.state = { ...this.state, costAccruedTo: now };
    this.accruedTo = now;
  }

  private executor(cfg: TickSettings, out: ReturnType<typeof emptyOutcome>): PlanExecutor {
    const { provisioner, cluster, store, clock } = this.o;
    return new PlanExecutor(
      {
        provisioner,
        cluster,
        store,
        clock,
        log: this.log,
        calls: this.calls,
        fatal: this.fatal,
        markForLaunch: () => this.heartbeat.forLaunch(cfg.tick, this.leaderId),
        launchedMarked: (ids) => this.heartbeat.markedAtLaunch(ids),
      },
      cfg,
      this.state,
      out,
    );
  }

  /**
   * The cluster now. A dry run reads without the tick's retry layer (whose counters are metrics),
   * plans on the spot prices read last (a refresh is the tick's) and leaves the batch systems'
   * events for the next tick.
   */
  private refreshSpotPrices(config: ScalerConfig): Promise<void> {
    const { types, zones } = spotPricesToRead(config, this.observedNodes);
    // A spot offering priced out waits for its market to fall: read again every scaleInterval
    // then, not after the whole tick.spotPriceRefresh, so its nodes launch within a scaler pass
    // of the fall, as Toil's do (Toil asks EC2 for them at every pass).
    const sooner = spotPricedOut(config, this.spot.offerings())
      ? config.scaleIntervalSeconds * 1000
      : undefined;
    return this.spot.refreshIfDue(types, zones, sooner);
  }

  private async view(
    cfg: TickSettings,
    options: {
      dryRun: boolean;
      takeEvents: boolean;
      /** Retires what it must of the listed nodes, resolving with the nodes left. */
      retire?: (nodes: readonly ProvisionedNode[]) => Promise<ProvisionedNode[]>;
    },
  ): Promise<ClusterView> {
    const now = this.o.clock.now();
    // Stopped instances too: one of ours is terminated (stoppedNodes.ts), not lost from sight.
    const listNodes = (): Promise<ProvisionedNode[]> =>
      this.o.provisioner.listNodes({ role: 'worker', includeStopped: true });
    const [listed, reading, notices] = await Promise.all([
      options.dryRun ? listNodes() : this.calls.run(cfg.tick, 'listNodes', listNodes, { queued: false }),
      this.o.cluster.read(),
      this.interruptionNotices(!options.dryRun),
      options.dryRun ? undefined : this.refreshSpotPrices(cfg.scaler),
    ]);
    const nodes = options.retire ? await options.retire(listed) : listed;
    if (!options.dryRun) this.listedNodes = nodes;
    return new ClusterView(
      now,
      nodes,
      reading,
      options.takeEvents ? this.o.cluster.takeEvents() : [],
      notices,
      options.dryRun ? new Map() : await this.goneReasons(listed),
    );
  }

  /**
   * Why the cloud ended the nodes of ours the listing no longer shows (EC2 lists gone instances
   * only when asked, for about an hour): read once, in the tick that misses them, so a spot node
   * terminated by someone else is not counted as reclaimed. Unread (an error) is no reason.
   */
  private async goneReasons(listed: readonly ProvisionedNode[]): Promise<Map<string, string>> {
    const seen = new Set(listed.map((n) => n.instanceId));
    const missing = new Set(Object.keys(this.state.owned).filter((id) => !seen.has(id)));
    if (missing.size === 0) return new Map();
    try {
      const all = await this.o.provisioner.listNodes({ role: 'worker', includeTerminated: true });
      return new Map(
        all.flatMap((n) =>
          missing.has(n.instanceId) && n.stateReason ? [[n.instanceId, n.stateReason]] : [],
        ),
      );
    } catch (e) {
      this.log.warn({ err: coerceError(e) }, 'could not read why nodes of ours ended');
      return new Map();
    }
  }

  /** The cloud's spot interruption notices; none when they cannot be read (a warning, in a tick). */
  private async interruptionNotices(warn: boolean): Promise<InterruptionNotice[]> {
    try {
      return await this.o.provisioner.interruptionNotices();
    } catch (e) {
      if (warn) this.log.warn({ err: coerceError(e) }, 'could not read spot interruption notices');
      return [];
    }
  }

  /** What the policy sees: the view with observed spot prices, noticed nodes already gone. */
  private snapshotOf(view: ClusterView, state: TickState): ReturnType<ClusterView['snapshot']> {
    return view.snapshot(this.planningState(state), this.shortfall, this.spot.offerings());
  }

  /** The state the policy sees: persisted unavailability plus this leader's fatal backoffs. */
  private planningState(state: TickState): TickState {
    return { ...state, unavailable: this.fatal.withBackoffs(state.unavailable, this.o.clock.now()) };
  }

  /**
   * The jobs on nodes seen gone are lost now: the batch systems report them 'lost' before this
   * returns, so the workflows issue them again in this tick (no retry spent), and the queue
   * change wakes the next tick to plan their capacity.
   */
  private declareLost(events: readonly TickEvent[]): void {
    for (const e of events) {
      if (e.kind !== 'spotInterrupted' && e.kind !== 'nodeGone' && e.kind !== 'agentGone') continue;
      if (e.agentId === undefined) continue;
      const why =
        e.kind === 'agentGone'
          ? `its agent ${e.agentId} lost touch with the cluster manager`
          : `its node ${e.nodeId} is gone (${e.kind === 'spotInterrupted' ? 'spot reclaimed' : `stopped or terminated${e.kind === 'nodeGone' && e.reason ? `: ${e.reason}` : ''}`})`;
      const jobs = this.o.cluster.nodeLost(e.agentId, `lost: ${why}`);
      if (jobs.length > 0)
        this.log.warn(
          { nodeId: e.nodeId, agentId: e.agentId, jobs: jobs.length },
          `${jobs.length} job(s) lost: ${why}; issued again now`,
        );
    }
  }

  /** One warning per node whose interruption notice this tick saw first: see noticeLine. */
  private tellNotices(
    notices: readonly NoticedNode[],
    plan: ScalingPlan | undefined,
    out: TickOutcome,
  ): void {
    const tick = { plan, launches: out.launches, errors: out.errors, launching: this.launching };
    const launched = out.launches.flatMap((l) => l.instanceIds);
    for (const n of notices)
      this.log.warn(
        {
          nodeId: n.nodeId,
          terminateAt: new Date(n.terminateAt).toISOString(),
          runningJobs: n.runningJobs,
          launched,
        },
        noticeLine(n, this.o.clock.now(), tick),
      );
  }

  /**
   * Logs and counts what observe found; resolves with the nodes whose interruption notice is new,
   * told once the tick has planned and launched for their jobs (noticeLine.ts).
   */
  private announce(events: readonly TickEvent[]): NoticedNode[] {
    const noticed: NoticedNode[] = [];
    for (const e of events)
      if (e.kind === 'spotInterrupted') {
        this.o.metrics?.spotInterruptions.inc();
        this.log.warn({ nodeId: e.nodeId }, 'a spot node of ours was reclaimed');
      } else if (e.kind === 'nodeGone')
        this.log.warn(
          { nodeId: e.nodeId, reason: e.reason },
          `a node of ours was stopped or terminated by someone else${e.reason ? ` (${e.reason})` : ''}`,
        );
      else if (e.kind === 'taskLost')
        this.log.info({ jobId: e.jobId, job: e.name, agentId: e.agentId }, 'a job was lost with its node');
      else if (e.kind === 'interruptionNotice') {
        this.o.metrics?.spotNotices.inc();
        const node = this.observedNodes.find((n) => n.id === e.nodeId);
        noticed.push({
          nodeId: e.nodeId,
          terminateAt: e.terminateAt,
          runningJobs: e.runningJobs,
          ...(node ? { instanceType: node.instanceType, market: node.capacityType } : {}),
        });
      }
    return noticed;
  }
}

/**
 * The nodes of ours observe found gone without our asking, for /status; not those of ours this
 * tick terminated because someone stopped them (`stopped`: a terminate decision already).
 */
function goneNodes(events: readonly TickEvent[], stopped: readonly { nodeId: string }[]): GoneNode[] {
  return events.flatMap((e) => {
    if (e.kind === 'spotInterrupted') return [{ nodeId: e.nodeId, reason: 'spot reclaimed' }];
    if (e.kind !== 'nodeGone' || stopped.some((s) => s.nodeId === e.nodeId)) return [];
    return [
      {
        nodeId: e.nodeId,
        reason: `stopped or terminated by someone else${e.reason ? ` (${e.reason})` : ''}`,
      },
    ];
  });
}

/**
 * The spot prices to read: the configured spot types' in the configured zones (what the policy
 * plans with), and those of the static spot workers seen at the last tick, whatever their type and
 * zone, so that such a node (launch-cluster -w of a type the run does not configure) is priced at
 * what it bills rather than at on-demand. The policy only ever plans the configured offerings.
 */
function spotPricesToRead(
  config: ScalerConfig,
  nodes: readonly ObservedNode[],
): { types: string[]; zones: string[] } {
  const types = new Set(spotInstanceTypes(config));
  const zones = new Set(config.zones);
  for (const n of nodes)
    if (n.static === true && n.capacityType === 'spot') {
      types.add(n.instanceType);
      zones.add(n.zone);
    }
  return { types: [...types], zones: [...zones] };
}

/** The instance types of the configured spot node types (whose prices the feed reads). */
function spotInstanceTypes(config: ScalerConfig): string[] {
  return config.nodeTypes
    .filter((nt) => nt.capacityType === 'spot')
    .flatMap((nt) => nt.instanceTypes.map((t) => t.name));
}

/**
 * The state without the runs of nodes that never registered: as with a launch refused for good
 * (FatalBackoffs), restarting the leader (or `toil run --restart`) is how an operator says "fixed,
 * try again", so it neither sits out an old backoff nor stops at the next failure.
 */
function withoutBootFailures(state: TickState): TickState {
  if (!state.smoothing?.bootFailures) return state;
  const { bootFailures: _, ...smoothing } = state.smoothing;
  return { ...state, smoothing };
}
