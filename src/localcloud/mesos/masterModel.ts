/**
 * The local Mesos master's state and rules, apart from HTTP: agents, frameworks, offers, tasks,
 * the allocator, status-update forwarding and acknowledgement, reconciliation, draining and
 * marking gone — as mesos.md describes real Mesos doing them. The HTTP layer (masterServer.ts)
 * validates requests and turns them into calls here; streams are `EventSink`s.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { isTerminalTaskState } from '../../mesos/types.js';
import type {
  Attribute,
  FrameworkInfo,
  Resource,
  TaskInfo,
  TaskState,
  TaskStatus,
} from '../../mesos/types.js';
import {
  addBags,
  bagOf,
  containsBag,
  emptyBag,
  isEmptyBag,
  subtractBags,
  bagToResources,
  type ResourceBag,
} from './resourceBag.js';

/** A stream to one client (a framework's SUBSCRIBE, or an agent's registration). */
export interface EventSink {
  send(event: unknown): void;
  close(): void;
  readonly closed: boolean;
}

export type AgentLifecycle = 'registered' | 'recovered' | 'unreachable' | 'gone';

export interface AgentRecord {
  id: string;
  hostname: string;
  port: number;
  attributes: Attribute[];
  total: ResourceBag;
  version: string;
  capabilities: string[];
  registeredAtMs: number;
  reregisteredAtMs?: number;
  lifecycle: AgentLifecycle;
  connected: boolean;
  sink?: EventSink;
  lastPingMs: number;
  deactivated: boolean;
  drain?: { state: 'DRAINING' | 'DRAINED'; maxGraceNs?: bigint; markGone: boolean; startedMs: number };
  lifecycleSinceMs: number;
}

export interface TaskRecord {
  info: TaskInfo;
  id: string;
  frameworkId: string;
  agentId: string;
  resources: ResourceBag;
  state: TaskState;
  statuses: { state: TaskState; timestamp: number }[];
  /** The update the agent last sent and awaits an ACK for. */
  pendingUuid?: string;
  pendingState?: TaskState;
  unreachableSinceMs?: number;
}

export interface FrameworkRecord {
  id: string;
  info: FrameworkInfo;
  capabilities: Set<string>;
  streamId?: string;
  sink?: EventSink;
  connected: boolean;
  recovered: boolean;
  registeredAtMs: number;
  reregisteredAtMs?: number;
  unregisteredAtMs: number;
  suppressed: boolean;
  filters: Map<string, { untilMs: number; resources: ResourceBag }>;
  tasks: Map<string, TaskRecord>;
  unreachableTasks: Map<string, TaskRecord>;
  completedTasks: TaskRecord[];
  failoverTimer?: AbortController;
}

export interface OfferRecord {
  id: string;
  frameworkId: string;
  agentId: string;
  resources: ResourceBag;
}

export interface MasterConfig {
  hostname: string;
  port: number;
  clock: Clock;
  log: Logger;
  version: string;
  heartbeatIntervalSeconds: number;
  allocationIntervalMs: number;
  agentPingTimeoutMs: number;
  maxAgentPingTimeouts: number;
  agentReregisterTimeoutMs: number;
  /** Kill grace period when neither the KILL nor the task names one (the command executor's 3 s). */
  defaultKillGraceMs: number;
  registryPath?: string;
}

/** Thrown by operator calls; the HTTP layer writes `status` and `message` as text/plain. */
export class OperatorCallError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const MIN_ALLOCATABLE = { cpus: 0.01, mem: 32 };
const MAX_REFUSE_SECONDS = 365 * 24 * 3600;
const COMPLETED_TASKS_KEPT = 1000;

export class MasterModel {
  readonly id = randomUUID();
  readonly startMs: number;
  readonly config: MasterConfig;
  readonly agents = new Map<string, AgentRecord>();
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly completedFrameworks: FrameworkRecord[] = [];
  readonly removedFrameworkIds = new Set<string>();
  readonly offers = new Map<string, OfferRecord>();
  unreachableCount = 0;
  private nextAgent = 0;
  private nextFramework = 0;
  private nextOffer = 0;
  /** Tasks launched per agent since start, by framework (for tests: was a launch ever made here). */
  readonly launchLog: { taskId: string; agentId: string; frameworkId: string; atMs: number }[] = [];

  constructor(config: MasterConfig) {
    this.config = config;
    this.startMs = config.clock.now();
    this.loadRegistry();
  }

  get pid(): string {
    return `master@${this.config.hostname}:${this.config.port}`;
  }

  private get log(): Logger {
    return this.config.log;
  }

  private now(): number {
    return this.config.clock.now();
  }

  // ---- registry (agents survive a master restart, as Mesos' replicated log makes them) ------

