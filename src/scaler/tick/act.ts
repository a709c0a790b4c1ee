import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { ToilError, coerceError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ClusterPort } from '../../ports/cluster.js';
import type { LeaderBeat } from '../../ports/leaderHeartbeat.js';
import type { LaunchRequest, ProvisionedNode, Provisioner } from '../../ports/provisioner.js';
import type { ScalerConfig } from '../config.js';
import { rootVolumeOf } from '../rootVolumes.js';
import type { CapacityType, LaunchAction, LaunchShortfall, ScalingPlan } from '../types.js';
import type { ProvisionerCalls } from './calls.js';
import { rebalanceRecommended, type ClusterView } from './clusterView.js';
import type { TickConfig } from './config.js';
import type { FatalBackoffs } from './fatalBackoff.js';
import type { TickOutcome } from './report.js';
import {
  addPending,
  dropPending,
  forget,
  markDrainingSince,
  offeringKey,
  own,
  unmarkDraining,
  type PendingLaunch,
  type TickState,
  type TickStateStore,
} from './state.js';

/** The config one tick runs with: read once at its start, so a reload mid-tick changes nothing in it. */
export interface TickSettings {
  readonly scaler: ScalerConfig;
  readonly tick: TickConfig;
}

export interface ActDeps {
  readonly provisioner: Provisioner;
  readonly cluster: ClusterPort;
  readonly calls: ProvisionerCalls;
  readonly store: TickStateStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly fatal: FatalBackoffs;
  /** The leader's mark for launches, if it may write one (heartbeat.ts). */
  readonly markForLaunch?: () => Promise<LeaderBeat | undefined>;
  /** Told of instances launched with the mark in their tags. */
  readonly launchedMarked?: (ids: readonly string[]) => void;
}

/** The code a launch error is reported under when it is not one of ours (a bug): fatal, shown once. */
export const UNTYPED_ERROR = 'UNTYPED_ERROR';

/** The hourly price the config gives an offering (a spot bid caps it). */
export function priceOf(scaler: ScalerConfig, instanceType: string, capacity: CapacityType): number {
  for (const nt of scaler.nodeTypes)
    for (const it of nt.instanceTypes)
      if (it.name === instanceType)
        return capacity === 'spot' && nt.bid !== undefined
          ? Math.min(nt.bid, it.onDemandPrice)
          : it.onDemandPrice;
  return 0;
}

/** The bid configured for a spot instance type (Toil's `type:bid`), if any. */
export function bidOf(scaler: ScalerConfig, instanceType: string): number | undefined {
  for (const nt of scaler.nodeTypes)
    if (
      nt.capacityType === 'spot' &&
      nt.bid !== undefined &&
      nt.instanceTypes.some((t) => t.name === instanceType)
    )
      return nt.bid;
  return undefined;
}

/**
 * The launch call for a launch intent; a re-send carries the same parameters. Toil's type:bid is
 * the spot MaxPrice; without one EC2 caps at the on-demand price.
 */
function launchRequest(p: PendingLaunch): LaunchRequest {
  return {
    offering: {
      instanceType: p.instanceType,
      zone: p.zone,
      market: p.capacityType,
      ...(p.maxPrice !== undefined ? { maxPrice: p.maxPrice } : {}),
      ...(p.rootVolumeGiB !== undefined ? { rootVolumeGiB: p.rootVolumeGiB } : {}),
    },
    count: p.count,
    clientToken: p.clientToken,
    ...(p.leaderBeat ? { leaderBeat: p.leaderBeat } : {}),
  };
}

/**
 * The act step: an executor over one plan. It decides nothing the plan did not say, except what
 * the cluster forces: a node with a task on it after its drain mark is not terminated, and a node
 * draining past `tick.drainTimeout` is drained by force. Errors go by disposition: 'retry' was
 * retried by `ProvisionerCalls`; 'unavailable' marks the offering so the tick plans again;
 * 'fatal', 'user' and untyped errors back the offering (or every launch) off and surface once.
 *
 * The state it changes is `this.state`; the tick takes it back when the plan is done.
 */
export class PlanExecutor {
  state: TickState;
  private readonly d: ActDeps;
  private readonly cfg: TickSettings;
  private readonly out: TickOutcome;

  constructor(deps: ActDeps, cfg: TickSettings, state: TickState, out: TickOutcome) {
    this.d = deps;
    this.cfg = cfg;
    this.state = state;
    this.out = out;
  }