  private loadRegistry(): void {
    const path = this.config.registryPath;
    if (!path || !fs.existsSync(path)) return;
    const saved = JSON.parse(fs.readFileSync(path, 'utf8')) as {
      agents: {
        id: string;
        hostname: string;
        port: number;
        attributes: Attribute[];
        gone: boolean;
        deactivated: boolean;
        drain?: SavedDrain;
      }[];
    };
    for (const a of saved.agents) {
      this.agents.set(a.id, {
        id: a.id,
        hostname: a.hostname,
        port: a.port,
        attributes: a.attributes,
        total: emptyBag(),
        version: this.config.version,
        capabilities: [],
        registeredAtMs: this.startMs,
        lifecycle: a.gone ? 'gone' : 'recovered',
        connected: false,
        lastPingMs: this.startMs,
        deactivated: a.deactivated,
        ...(a.drain ? { drain: savedDrain(a.drain) } : {}),
        lifecycleSinceMs: this.startMs,
      });
    }
  }

  private saveRegistry(): void {
    const path = this.config.registryPath;
    if (!path) return;
    const agents = [...this.agents.values()].map((a) => ({
      id: a.id,
      hostname: a.hostname,
      port: a.port,
      attributes: a.attributes,
      gone: a.lifecycle === 'gone',
      deactivated: a.deactivated,
      ...(a.drain ? { drain: { ...a.drain, maxGraceNs: a.drain.maxGraceNs?.toString() } } : {}),
    }));
    fs.writeFileSync(path, JSON.stringify({ agents }));
  }

  // ---- agents ---------------------------------------------------------------------------------

  /**
   * An agent (re-)registers. A known id keeps its identity (and its deactivation and drain); a
   * gone id is told to shut down; a fresh agent gets `<masterId>-S<n>`.
   */
  registerAgent(
    reg: {
      agentId?: string;
      hostname: string;
      port: number;
      resources: Resource[];
      attributes: Attribute[];
      version?: string;
      tasks?: { task: TaskInfo; framework: FrameworkInfo; state: TaskState }[];
    },
    sink: EventSink,
  ): AgentRecord | undefined {
    const now = this.now();
    const known = reg.agentId ? this.agents.get(reg.agentId) : undefined;
    if (known?.lifecycle === 'gone') {
      sink.send({ type: 'SHUTDOWN', message: 'Agent has been marked gone' });
      sink.close();
      return undefined;
    }
    let agent: AgentRecord;
    if (known || reg.agentId) {
      const old = known;
      agent = {
        id: reg.agentId!,
        hostname: reg.hostname,
        port: reg.port,
        attributes: reg.attributes,
        total: bagOf(reg.resources),
        version: reg.version ?? this.config.version,
        capabilities: agentCapabilities(),
        registeredAtMs: old?.registeredAtMs ?? now,
        reregisteredAtMs: now,
        lifecycle: 'registered',
        connected: true,
        sink,
        lastPingMs: now,
        deactivated: old?.deactivated ?? false,
        ...(old?.drain ? { drain: old.drain } : {}),
        lifecycleSinceMs: now,
      };
      if (old?.lifecycle === 'unreachable') this.unreachableCount = Math.max(0, this.unreachableCount - 1);
      if (old?.sink && old.sink !== sink) old.sink.close();
    } else {
      agent = {
        id: `${this.id}-S${this.nextAgent++}`,
        hostname: reg.hostname,
        port: reg.port,
        attributes: reg.attributes,
        total: bagOf(reg.resources),
        version: reg.version ?? this.config.version,
        capabilities: agentCapabilities(),
        registeredAtMs: now,
        lifecycle: 'registered',
        connected: true,
        sink,
        lastPingMs: now,
        deactivated: false,
        lifecycleSinceMs: now,
      };
    }
    this.agents.set(agent.id, agent);
    sink.send({
      type: 'REGISTERED',
      agent_id: agent.id,
      ping_interval_ms: this.config.agentPingTimeoutMs / 2,
    });
    const wasUnreachable = known?.lifecycle === 'unreachable';
    for (const t of reg.tasks ?? [])
      this.adoptReportedTask(agent, t.task, t.framework, t.state, wasUnreachable);
    this.saveRegistry();
    this.log.info({ agentId: agent.id, hostname: agent.hostname, reregistered: !!known }, 'agent registered');
    return agent;
  }

  /**
   * A task an agent reports on re-registration: keep it, revive it, or have it killed. Killed only
   * when the agent comes back from unreachable: the master then told its framework the task was
   * lost. After a master failover the new master never knew the task, whichever of the framework
   * and the agent comes back first: it is adopted (terminal ones too, so their unacknowledged
   * update is forwarded and acknowledged instead of dropped), as Mesos' master adds them.
   */
  private adoptReportedTask(
    agent: AgentRecord,
    task: TaskInfo,
    framework: FrameworkInfo,
    state: TaskState,
    agentWasUnreachable: boolean,
  ): void {
    const frameworkId = framework.id?.value;
    if (!frameworkId) return;
    let fw = this.frameworks.get(frameworkId);
    if (!fw) {
      if (this.removedFrameworkIds.has(frameworkId)) {
        agent.sink?.send({ type: 'KILL', task_id: task.task_id.value, grace_ms: 0 });
        return;
      }
      // Master failover: the framework is "recovered" until it re-subscribes (or its failover timeout passes).
      fw = this.newFramework(frameworkId, framework, { recovered: true });
      this.startFailoverTimer(fw);
    }
    const existing = fw.tasks.get(task.task_id.value) ?? fw.unreachableTasks.get(task.task_id.value);
    if (existing) {
      fw.unreachableTasks.delete(existing.id);
      existing.state = state;
      existing.agentId = agent.id;
      fw.tasks.set(existing.id, existing);
      return;
    }
    if ((fw.recovered && !fw.connected) || !agentWasUnreachable) {
      const rec = this.newTask(task, fw.id, agent.id, state);
      fw.tasks.set(rec.id, rec);
      return;
    }
    // The master already told the framework this task was lost: it must not run on.
    if (!isTerminalTaskState(state))
      agent.sink?.send({ type: 'KILL', task_id: task.task_id.value, grace_ms: 0 });
  }

  agentPing(agentId: string): boolean {
    const agent = this.agents.get(agentId);
    if (!agent || agent.lifecycle !== 'registered') return false;
    agent.lastPingMs = this.now();
    return true;
  }

  /** The agent's stream closed: disconnected (inactive, offers rescinded) until it returns or times out. */
  agentDisconnected(agentId: string, sink: EventSink): void {
    const agent = this.agents.get(agentId);
    if (!agent || agent.sink !== sink) return;
    agent.connected = false;
    agent.sink = undefined;
    this.rescindAgentOffers(agent.id);
    this.log.info({ agentId }, 'agent disconnected');
  }

  isAgentActive(agent: AgentRecord): boolean {
    return agent.lifecycle === 'registered' && agent.connected && !agent.deactivated;
  }

  /** Resources held by non-terminal tasks on the agent (a terminal task's leave at once). */
  usedOn(agentId: string): ResourceBag {
    let used = emptyBag();
    for (const fw of this.frameworks.values()) {
      for (const t of fw.tasks.values()) {
        if (t.agentId === agentId && !isTerminalTaskState(t.state)) used = addBags(used, t.resources);
      }
    }
    return used;
  }

  offeredOn(agentId: string): ResourceBag {
    let offered = emptyBag();
    for (const o of this.offers.values()) if (o.agentId === agentId) offered = addBags(offered, o.resources);
    return offered;
  }