  /**
   * Runs one plan. Resolves with the spot launches that came short and whether an offering was
   * unavailable (then the tick plans again).
   */
  async act(
    plan: ScalingPlan,
    view: ClusterView,
    planNo: number,
    launching: boolean,
  ): Promise<{ unavailable: boolean; shortfalls: LaunchShortfall[] }> {
    this.keepNoticedDraining(view);
    // Preemptable work the plan put on spot waits for spot room, not on-demand room (rule 6).
    this.d.cluster.keepPreemptableOnSpot?.(
      plan.preemptableStaysOnSpot === true,
      new Set(plan.preemptableWaitsForSpot),
      new Set(plan.preemptableOnOnDemand),
    );
    this.keepOff(plan, view);
    await this.undrainAndDrain(plan, view);
    await this.forceDrainOverdue(view);
    await this.terminate(plan, view, planNo);
    if (!launching) return { unavailable: false, shortfalls: [] };
    const now = this.d.clock.now();
    if (plan.launch.length > 0 && this.d.fatal.pausedUntil > now) {
      this.d.log.debug(
        { pausedUntil: this.d.fatal.pausedUntil },
        'launches paused after a fatal launch error',
      );
      return { unavailable: false, shortfalls: [] };
    }
    let unavailable = false;
    const shortfalls: LaunchShortfall[] = [];
    const leaderBeat = plan.launch.length > 0 ? await this.d.markForLaunch?.() : undefined;
    await Promise.all(
      plan.launch.map(async (l) => {
        const r = await this.launch(l, planNo, leaderBeat);
        if (r === 'unavailable') {
          unavailable = true;
          shortfalls.push({ instanceType: l.instanceType, capacityType: l.capacityType, count: l.count });
        } else if (r < l.count && l.capacityType === 'spot')
          shortfalls.push({ instanceType: l.instanceType, capacityType: l.capacityType, count: l.count - r });
      }),
    );
    return { unavailable, shortfalls };
  }

  /**
   * A node with a spot interruption notice stays marked draining, every tick: an agent that
   * registers after the notice is marked too. The node is left for the cloud to reclaim. A node
   * with a rebalance recommendation is marked as well (no new task lands there), but it is not
   * draining for the scaler: its jobs finish and it retires as any idle node does.
   */
  private keepNoticedDraining(view: ClusterView): void {
    const ids = [
      ...Object.keys(this.state.noticed ?? {}),
      ...view.nodes.filter(rebalanceRecommended).map((n) => n.instanceId),
    ];
    for (const id of ids) {
      const agent = view.agentOf(id);
      if (agent) this.d.cluster.markDraining(agent.agentId);
    }
  }

  /** The plan's keep-off hints, by agent (a node not registered with an agent has nothing to keep off). */
  private keepOff(plan: ScalingPlan, view: ClusterView): void {
    if (!this.d.cluster.keepOff) return;
    const byAgent = new Map<string, ReadonlySet<string>>();
    for (const h of plan.keepOff ?? []) {
      const agent = view.agentOf(h.nodeId);
      if (agent) byAgent.set(agent.agentId, new Set(h.requests));
    }
    this.d.cluster.keepOff(byAgent);
  }

  /** Undrain and drain first: they are local marks (no cloud call), race-free by contract. */
  private async undrainAndDrain(plan: ScalingPlan, view: ClusterView): Promise<void> {
    for (const u of plan.undrain) {
      const agent = view.agentOf(u.nodeId);
      if (agent) await this.d.cluster.unmarkDraining(agent.agentId);
      this.state = unmarkDraining(this.state, u.nodeId);
      this.out.takenBack.push(u.nodeId);
      // Said as the drain was: without it a node logged as draining goes on taking work unexplained.
      this.d.log.info({ nodeId: u.nodeId, reason: u.reason }, 'node taken back from draining');
    }
    const now = this.d.clock.now();
    for (const d of plan.drain) {
      const agent = view.agentOf(d.nodeId);
      if (agent) this.d.cluster.markDraining(agent.agentId);
      this.state = { ...this.state, draining: { ...this.state.draining, [d.nodeId]: now } };
      this.out.drained.push(d.nodeId);
      this.d.log.info({ nodeId: d.nodeId, reason: d.reason }, 'draining node');
    }
  }

  /** Draining too long: kill what still runs there (it comes back 'lost', no retry spent). */
  private async forceDrainOverdue(view: ClusterView): Promise<void> {
    const now = this.d.clock.now();
    for (const [id, since] of Object.entries(this.state.draining)) {
      const agent = view.agentOf(id);
      if (agent && now - since > this.cfg.tick.drainTimeout && !this.d.cluster.isEmpty(agent.agentId))
        await this.d.cluster
          .forceDrain(agent.agentId)
          .catch((e: unknown) => this.d.log.warn({ err: coerceError(e), nodeId: id }, 'force drain failed'));
    }
  }

  /** Terminates only nodes that are marked and empty *after* the mark, or never registered. */
  private async terminate(plan: ScalingPlan, view: ClusterView, planNo: number): Promise<void> {
    const now = this.d.clock.now();
    const ids: string[] = [];
    for (const t of plan.terminate) {
      const agent = view.agentOf(t.nodeId);
      if (agent) {
        this.d.cluster.markDraining(agent.agentId);
        if (!this.d.cluster.isEmpty(agent.agentId)) {
          this.d.log.info({ nodeId: t.nodeId }, 'not terminating: a task is still on it');
          this.state = markDrainingSince(this.state, t.nodeId, now);
          continue;
        }
        try {
          await this.d.cluster.removeNode(agent.agentId);
        } catch (e) {
          this.d.log.warn(
            { err: coerceError(e), nodeId: t.nodeId, agentId: agent.agentId },
            'not terminating: the cluster manager did not remove its node',
          );
          this.state = markDrainingSince(this.state, t.nodeId, now);
          continue;
        }
      }
      ids.push(t.nodeId);
      this.d.log.info({ nodeId: t.nodeId, reason: t.reason }, 'terminating node');
    }
    if (ids.length === 0) return;
    try {
      await this.d.calls.run(this.cfg.tick, 'terminate', () => this.d.provisioner.terminate(ids));
    } catch (e) {
      const err = coerceError(e);
      this.out.errors.push({
        action: 'terminate',
        code: err instanceof ToilError ? err.code : UNTYPED_ERROR,
        message: err.message,
        plan: planNo,
      });
      this.d.log.error({ err, operation: 'terminate' }, 'provisioner call failed');
      return;
    }
    for (const id of ids) this.state = forget(this.state, id);
    this.out.terminated.push(...ids);
  }

  /**
   * A launch mark past half of the window after which another leader (judging as this one does)
   * takes it for a dead leader's: an instance born with it now could be judged stale soon after.
   */
  private markTooOldToResend(beat: LeaderBeat): boolean {
    const { leaderHeartbeatMisses, leaderClockSkew } = this.cfg.tick;
    return this.d.clock.now() - beat.at >= (beat.everyMs * leaderHeartbeatMisses + leaderClockSkew) / 2;
  }