  /** Tasks on the agent the master still tracks (non-terminal, or terminal and not yet acknowledged). */
  tasksOn(agentId: string): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const fw of this.frameworks.values())
      for (const t of fw.tasks.values()) if (t.agentId === agentId) out.push(t);
    return out;
  }

  // ---- periodic work --------------------------------------------------------------------------

  /** Health checks, drain progress and one allocation cycle. Called every allocation interval. */
  tick(): void {
    const now = this.now();
    for (const agent of this.agents.values()) {
      if (agent.lifecycle === 'registered') {
        const silentFor = now - agent.lastPingMs;
        if (silentFor > this.config.agentPingTimeoutMs * this.config.maxAgentPingTimeouts) {
          this.markUnreachable(agent, `health check timed out after ${silentFor} ms`);
        }
      } else if (
        agent.lifecycle === 'recovered' &&
        now - agent.lifecycleSinceMs > this.config.agentReregisterTimeoutMs
      ) {
        this.markUnreachable(agent, 'did not re-register after master failover');
      }
      if (
        agent.drain?.state === 'DRAINING' &&
        agent.lifecycle === 'registered' &&
        this.tasksOn(agent.id).length === 0
      ) {
        if (agent.drain.markGone) this.markGone(agent.id, 'drained');
        else {
          agent.drain.state = 'DRAINED';
          this.saveRegistry();
          this.log.info({ agentId: agent.id }, 'agent drained');
        }
      }
    }
    for (const fw of this.frameworks.values()) {
      for (const [agentId, f] of fw.filters) if (f.untilMs <= now) fw.filters.delete(agentId);
    }
    this.allocate();
  }

  private allocate(): void {
    for (const fw of this.frameworks.values()) {
      if (!fw.connected || fw.suppressed || !fw.sink) continue;
      const made: OfferRecord[] = [];
      for (const agent of this.agents.values()) {
        if (!this.isAgentActive(agent)) continue;
        if ([...this.offers.values()].some((o) => o.agentId === agent.id && o.frameworkId === fw.id))
          continue;
        const free = subtractBags(subtractBags(agent.total, this.usedOn(agent.id)), this.offeredOn(agent.id));
        const cpus = free.scalars['cpus'] ?? 0;
        const mem = free.scalars['mem'] ?? 0;
        if (cpus < MIN_ALLOCATABLE.cpus && mem < MIN_ALLOCATABLE.mem) continue;
        const filter = fw.filters.get(agent.id);
        if (filter && filter.untilMs > this.now() && containsBag(filter.resources, free)) continue;
        const offer: OfferRecord = {
          id: `${this.id}-O${this.nextOffer++}`,
          frameworkId: fw.id,
          agentId: agent.id,
          resources: free,
        };
        this.offers.set(offer.id, offer);
        made.push(offer);
      }
      if (made.length > 0)
        fw.sink.send({ type: 'OFFERS', offers: { offers: made.map((o) => this.offerJson(o, fw)) } });
    }
  }

  offerJson(o: OfferRecord, fw: FrameworkRecord): Record<string, unknown> {
    const agent = this.agents.get(o.agentId)!;
    const multiRole = fw.capabilities.has('MULTI_ROLE');
    const refined = fw.capabilities.has('RESERVATION_REFINEMENT');
    return {
      id: { value: o.id },
      framework_id: { value: fw.id },
      agent_id: { value: agent.id },
      hostname: agent.hostname,
      url: {
        scheme: 'http',
        address: { hostname: agent.hostname, ip: agent.hostname, port: agent.port },
        path: '/slave(1)',
      },
      resources: bagToResources(o.resources, {
        endpoint: !refined,
        ...(multiRole ? { allocationRole: '*' } : {}),
      }),
      ...(agent.attributes.length > 0 ? { attributes: agent.attributes } : {}),
      ...(multiRole ? { allocation_info: { role: '*' } } : {}),
    };
  }

  private rescindAgentOffers(agentId: string): void {
    for (const o of [...this.offers.values()]) {
      if (o.agentId !== agentId) continue;
      this.offers.delete(o.id);
      this.frameworks
        .get(o.frameworkId)
        ?.sink?.send({ type: 'RESCIND', rescind: { offer_id: { value: o.id } } });
    }
  }

  /** The agent stopped answering: its tasks are lost (or unreachable, for partition-aware frameworks). */
  markUnreachable(agent: AgentRecord, why: string): void {
    this.log.warn({ agentId: agent.id, why }, 'agent unreachable');
    agent.lifecycle = 'unreachable';
    agent.lifecycleSinceMs = this.now();
    agent.connected = false;
    agent.sink?.close();
    agent.sink = undefined;
    this.unreachableCount++;
    this.rescindAgentOffers(agent.id);
    for (const fw of this.frameworks.values()) {
      const partitionAware = fw.capabilities.has('PARTITION_AWARE');
      for (const t of [...fw.tasks.values()]) {
        if (t.agentId !== agent.id) continue;
        fw.tasks.delete(t.id);
        if (isTerminalTaskState(t.state)) {
          this.complete(fw, t);
          continue;
        }
        const state: TaskState = partitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST';
        this.setState(t, state);
        if (partitionAware) {
          t.unreachableSinceMs = this.now();
          fw.unreachableTasks.set(t.id, t);
        } else this.complete(fw, t);
        this.sendUpdate(
          fw,
          this.masterStatus(t, state, 'REASON_AGENT_REMOVED', `Agent ${agent.hostname} removed: ${why}`),
        );
      }
      fw.sink?.send({ type: 'FAILURE', failure: { agent_id: { value: agent.id } } });
    }
    this.saveRegistry();
  }

  // ---- operator calls -------------------------------------------------------------------------

  private knownAgent(agentId: string): AgentRecord {
    const agent = this.agents.get(agentId);
    if (!agent || agent.lifecycle === 'gone') throw new OperatorCallError(400, 'Unknown agent');
    return agent;
  }

  drainAgent(agentId: string, maxGraceNs: bigint | undefined, markGone: boolean): void {
    const agent = this.knownAgent(agentId);
    agent.deactivated = true;
    agent.drain = {
      state: 'DRAINING',
      ...(maxGraceNs !== undefined ? { maxGraceNs } : {}),
      markGone,
      startedMs: agent.drain?.startedMs ?? this.now(),
    };
    this.rescindAgentOffers(agent.id);
    this.saveRegistry();
    for (const t of this.tasksOn(agent.id)) {
      if (isTerminalTaskState(t.state)) continue;
      const taskGraceMs =
        graceMs(t.info.kill_policy?.grace_period?.nanoseconds) ?? this.config.defaultKillGraceMs;
      const maxMs = maxGraceNs !== undefined ? Number(maxGraceNs / 1_000_000n) : undefined;
      agent.sink?.send({
        type: 'KILL',
        task_id: t.id,
        grace_ms: maxMs !== undefined ? Math.min(taskGraceMs, maxMs) : taskGraceMs,
        reason: 'REASON_AGENT_DRAINING',
      });
    }
    this.log.info({ agentId, markGone }, 'agent draining');
  }

  deactivateAgent(agentId: string): void {
    const agent = this.knownAgent(agentId);
    agent.deactivated = true;
    this.rescindAgentOffers(agent.id);
    this.saveRegistry();
  }

  reactivateAgent(agentId: string): void {
    const agent = this.knownAgent(agentId);
    if (!agent.deactivated) throw new OperatorCallError(400, 'Agent is not deactivated');
    if (agent.drain?.state === 'DRAINING')
      throw new OperatorCallError(400, 'Agent is still in the DRAINING state');
    agent.deactivated = false;
    delete agent.drain;
    this.saveRegistry();
  }

  /** MARK_AGENT_GONE: permanent; idempotent for an agent already gone. */
  markGone(agentId: string, why = 'marked gone by operator'): void {
    const agent = this.agents.get(agentId);
    if (!agent) throw new OperatorCallError(404, `Agent '${agentId}' not found`);
    if (agent.lifecycle === 'gone') return;
    if (agent.lifecycle === 'unreachable') this.unreachableCount = Math.max(0, this.unreachableCount - 1);
    agent.lifecycle = 'gone';
    agent.lifecycleSinceMs = this.now();
    agent.sink?.send({ type: 'SHUTDOWN', message: why });
    agent.sink?.close();
    agent.sink = undefined;
    agent.connected = false;
    this.rescindAgentOffers(agent.id);
    for (const fw of this.frameworks.values()) {
      const partitionAware = fw.capabilities.has('PARTITION_AWARE');
      const onAgent = [...fw.tasks.values(), ...fw.unreachableTasks.values()].filter(
        (t) => t.agentId === agent.id,
      );
      for (const t of onAgent) {
        fw.tasks.delete(t.id);
        fw.unreachableTasks.delete(t.id);
        if (!isTerminalTaskState(t.state)) {
          const state: TaskState = partitionAware ? 'TASK_GONE_BY_OPERATOR' : 'TASK_LOST';
          this.setState(t, state);
          this.sendUpdate(
            fw,
            this.masterStatus(
              t,
              state,
              partitionAware ? 'REASON_AGENT_REMOVED_BY_OPERATOR' : 'REASON_AGENT_REMOVED',
              `Agent ${agent.id} ${why}`,
            ),
          );
        }
        this.complete(fw, t);
      }
      fw.sink?.send({ type: 'FAILURE', failure: { agent_id: { value: agent.id } } });
    }
    this.saveRegistry();
    this.log.info({ agentId }, 'agent gone');
  }

  // ---- frameworks -----------------------------------------------------------------------------

  private newFramework(id: string, info: FrameworkInfo, opts: { recovered: boolean }): FrameworkRecord {
    const fw: FrameworkRecord = {
      id,
      info: { ...info, id: { value: id } },
      capabilities: new Set((info.capabilities ?? []).map((c) => c.type)),
      connected: false,
      recovered: opts.recovered,
      registeredAtMs: this.now(),
      unregisteredAtMs: 0,
      suppressed: false,
      filters: new Map(),
      tasks: new Map(),
      unreachableTasks: new Map(),
      completedTasks: [],
    };
    this.frameworks.set(id, fw);
    return fw;
  }

  /**
   * SUBSCRIBE (already validated for shape). Returns the framework, or an error message to send
   * as an ERROR event before closing the stream.
   */
  subscribe(info: FrameworkInfo, sink: EventSink, streamId: string): FrameworkRecord | string {
    const caps = new Set((info.capabilities ?? []).map((c) => c.type));
    if (caps.has('MULTI_ROLE') && info.role !== undefined) {
      return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable";
    }
    if (!caps.has('MULTI_ROLE') && info.roles !== undefined) {
      return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable";
    }
    const requestedId = info.id?.value;
    if (requestedId && this.removedFrameworkIds.has(requestedId)) return 'Framework has been removed';
    let fw = requestedId ? this.frameworks.get(requestedId) : undefined;
    if (fw) {
      if (fw.info.principal !== undefined && info.principal !== fw.info.principal)
        return "Changing framework's principal is not allowed";
      if (fw.sink && !fw.sink.closed) {
        fw.sink.send({ type: 'ERROR', error: { message: 'Framework failed over' } });
        fw.sink.close();
      }
      // Outstanding offers are discarded without RESCIND; new offers follow.
      for (const o of [...this.offers.values()]) if (o.frameworkId === fw.id) this.offers.delete(o.id);
      const keep = { user: fw.info.user, checkpoint: fw.info.checkpoint };
      fw.info = { ...info, ...keep, id: { value: fw.id } };
      fw.capabilities = caps;
      fw.reregisteredAtMs = this.now();
    } else {
      // An unknown id after a master failover is accepted as a recovered framework.
      const id = requestedId ?? `${this.id}-${String(this.nextFramework++).padStart(4, '0')}`;
      fw = this.newFramework(id, info, { recovered: false });
    }
    fw.failoverTimer?.abort();
    delete fw.failoverTimer;
    fw.recovered = false;
    fw.connected = true;
    fw.unregisteredAtMs = 0;
    fw.sink = sink;
    fw.streamId = streamId;
    fw.suppressed = false;
    sink.send({
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: { value: fw.id },
        heartbeat_interval_seconds: this.config.heartbeatIntervalSeconds,
        master_info: this.masterInfo(),
      },
    });
    sink.send({ type: 'HEARTBEAT' });
    this.log.info({ frameworkId: fw.id, name: info.name }, 'framework subscribed');
    return fw;
  }

  masterInfo(): Record<string, unknown> {
    return {
      id: this.id,
      ip: ipToUint32(this.config.hostname),
      port: this.config.port,
      pid: this.pid,
      hostname: this.config.hostname,
      version: this.config.version,
      address: { hostname: this.config.hostname, ip: this.config.hostname, port: this.config.port },
      capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, { type: 'QUOTA_V2' }],
    };
  }

  /** The framework's stream closed: offers go away; tasks live for `failover_timeout` seconds. */
  frameworkDisconnected(frameworkId: string, sink: EventSink): void {
    const fw = this.frameworks.get(frameworkId);
    if (!fw || fw.sink !== sink) return;
    fw.connected = false;
    fw.sink = undefined;
    delete fw.streamId;
    fw.unregisteredAtMs = this.now();
    for (const o of [...this.offers.values()]) if (o.frameworkId === fw.id) this.offers.delete(o.id);
    this.startFailoverTimer(fw);
    this.log.info({ frameworkId }, 'framework disconnected');
  }

  /** Set by `stop`: a stopped master arms no timers (closing streams must not start failover clocks). */
  stopped = false;

  private startFailoverTimer(fw: FrameworkRecord): void {
    fw.failoverTimer?.abort();
    if (this.stopped) return;
    const timer = new AbortController();
    fw.failoverTimer = timer;
    const ms = Math.max(0, Number(fw.info.failover_timeout ?? 0) * 1000);
    this.config.clock.sleep(ms, timer.signal).then(
      () => {
        if (!fw.connected && this.frameworks.get(fw.id) === fw) {
          this.log.warn({ frameworkId: fw.id }, 'framework failover timeout: removing it');
          this.removeFramework(fw);
        }
      },
      () => undefined,
    );
  }

  /** TEARDOWN or failover timeout: every task killed, the id never usable again. */
  removeFramework(fw: FrameworkRecord): void {
    fw.failoverTimer?.abort();
    for (const t of fw.tasks.values()) {
      if (!isTerminalTaskState(t.state))
        this.agents.get(t.agentId)?.sink?.send({ type: 'KILL', task_id: t.id, grace_ms: 0, forget: true });
      this.setState(t, isTerminalTaskState(t.state) ? t.state : 'TASK_KILLED');
      this.complete(fw, t);
    }
    fw.tasks.clear();
    for (const o of [...this.offers.values()]) if (o.frameworkId === fw.id) this.offers.delete(o.id);
    fw.connected = false;
    fw.sink?.close();
    fw.sink = undefined;
    this.frameworks.delete(fw.id);
    this.removedFrameworkIds.add(fw.id);
    this.completedFrameworks.push(fw);
  }

  frameworkFor(frameworkId: string): FrameworkRecord | undefined {
    return this.frameworks.get(frameworkId);
  }

  // ---- scheduler calls ------------------------------------------------------------------------

  accept(
    fw: FrameworkRecord,
    offerIds: string[],
    operations: { type?: string; launch?: { task_infos?: TaskInfo[] } }[],
    refuseSeconds: number | undefined,
  ): void {
    const tasks = operations.filter((o) => o.type === 'LAUNCH').flatMap((o) => o.launch?.task_infos ?? []);
    const offers = offerIds.map((id) => this.offers.get(id));
    const agentIds = new Set(offers.map((o) => o?.agentId));
    const invalid = offers.findIndex((o) => !o || o.frameworkId !== fw.id);
    const partitionAware = fw.capabilities.has('PARTITION_AWARE');
    for (const o of offers) if (o && o.frameworkId === fw.id) this.offers.delete(o.id);
    if (offers.length === 0 || invalid >= 0 || agentIds.size !== 1) {
      const why =
        offers.length === 0
          ? 'No offers given'
          : invalid >= 0
            ? `Offer ${offerIds[invalid]} is no longer valid`
            : 'Aggregated offers must belong to one single agent';
      for (const t of tasks) {
        const state: TaskState = partitionAware ? 'TASK_DROPPED' : 'TASK_LOST';
        this.sendUpdate(
          fw,
          this.detachedStatus(t, state, 'REASON_INVALID_OFFERS', `Task launched with invalid offers: ${why}`),
        );
      }
      return;
    }
    const agent = this.agents.get(offers[0]!.agentId)!;
    let available = offers.reduce((acc, o) => addBags(acc, o!.resources), emptyBag());
    for (const task of tasks) {
      const error = this.validateTask(fw, task, agent, available);
      if (error) {
        this.sendUpdate(fw, this.detachedStatus(task, 'TASK_ERROR', 'REASON_TASK_INVALID', error));
        continue;
      }
      const rec = this.newTask(task, fw.id, agent.id, 'TASK_STAGING');
      available = subtractBags(available, rec.resources);
      if (agent.drain || !agent.connected || !agent.sink) {
        const state: TaskState = partitionAware ? 'TASK_DROPPED' : 'TASK_LOST';
        this.sendUpdate(
          fw,
          this.detachedStatus(
            task,
            state,
            agent.drain ? 'REASON_AGENT_DRAINING' : 'REASON_AGENT_DISCONNECTED',
            'Agent cannot take tasks',
          ),
        );
        continue;
      }
      fw.tasks.set(rec.id, rec);
      this.launchLog.push({ taskId: rec.id, agentId: agent.id, frameworkId: fw.id, atMs: this.now() });
      agent.sink.send({
        type: 'LAUNCH',
        framework: fw.info,
        task,
        killing_state: fw.capabilities.has('TASK_KILLING_STATE'),
      });
    }
    this.addFilter(fw, agent.id, available, refuseSeconds);
  }

  private validateTask(
    fw: FrameworkRecord,
    task: TaskInfo,
    agent: AgentRecord,
    available: ResourceBag,
  ): string | undefined {
    const existing = fw.tasks.get(task.task_id.value);
    if (existing && !isTerminalTaskState(existing.state))
      return `Task has duplicate ID: ${task.task_id.value}`;
    if (/[/]|^\.\.?$/.test(task.task_id.value) || task.task_id.value === '')
      return `Task ID '${task.task_id.value}' is invalid`;
    if (task.agent_id.value !== agent.id)
      return `Task uses agent ${task.agent_id.value} but the offers are from ${agent.id}`;
    if (!!task.command === !!task.executor)
      return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present';
    if (task.executor) return 'Custom executors are not supported by this local master (command tasks only)';
    const need = bagOf(task.resources);
    if (isEmptyBag(need)) return 'Task uses no resources';
    if (!containsBag(available, need)) {
      return `Total resources ${describe(need)} required by task and its executor is more than available ${describe(available)}`;
    }
    return undefined;
  }

  decline(fw: FrameworkRecord, offerIds: string[], refuseSeconds: number | undefined): void {
    for (const id of offerIds) {
      const o = this.offers.get(id);
      if (!o || o.frameworkId !== fw.id) continue;
      this.offers.delete(id);
      this.addFilter(fw, o.agentId, o.resources, refuseSeconds);
    }
  }

  private addFilter(
    fw: FrameworkRecord,
    agentId: string,
    resources: ResourceBag,
    refuseSeconds: number | undefined,
  ): void {
    let seconds =
      refuseSeconds === undefined || refuseSeconds < 0 || Number.isNaN(refuseSeconds) ? 5 : refuseSeconds;
    seconds = Math.min(seconds, MAX_REFUSE_SECONDS);
    if (seconds === 0 || isEmptyBag(resources)) return;
    fw.filters.set(agentId, { untilMs: this.now() + seconds * 1000, resources });
  }

  kill(fw: FrameworkRecord, taskId: string, agentId: string | undefined, graceNs: bigint | undefined): void {
    const t = fw.tasks.get(taskId);
    if (!t) {
      if (!fw.unreachableTasks.has(taskId)) this.reconcileUnknown(fw, taskId, agentId);
      return;
    }
    if (agentId && agentId !== t.agentId) return;
    if (isTerminalTaskState(t.state)) return;
    const grace =
      graceMs(graceNs) ??
      graceMs(t.info.kill_policy?.grace_period?.nanoseconds) ??
      this.config.defaultKillGraceMs;
    this.agents.get(t.agentId)?.sink?.send({ type: 'KILL', task_id: t.id, grace_ms: grace });
  }

  acknowledge(fw: FrameworkRecord, agentId: string, taskId: string, uuid: string): void {
    const t = fw.tasks.get(taskId);
    if (!t || t.agentId !== agentId || t.pendingUuid !== uuid) return;
    const acked = t.pendingState;
    delete t.pendingUuid;
    delete t.pendingState;
    this.agents.get(agentId)?.sink?.send({ type: 'ACK', task_id: taskId, uuid });
    if (acked && isTerminalTaskState(acked)) {
      fw.tasks.delete(taskId);
      this.complete(fw, t);
    }
  }

  reconcile(fw: FrameworkRecord, tasks: { taskId: string; agentId?: string }[]): void {
    if (tasks.length === 0) {
      for (const t of [...fw.tasks.values(), ...fw.unreachableTasks.values()]) {
        this.sendUpdate(
          fw,
          this.masterStatus(t, t.state, 'REASON_RECONCILIATION', 'Reconciliation: Latest task state'),
        );
      }
      return;
    }
    for (const { taskId, agentId } of tasks) {
      const t = fw.tasks.get(taskId) ?? fw.unreachableTasks.get(taskId);
      if (t)
        this.sendUpdate(
          fw,
          this.masterStatus(t, t.state, 'REASON_RECONCILIATION', 'Reconciliation: Latest task state'),
        );
      else this.reconcileUnknown(fw, taskId, agentId);
    }
  }

  /** An explicit question about a task the master does not know (mesos.md §3.5 RECONCILE). */
  private reconcileUnknown(fw: FrameworkRecord, taskId: string, agentId: string | undefined): void {
    const agent = agentId ? this.agents.get(agentId) : undefined;
    // While agents are still "recovered" after a failover, the master stays silent rather than guess.
    if (
      agent
        ? agent.lifecycle === 'recovered'
        : [...this.agents.values()].some((a) => a.lifecycle === 'recovered')
    )
      return;
    let state: TaskState;
    if (!fw.capabilities.has('PARTITION_AWARE')) state = 'TASK_LOST';
    else if (agent?.lifecycle === 'registered') state = 'TASK_GONE';
    else if (agent?.lifecycle === 'unreachable') state = 'TASK_UNREACHABLE';
    else if (agent?.lifecycle === 'gone') state = 'TASK_GONE_BY_OPERATOR';
    else state = 'TASK_UNKNOWN';
    this.sendUpdate(fw, {
      task_id: { value: taskId },
      state,
      message: 'Reconciliation: Task is unknown',
      source: 'SOURCE_MASTER',
      reason: 'REASON_RECONCILIATION',
      ...(agentId ? { agent_id: { value: agentId } } : {}),
      timestamp: this.now() / 1000,
    });
  }

  suppress(fw: FrameworkRecord): void {
    fw.suppressed = true;
  }

  revive(fw: FrameworkRecord): void {
    fw.suppressed = false;
    fw.filters.clear();
  }

  // ---- status updates from agents -------------------------------------------------------------

  /** An agent's status update (carrying a uuid); `latestState` is what the task is now. */
  agentStatusUpdate(agentId: string, frameworkId: string, status: TaskStatus, latestState: TaskState): void {
    const fw = this.frameworks.get(frameworkId);
    const t = fw?.tasks.get(status.task_id.value);
    if (!fw || !t || t.agentId !== agentId) return;
    const agent = this.agents.get(agentId);
    let forwarded = status;
    // Draining with mark_gone: a partition-aware framework hears TASK_GONE_BY_OPERATOR, not KILLED.
    if (agent?.drain?.markGone && fw.capabilities.has('PARTITION_AWARE') && status.state === 'TASK_KILLED') {
      forwarded = { ...status, state: 'TASK_GONE_BY_OPERATOR' };
      if (latestState === 'TASK_KILLED') latestState = 'TASK_GONE_BY_OPERATOR';
    }
    this.setState(t, latestState);
    t.pendingUuid = forwarded.uuid;
    t.pendingState = forwarded.state;
    this.sendUpdate(fw, forwarded);
  }

  /** The task's current state, sent while an earlier update still waits for its ACK. */
  agentLatestState(agentId: string, frameworkId: string, taskId: string, latestState: TaskState): void {
    const t = this.frameworks.get(frameworkId)?.tasks.get(taskId);
    if (t && t.agentId === agentId) this.setState(t, latestState);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private newTask(task: TaskInfo, frameworkId: string, agentId: string, state: TaskState): TaskRecord {
    return {
      info: task,
      id: task.task_id.value,
      frameworkId,
      agentId,
      resources: bagOf(task.resources),
      state,
      statuses: [{ state, timestamp: this.now() / 1000 }],
    };
  }

  private setState(t: TaskRecord, state: TaskState): void {
    if (t.state === state) return;
    t.state = state;
    t.statuses.push({ state, timestamp: this.now() / 1000 });
  }

  private complete(fw: FrameworkRecord, t: TaskRecord): void {
    fw.completedTasks.push(t);
    if (fw.completedTasks.length > COMPLETED_TASKS_KEPT) fw.completedTasks.shift();
  }

  /** A master-generated update: SOURCE_MASTER and no uuid (so it must not be acknowledged). */
  private masterStatus(t: TaskRecord, state: TaskState, reason: string, message: string): TaskStatus {
    return {
      task_id: { value: t.id },
      state,
      message,
      source: 'SOURCE_MASTER',
      reason,
      agent_id: { value: t.agentId },
      timestamp: this.now() / 1000,
      ...(state === 'TASK_UNREACHABLE' && t.unreachableSinceMs !== undefined
        ? { unreachable_time: { nanoseconds: BigInt(t.unreachableSinceMs) * 1_000_000n } }
        : {}),
    };
  }

  private detachedStatus(task: TaskInfo, state: TaskState, reason: string, message: string): TaskStatus {
    return {
      task_id: { value: task.task_id.value },
      state,
      message,
      source: 'SOURCE_MASTER',
      reason,
      agent_id: { value: task.agent_id.value },
      timestamp: this.now() / 1000,
    };
  }

  private sendUpdate(fw: FrameworkRecord, status: TaskStatus): void {
    if (fw.connected && fw.sink) fw.sink.send({ type: 'UPDATE', update: { status } });
  }
}

interface SavedDrain {
  state: 'DRAINING' | 'DRAINED';
  maxGraceNs?: string;
  markGone: boolean;
  startedMs: number;
}

function savedDrain(d: SavedDrain): NonNullable<AgentRecord['drain']> {
  return {
    state: d.state,
    markGone: d.markGone,
    startedMs: d.startedMs,
    ...(d.maxGraceNs !== undefined ? { maxGraceNs: BigInt(d.maxGraceNs) } : {}),
  };
}

function agentCapabilities(): string[] {
  return [
    'MULTI_ROLE',
    'HIERARCHICAL_ROLE',
    'RESERVATION_REFINEMENT',
    'RESOURCE_PROVIDER',
    'RESIZE_VOLUME',
    'AGENT_OPERATION_FEEDBACK',
    'AGENT_DRAINING',
    'TASK_RESOURCE_LIMITS',
  ];
}

function graceMs(ns: number | bigint | undefined): number | undefined {
  if (ns === undefined) return undefined;
  return Number(BigInt(ns) / 1_000_000n);
}

function describe(bag: ResourceBag): string {
  return Object.entries(bag.scalars)
    .map(([k, v]) => `${k}:${v}`)
    .join('; ');
}

/** MasterInfo.ip: the IPv4 address as a uint32 in network byte order (not useful, but Mesos sends it). */
function ipToUint32(host: string): number {
  const parts = host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return 0;
  return ((parts[3]! << 24) >>> 0) + (parts[2]! << 16) + (parts[1]! << 8) + parts[0]!;
}