  /**
   * One launch: written (with its client token) before it is sent, so a leader killed mid-call
   * re-sends the same token and adopts what the first call made.
   */
  private async launch(
    l: LaunchAction,
    planNo: number,
    leaderBeat: LeaderBeat | undefined,
  ): Promise<number | 'unavailable'> {
    const key = offeringKey(l.instanceType, l.zone, l.capacityType);
    const bid = l.capacityType === 'spot' ? bidOf(this.cfg.scaler, l.instanceType) : undefined;
    const rootVolumeGiB = rootVolumeOf(this.cfg.scaler, l.instanceType);
    const pending: PendingLaunch = {
      clientToken: randomUUID(),
      instanceType: l.instanceType,
      zone: l.zone,
      capacityType: l.capacityType,
      count: l.count,
      requestedAt: this.d.clock.now(),
      ...(bid !== undefined ? { maxPrice: bid } : {}),
      ...(rootVolumeGiB !== undefined ? { rootVolumeGiB } : {}),
      ...(leaderBeat ? { leaderBeat } : {}),
    };
    this.state = addPending(this.state, pending);
    await this.d.store.save(this.state);
    let result;
    try {
      result = await this.d.calls.run(this.cfg.tick, 'launch', () =>
        this.d.provisioner.launch(launchRequest(pending)),
      );
    } catch (e) {
      return this.launchFailed(coerceError(e), l, key, pending, planNo);
    }
    this.out.launches.push({
      plan: planNo,
      offering: key,
      capacityType: l.capacityType,
      asked: l.count,
      got: result.nodes.length,
      instanceIds: result.nodes.map((n) => n.instanceId),
    });
    if (leaderBeat) this.d.launchedMarked?.(result.nodes.map((n) => n.instanceId));
    for (const n of result.nodes) {
      this.state = own(
        this.state,
        n.instanceId,
        {
          launchedAt: n.launchTime || pending.requestedAt,
          pricePerHour: l.pricePerHour,
          spot: l.capacityType === 'spot',
        },
        this.cfg.scaler.billingMinimumSeconds,
      );
      this.out.launched.push(n.instanceId);
    }
    this.state = dropPending(this.state, pending.clientToken);
    this.d.log.info(
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

  private launchFailed(
    err: Error,
    l: LaunchAction,
    key: string,
    pending: PendingLaunch,
    planNo: number,
  ): number | 'unavailable' {
    const typed = err instanceof ToilError ? err : undefined;
    // Only a call whose answer may have been lost ('retry', its tries spent) may have launched: its
    // intent stays and the next tick re-sends it with the same token. Any other typed error is the
    // cloud's "no"; an untyped one is a bug of ours before anything was sent. Their intent goes.
    if (typed?.disposition !== 'retry') this.state = dropPending(this.state, pending.clientToken);
    const code = typed ? typed.code : UNTYPED_ERROR;
    this.out.errors.push({
      action: `launch ${l.count}×${l.instanceType}/${l.capacityType}`,
      code,
      message: err.message,
      plan: planNo,
      offering: key,
      disposition: typed ? typed.disposition : 'fatal',
    });
    const now = this.d.clock.now();
    if (!typed || typed.disposition === 'fatal' || typed.disposition === 'user') {
      const cloudCode = typed?.details.cloudCode;
      this.d.fatal.record(
        {
          code,
          message: err.message,
          ...(typeof cloudCode === 'string' ? { cloudCode } : {}),
          ...(typed ? {} : { cause: err }),
        },
        key,
        now,
        this.cfg.tick.fatalBackoff,
      );
      return 0;
    }
    if (typed.disposition === 'unavailable') {
      this.state = {
        ...this.state,
        unavailable: { ...this.state.unavailable, [key]: now + this.cfg.tick.unavailableFor },
      };
      this.d.log.warn(
        { offering: key, code },
        'no capacity for this offering; marked unavailable and re-planning',
      );
      return 'unavailable';
    }
    this.d.log.error({ err, offering: key }, 'launch failed; the next tick asks again with the same token');
    return 0;
  }

  /**
   * Re-sends launches whose answer never came (a lost reply, a crash) with their client token:
   * the cloud answers with the instances of the first request, which become ours. Resolves with
   * the instances adopted; the caller beats on them at once.
   *
   * A launch marked with this leader's heartbeat must carry that same mark when re-sent (a client
   * token's parameters may not change), so one re-sent after a long restart would make, if its
   * first call never reached EC2, an instance born with a stale mark, which another leader of
   * the cluster could retire before this one's first beat. Such a launch (its mark past half its
   * staleness window) is not re-sent: what its first call made, if anything, is found by its
   * client token among the cluster's live instances and adopted; nothing found, it never
   * launched (or what it made is gone), and it is dropped: the plan launches anew, with a fresh
   * mark and a new token, what the work still needs. Never sent again, its old token cannot
   * launch a second set; the first call, from a process long gone or a call long failed, cannot
   * arrive later; and half the window (8.5 min with the default settings) is far longer than
   * EC2 takes to list an instance it launched.
   */
  async resolvePendingLaunches(): Promise<string[]> {
    const adopted: string[] = [];
    let listed: Promise<readonly ProvisionedNode[]> | undefined;
    const live = (): Promise<readonly ProvisionedNode[]> =>
      (listed ??= this.d.calls.run(
        this.cfg.tick,
        'listNodes',
        () => this.d.provisioner.listNodes({ role: 'worker', includeStopped: true }),
        { queued: false },
      ));
    for (const p of this.state.pendingLaunches) {
      const tooOld = p.leaderBeat !== undefined && this.markTooOldToResend(p.leaderBeat);
      let nodes: readonly ProvisionedNode[];
      try {
        nodes = tooOld
          ? (await live()).filter((n) => n.clientToken === p.clientToken)
          : (
              await this.d.calls.run(this.cfg.tick, 'launch', () =>
                this.d.provisioner.launch(launchRequest(p)),
              )
            ).nodes;
      } catch (e) {
        const err = coerceError(e);
        // Still no answer (or no listing to tell): keep asking with the token. Anything else ends the intent.
        if (!tooOld && !(err instanceof ToilError && err.disposition === 'retry'))
          this.state = dropPending(this.state, p.clientToken);
        this.d.log.warn(
          { err, clientToken: p.clientToken },
          tooOld
            ? 'an unanswered launch could not be looked for among the live instances; asked again next tick'
            : 'an unanswered launch failed when re-sent',
        );
        continue;
      }
      if (tooOld && nodes.length === 0)
        this.d.log.info(
          { clientToken: p.clientToken, instanceType: p.instanceType, count: p.count },
          'an unanswered launch whose mark is too old to send again made no live instance: dropped, ' +
            'the plan launches anew what the work still needs',
        );
      for (const n of nodes) {
        this.state = own(
          this.state,
          n.instanceId,
          {
            launchedAt: p.requestedAt,
            pricePerHour: priceOf(this.cfg.scaler, p.instanceType, p.capacityType),
            spot: p.capacityType === 'spot',
          },
          this.cfg.scaler.billingMinimumSeconds,
        );
        adopted.push(n.instanceId);
      }
      this.state = dropPending(this.state, p.clientToken);
    }
    return adopted;
  }
}
