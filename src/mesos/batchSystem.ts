/**
 * The `mesos` batch system: jobs become Mesos tasks (command executor, argv), placed on offers by
 * cores, memory, disk and the agent's preemptability.
 *
 * What it does that Toil's does not:
 * - A non-preemptable job never lands on a preemptable agent; preemptable jobs go to preemptable
 *   agents first and take on-demand room only after queued non-preemptable jobs had their turn
 *   (a preemptable job no spot agent could hold takes its turn with them, unless the scaler has
 *   it wait for the spot nodes it launches), and not at all while the scaler keeps them on spot
 *   (`keepPreemptableOnSpot`).
 * - Queued jobs are placed largest first (src/common/placementOrder.ts), so a node the scaler
 *   launched for a big job is not filled by small jobs queued before it.
 * - The scaler's keep-off hints (`keepOff`) are honoured: a job is not placed on an agent its
 *   request is kept off (a big node whose room small jobs would keep billed for themselves).
 * - Draining is race-free (Toil #3079): `markDraining` is synchronous and every offer is checked
 *   against the mark in the same turn that records a launch, so after the mark either a task was
 *   already recorded on the agent (and `isEmpty` says no) or none will ever be launched there.
 * - Every task state maps to an outcome, including TASK_UNREACHABLE, TASK_GONE, TASK_DROPPED and
 *   TASK_UNKNOWN (Toil hangs on some, #4436): the node's fault is 'lost' (no retry spent), the job's
 *   is 'failed', the leader's kill is 'killed'. Losses are counted per job.
 * - An agent running our tasks that the master lists disconnected for a few seconds (its node
 *   reclaimed or terminated) has them lost at once, not when the health check gives up (75 s).
 * - Tasks are reconciled after every (re)subscription; offers are SUPPRESSed while the queue is
 *   empty and REVIVEd when it fills.
 */
import type { Clock } from '../common/clock.js';
import { placementKey, placementOrder } from '../common/placementOrder.js';
import { IllegalStateError, ToilError, coerceError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import type {
  ClusterAgent,
  ClusterBatchSystem,
  IssuedJob,
  JobOutcome,
  JobRequirements,
  JobUpdateListener,
  RunningJobView,
} from '../ports/batchSystem.js';
import { DisconnectedAgents } from './disconnectedAgents.js';
import type { AgentView, DrainOptions, MesosMasterClient } from './masterClient.js';
import {
  bytesToMesosMb,
  fits,
  isPreemptableAgent,
  scalarResources,
  scalarsOf,
  subtract,
  type Scalars,
} from './resources.js';
import type { MesosSchedulerClient, ReconcileTask } from './scheduler.js';
import type { Offer, TaskInfo, TaskStatus } from './types.js';

export interface MesosBatchSystemOptions {
  scheduler: MesosSchedulerClient;
  master: MesosMasterClient;
  clock: Clock;
  log?: Logger;
  /** How long `start` waits for the first subscription. Default 60 s (as Toil). */
  subscribeTimeoutMs?: number;
  /** DECLINE filter for offers nothing queued fits. Mesos' default is 5 s. */
  refuseSecondsNoFit?: number;
  /** DECLINE filter for offers from agents being drained. */
  refuseSecondsDraining?: number;
  /**
   * How long a preemptable job waits for room on a preemptable agent before it takes on-demand
   * room (when a preemptable agent that could hold it exists). Default 3 s.
   */
  preemptablePatienceMs?: number;
  /**
   * How often the master's agents are read while tasks of ours run, and how long an agent running
   * them must be seen disconnected to be taken for gone (its tasks reported 'lost' then, not when
   * the master's health check gives up on it, 75 s on Mesos' defaults). Default 3 s.
   */
  agentCheckMs?: number;
  /**
   * `shutdown` tears the framework down (Toil's driver stop) when no task of ours is launching or
   * running, so a run that has ended leaves no framework registered at the master for the failover
   * timeout. One with tasks still out keeps it, for a `--restart` to find. Off for a leader whose
   * framework outlives its stop (the daemon's, whose tasks a restarted daemon resumes).
   */
  teardownWhenIdle?: boolean;
}

/** Where one attempt was placed; kept for tests and the status page. */
export interface PlacementRecord {
  seq: number;
  jobId: string;
  attempt: number;
  name: string;
  taskId: string;
  agentId: string;
  hostname: string;
  agentPreemptable: boolean;
  jobPreemptable: boolean;
  atMs: number;
}

/** Per agent, for the scaler: what it has, what is free, and which of our tasks run there. */
export interface AgentReport extends AgentView {
  /** Marked draining by us (no task will be launched) or by the master. */
  draining: boolean;
  /** total − used, in Mesos units (cpus, MB, MB). Not total − offered (trap 8). */
  free: Scalars;
  /** Our attempts launched there and not finished, by job id. */
  runningJobIds: string[];
}

type AttemptState = 'queued' | 'launching' | 'running' | 'done';

interface Attempt {
  job: IssuedJob;
  taskId: string;
  need: Scalars;
  state: AttemptState;
  queuedAtMs: number;
  agentId?: string;
  launchedAtMs?: number;
  runningAtMs?: number;
  killRequested: boolean;
  killed?: () => void;
}

/** Mesos task ids must not contain '/' and must be unique among live tasks: `toil-<job>-<attempt>`. */
export function taskIdFor(jobId: string, attempt: number): string {
  return `toil-${jobId.replace(/[^A-Za-z0-9._-]/g, '_')}-${attempt}`;
}

/** Least time between two reads of the agents for jobs waiting for spot room. */
const AGENTS_REREAD_MS = 5000;

const LOST_STATES = new Set([
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
]);

export class MesosBatchSystem implements ClusterBatchSystem {
  readonly name = 'mesos';
  private readonly o: MesosBatchSystemOptions;
  private readonly log: Logger;
  private listener: JobUpdateListener | undefined;
  private readonly attempts = new Map<string, Attempt>();
  private readonly byTask = new Map<string, Attempt>();
  private queue: Attempt[] = [];
  private readonly drainMarks = new Map<string, number>();
  /** `offering`: the master offers its room (false: disconnected or deactivated, as GET_AGENTS says). */
  private readonly knownAgents = new Map<
    string,
    { total: Scalars; preemptable: boolean; hostname: string; offering: boolean }
  >();
  private readonly losses = new Map<string, number>();
  private readonly placementLog: PlacementRecord[] = [];
  private seq = 0;
  private suppressed = false;
  private offerControl: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Preemptable jobs a spot agent could hold never take on-demand room (keepPreemptableOnSpot). */
  private preemptableOnSpot = false;
  /** Requests (placementKey) that wait for spot even with no preemptable agent to hold them yet. */
  private waitForSpot: ReadonlySet<string> = new Set();
  /** Preemptable requests (placementKey) placed as on-demand work: the scaler prices their spot risk. */
  private onDemandOnly: ReadonlySet<string> = new Set();
  /** Agent id → placement keys of the requests the scaler keeps off it (keepOff). */
  private keptOff: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  /** Agents a task of ours was launched on. */
  private readonly agentsUsed = new Set<string>();
  /** When the master's list of agents was last asked for (GET_AGENTS). */
  private agentsReadAtMs = 0;
  private agentsRereading = false;
  private readonly disconnected: DisconnectedAgents;
  /** Agents whose tasks were reported lost here on seeing them disconnected. */
  private readonly agentsTakenForGone = new Set<string>();
  /** The agents are being read every `agentCheckMs` (while tasks of ours run). */
  private checkingAgents = false;
  private readonly stopChecks = new AbortController();

  constructor(options: MesosBatchSystemOptions) {
    this.o = options;
    this.log = (options.log ?? silentLogger()).child({ component: 'mesos-batch' });
    this.disconnected = new DisconnectedAgents(this.agentCheckMs());
  }

  async start(listener: JobUpdateListener): Promise<void> {
    this.listener = listener;
    this.o.scheduler.start({
      subscribed: () => {
        // A new subscription starts unsuppressed; a non-empty queue needs offers.
        this.suppressed = false;
      },
      offers: (offers) => this.onOffers(offers),
      rescind: () => undefined,
      update: (status) => this.onUpdate(status),
      failure: ({ agentId, executorId }) => {
        if (agentId && !executorId) {
          // A warning for a node that ran our work; another workflow's node retiring is no
          // concern of this run's (its lost tasks, if any, are reported as such anyway).
          // One taken for gone here already (seen disconnected) had its jobs' losses warned of then.
          if (this.agentsTakenForGone.has(agentId))
            this.log.debug({ agentId }, 'Mesos reports the agent lost, taken for gone before');
          else if (this.agentsUsed.has(agentId)) this.log.warn({ agentId }, 'Mesos reports the agent lost');
          else this.log.debug({ agentId }, 'Mesos reports an agent lost that ran none of our tasks');
          this.knownAgents.delete(agentId);
        }
      },
      disconnected: (reason) => {
        if (!this.stopping) this.log.warn({ reason }, 'Mesos stream ended; re-subscribing');
      },
      tasksToReconcile: () => this.liveTasks(),
    });
    try {
      await this.o.scheduler.waitSubscribed(this.o.subscribeTimeoutMs ?? 60_000);
    } catch (e) {
      await this.o.scheduler.stop();
      throw new ToilError(
        'MESOS_NOT_SUBSCRIBED',
        `could not subscribe to the Mesos master at ${this.o.scheduler.endpoint.leader.host}: ${coerceError(e).message}`,
        { disposition: 'user', cause: e },
      );
    }
    await this.refreshAgents().catch((e: unknown) =>
      this.log.warn({ err: coerceError(e) }, 'could not list agents (job size checks wait for offers)'),
    );
  }

  async issue(job: IssuedJob): Promise<void> {
    if (this.stopping) throw new IllegalStateError('the mesos batch system is shutting down');
    const prior = this.attempts.get(job.jobId);
    if (prior && prior.state !== 'done') {
      throw new IllegalStateError(`job ${job.jobId} is already issued (attempt ${prior.job.attempt})`);
    }
    const r = job.requirements;
    const attempt: Attempt = {
      job,
      taskId: taskIdFor(job.jobId, job.attempt),
      need: { cpus: r.cores, mem: bytesToMesosMb(r.memory), disk: bytesToMesosMb(r.disk) },
      state: 'queued',
      queuedAtMs: this.o.clock.now(),
      killRequested: false,
    };
    this.attempts.set(job.jobId, attempt);
    this.byTask.set(attempt.taskId, attempt);
    this.queue.push(attempt);
    if (this.suppressed) await this.setSuppressed(false);
  }

  /**
   * SUPPRESS or REVIVE. The flag changes at once (so the decision is never stale) and the calls
   * go out one at a time, in the order decided, so the master ends in the state we think it is.
   */
  private setSuppressed(suppressed: boolean): Promise<void> {
    this.suppressed = suppressed;
    const call = async (): Promise<void> => {
      try {
        if (suppressed) await this.o.scheduler.suppress();
        else await this.o.scheduler.revive();
      } catch (e) {
        // Not subscribed: the next subscription starts unsuppressed anyway.
        this.log.warn({ err: coerceError(e) }, suppressed ? 'SUPPRESS failed' : 'REVIVE failed');
        if (suppressed) this.suppressed = false;
      }
    };
    this.offerControl = this.offerControl.then(call);
    return this.offerControl;
  }

  async kill(jobId: string): Promise<void> {
    const a = this.attempts.get(jobId);
    if (!a || a.state === 'done') return;
    if (a.state === 'queued') {
      this.queue = this.queue.filter((q) => q !== a);
      this.finish(a, 'killed', { message: 'killed before it was launched' });
      return;
    }
    a.killRequested = true;
    const stopped = new Promise<void>((resolve) => (a.killed = resolve));
    await this.o.scheduler.kill(a.taskId, a.agentId);
    await stopped;
  }

  issuedJobIds(): ReadonlySet<string> {
    return new Set([...this.attempts.values()].filter((a) => a.state !== 'done').map((a) => a.job.jobId));
  }

  runningJobs(): readonly RunningJobView[] {
    return [...this.attempts.values()]
      .filter((a) => a.state === 'launching' || a.state === 'running')
      .map((a) => {
        const host = a.agentId ? this.knownAgents.get(a.agentId)?.hostname : undefined;
        const at = a.runningAtMs ?? a.launchedAtMs;
        return {
          jobId: a.job.jobId,
          attempt: a.job.attempt,
          batchJobId: a.taskId,
          ...(a.agentId ? { node: host ? `${host} (agent ${a.agentId})` : `agent ${a.agentId}` } : {}),
          ...(at !== undefined ? { startedAt: at } : {}),
        };
      });
  }

  maxJobRequirements(): JobRequirements | undefined {
    if (this.knownAgents.size === 0) return undefined;
    let cpus = 0;
    let mem = 0;
    let disk = 0;
    for (const a of this.knownAgents.values()) {
      cpus = Math.max(cpus, a.total.cpus);
      mem = Math.max(mem, a.total.mem);
      disk = Math.max(disk, a.total.disk);
    }
    return { cores: cpus, memory: mem * 2 ** 20, disk: disk * 2 ** 20, preemptable: false };
  }

  /** Resolves when the master answers (`GET /version`); rejects with why it does not. */
  async ping(): Promise<void> {
    await this.o.master.version();
  }

  /** Stops the stream; tasks keep running under the framework's failover timeout. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.stopChecks.abort();
    this.queue = [];
    if (this.o.teardownWhenIdle && this.runningJobs().length === 0) {
      try {
        await this.o.scheduler.teardown();
        return;
      } catch (e) {
        // The run's outcome stands; the framework then ends with its failover timeout.
        this.log.warn({ err: coerceError(e) }, 'could not tear the Mesos framework down');
      }
    }
    await this.o.scheduler.stop();
  }

  // ---- draining (the scaler's side) -----------------------------------------------------------

  /**
   * Marks the agent: from this call on, no task of ours is launched there. Synchronous on purpose:
   * there is no await between the mark and the offer check, so no launch can slip in.
   */
  markDraining(agentId: string): void {
    if (!this.drainMarks.has(agentId)) this.drainMarks.set(agentId, ++this.seq);
  }

  /** Takes the mark back (the scaler changed its mind before calling DRAIN_AGENT). */
  async unmarkDraining(agentId: string): Promise<void> {
    if (!this.drainMarks.delete(agentId)) return;
    // Offers from it were declined with a filter; REVIVE clears filters.
    await this.setSuppressed(false);
  }

  /**
   * The scaler plans spot for preemptable work while the spot pool has room: such a job a spot
   * agent could hold then waits for spot room instead of taking on-demand room after its patience.
   * Taking it back revives offers, so on-demand room declined meanwhile is offered again.
   */
  keepPreemptableOnSpot(
    on: boolean,
    waitFor: ReadonlySet<string> = new Set(),
    onDemand: ReadonlySet<string> = new Set(),
  ): void {
    this.waitForSpot = on ? waitFor : new Set();
    this.onDemandOnly = onDemand;
    if (this.preemptableOnSpot === on) return;
    this.preemptableOnSpot = on;
    if (!on && this.queue.length > 0) void this.setSuppressed(false).catch(() => undefined);
  }

  /**
   * The scaler's keep-off hints: a queued job is not placed on an agent that keeps its request
   * off; it waits for room elsewhere. A hint lifted revives offers, so room declined meanwhile is
   * offered again.
   */
  keepOff(byAgent: ReadonlyMap<string, ReadonlySet<string>>): void {
    const lifted = [...this.keptOff].some(([agent, keys]) => {
      const now = byAgent.get(agent);
      return [...keys].some((k) => !now?.has(k));
    });
    this.keptOff = byAgent;
    if (lifted && this.queue.length > 0) void this.setSuppressed(false).catch(() => undefined);
  }

  isMarkedDraining(agentId: string): boolean {
    return this.drainMarks.has(agentId);
  }

  /** The mark first, then DRAIN_AGENT (its tasks are killed after the grace period; they come back 'lost'). */
  async drain(agentId: string, options: DrainOptions = {}): Promise<void> {
    this.markDraining(agentId);
    await this.o.master.drainAgent(agentId, options);
  }

  /**
   * The agent's machine is gone (seen terminated by the cloud, or cut off from the master): every
   * attempt of ours there is reported 'lost' now, so its job runs again at once instead of when
   * the master's health check gives up on the agent (15 s × 5). Each task is also killed: should
   * the agent only have been cut off, it does not run beside its re-run (and its late updates are
   * ignored, the attempt being forgotten). The agent is marked, so no task of ours goes there
   * again while the master still offers what it had.
   */
  nodeLost(agentId: string, reason: string): string[] {
    this.markDraining(agentId);
    const lost = this.runningOn(agentId);
    for (const a of lost) {
      void this.o.scheduler.kill(a.taskId, agentId).catch(() => undefined);
      this.finish(a, 'lost', { message: reason });
    }
    return lost.map((a) => a.job.jobId);
  }

  /**
   * No attempt of ours is launching or running on the agent. Only meaningful after the mark
   * (before it, a launch could land right after the answer), so asking earlier is an error.
   */
  isEmpty(agentId: string): boolean {
    if (!this.drainMarks.has(agentId)) {
      throw new IllegalStateError(`isEmpty(${agentId}) asked before the agent was marked draining`);
    }
    return this.runningOn(agentId).length === 0;
  }

  // ---- observation ----------------------------------------------------------------------------

  /** Every agent the master knows, with our tasks on it and its free resources. */
  async agents(): Promise<AgentReport[]> {
    const views = await this.refreshAgents();
    return views.map((v) => ({
      ...v,
      draining: this.drainMarks.has(v.id) || v.drainState !== undefined,
      free: subtract(v.total, v.used),
      runningJobIds: this.runningOn(v.id).map((a) => a.job.jobId),
    }));
  }

  /** Every agent as the scaler sees it (the ClusterBatchSystem side): see `clusterAgentOf`. */
  async clusterAgents(): Promise<ClusterAgent[]> {
    return (await this.agents()).map(clusterAgentOf);
  }

  placements(): readonly PlacementRecord[] {
    return this.placementLog;
  }

  /** Drain mark sequence number (comparable with placement `seq`), for ordering checks. */
  drainMarkSeq(agentId: string): number | undefined {
    return this.drainMarks.get(agentId);
  }

  /** How many times this job was lost with its node (across attempts), for a retry cap. */
  lossCount(jobId: string): number {
    return this.losses.get(jobId) ?? 0;
  }

  queuedCount(): number {
    return this.queue.length;
  }

  private runningOn(agentId: string): Attempt[] {
    return [...this.attempts.values()].filter(
      (a) => a.agentId === agentId && (a.state === 'launching' || a.state === 'running'),
    );
  }

  private async refreshAgents(): Promise<AgentView[]> {
    this.agentsReadAtMs = this.o.clock.now();
    const { agents } = await this.o.master.getAgents();
    this.knownAgents.clear();
    for (const v of agents) {
      this.knownAgents.set(v.id, {
        total: v.total,
        preemptable: v.preemptable,
        hostname: v.hostname,
        offering: v.active,
      });
    }
    this.loseTasksOfGoneAgents(agents);
    return agents;
  }

  private agentCheckMs(): number {
    return this.o.agentCheckMs ?? 3000;
  }

  /**
   * The tasks of an agent the master has listed disconnected for `agentCheckMs` are lost now, as
   * `nodeLost` loses them: their jobs run again within seconds of the node going (a spot reclaim),
   * not at the scaler's next pass or when the master's health check gives up. The scaler's pass
   * that then sees the node gone finds nothing more to declare lost. Spot (preemptable) agents
   * only: a spot node that drops its connection has almost always been reclaimed, while an
   * on-demand agent out for a few seconds is more often restarting, and its checkpointed tasks run
   * on once it is back (the scaler's pass or the health check still finds one that is gone).
   */
  private loseTasksOfGoneAgents(agents: readonly AgentView[]): void {
    const now = this.o.clock.now();
    const spot = agents.filter((a) => a.preemptable);
    for (const id of this.disconnected.gone(spot, now, (a) => this.runningOn(a).length > 0)) {
      this.disconnected.forget(id);
      this.agentsTakenForGone.add(id);
      const hostname = agents.find((a) => a.id === id)?.hostname ?? id;
      const jobs = this.nodeLost(id, `lost: its node ${hostname} disconnected from the Mesos master`);
      // Each job's loss is the leader's warning; this says why they all went at once.
      this.log.info(
        { agentId: id, hostname, jobs: jobs.length },
        `agent disconnected from the Mesos master for at least ${this.agentCheckMs()} ms: taken for gone, its ${jobs.length} task(s) of ours lost`,
      );
    }
  }

  /** Reads the agents every `agentCheckMs` while tasks of ours run (see loseTasksOfGoneAgents). */
  private checkAgentsWhileRunning(): void {
    if (this.checkingAgents || this.stopping) return;
    this.checkingAgents = true;
    void this.checkAgents();
  }

  private async checkAgents(): Promise<void> {
    const every = this.agentCheckMs();
    try {
      while (!this.stopping && this.liveTasks().length > 0) {
        // A read made meanwhile (the scaler's, a job waiting for spot) counts as a check.
        const wait = this.agentsReadAtMs + every - this.o.clock.now();
        if (wait > 0) {
          await this.o.clock.sleep(wait, this.stopChecks.signal);
          continue;
        }
        await this.refreshAgents().catch((e: unknown) =>
          this.log.debug({ err: coerceError(e) }, 'could not read the agents'),
        );
      }
    } catch {
      // Stopped: shutdown aborted the sleep.
    } finally {
      this.checkingAgents = false;
    }
  }

  private liveTasks(): ReconcileTask[] {
    return [...this.attempts.values()]
      .filter((a) => a.state === 'launching' || a.state === 'running')
      .map((a) => ({ taskId: a.taskId, ...(a.agentId ? { agentId: a.agentId } : {}) }));
  }

  // ---- offers ---------------------------------------------------------------------------------

  private async onOffers(offers: Offer[]): Promise<void> {
    const sched = this.o.scheduler;
    if (this.stopping) {
      await sched.decline(offers.map((o) => o.id.value));
      return;
    }
    const usable: { offer: Offer; free: Scalars; preemptable: boolean; tasks: Attempt[] }[] = [];
    const draining: string[] = [];
    for (const offer of offers) {
      if (this.drainMarks.has(offer.agent_id.value)) {
        draining.push(offer.id.value);
        continue;
      }
      const preemptable = isPreemptableAgent(offer.attributes ?? []);
      usable.push({ offer, free: scalarsOf(offer.resources), preemptable, tasks: [] });
      const known = this.knownAgents.get(offer.agent_id.value);
      if (!known) {
        // Free resources are a lower bound on the agent's size until GET_AGENTS tells us more.
        this.knownAgents.set(offer.agent_id.value, {
          total: scalarsOf(offer.resources),
          preemptable,
          hostname: offer.hostname,
          offering: true,
        });
      }
    }
    // Place synchronously (no await until every launch is recorded): see markDraining.
    const place = (jobs: Attempt[], pool: typeof usable): void => {
      for (const a of jobs) {
        if (a.state !== 'queued') continue;
        const key = placementKey(a.job.requirements);
        const target = pool.find(
          (u) => fits(a.need, u.free) && !this.keptOff.get(u.offer.agent_id.value)?.has(key),
        );
        if (!target) continue;
        target.free = subtract(target.free, a.need);
        target.tasks.push(a);
        a.state = 'launching';
        a.agentId = target.offer.agent_id.value;
        this.agentsUsed.add(a.agentId);
        a.launchedAtMs = this.o.clock.now();
        this.placementLog.push({
          seq: ++this.seq,
          jobId: a.job.jobId,
          attempt: a.job.attempt,
          name: a.job.name,
          taskId: a.taskId,
          agentId: a.agentId,
          hostname: target.offer.hostname,
          agentPreemptable: target.preemptable,
          jobPreemptable: a.job.requirements.preemptable,
          atMs: a.launchedAtMs,
        });
      }
    };
    const onDemand = usable.filter((u) => !u.preemptable);
    const spot = usable.filter((u) => u.preemptable);
    // Largest first; non-preemptable jobs and preemptable ones no spot agent could hold take
    // on-demand room first (placementOrder, which the scaler's simulator places by too), unless
    // the scaler has them wait for the spot nodes it is launching.
    const { onDemandFirst, spotFirst } = placementOrder(
      this.queue,
      (a) => ({ preemptable: a.job.requirements.preemptable, cores: a.need.cpus, memory: a.need.mem }),
      (a) => {
        const key = placementKey(a.job.requirements);
        return !this.onDemandOnly.has(key) && (this.spotAgentCouldHold(a.need) || this.waitForSpot.has(key));
      },
    );
    place(onDemandFirst, onDemand);
    place(spotFirst, spot);
    // On-demand room goes to a preemptable job only once spot agents had their chance.
    const now = this.o.clock.now();
    const patience = this.o.preemptablePatienceMs ?? 3000;
    this.rereadAgentsIfWaitingForSpot(spotFirst, now, patience);
    // Unless the scaler keeps such jobs on spot (keepPreemptableOnSpot): it plans spot for them.
    if (!this.preemptableOnSpot)
      place(
        spotFirst.filter((a) => a.state === 'queued' && now - a.queuedAtMs >= patience),
        onDemand,
      );
    this.queue = this.queue.filter((a) => a.state === 'queued');
    const waitingForSpot = !this.preemptableOnSpot && this.queue.some((a) => a.job.requirements.preemptable);
    const suppress = this.queue.length === 0 && !this.suppressed;
    if (suppress) this.suppressed = true;

    const calls: Promise<void>[] = [];
    if (draining.length > 0) calls.push(sched.decline(draining, this.o.refuseSecondsDraining ?? 60));
    const unused = usable.filter((u) => u.tasks.length === 0).map((u) => u.offer.id.value);
    for (const u of usable.filter((x) => x.tasks.length > 0)) {
      calls.push(this.launchOn(u.offer, u.tasks));
    }
    if (usable.some((u) => u.tasks.length > 0)) this.checkAgentsWhileRunning();
    if (unused.length > 0) {
      // A job held back for spot room needs this on-demand offer again once its patience ends.
      const noFit = this.o.refuseSecondsNoFit ?? 5;
      calls.push(sched.decline(unused, waitingForSpot ? Math.min(1, noFit) : noFit));
    }
    const results = await Promise.allSettled(calls);
    for (const r of results) {
      if (r.status === 'rejected') this.log.warn({ err: coerceError(r.reason) }, 'offer answer failed');
    }
    if (suppress && this.suppressed) await this.setSuppressed(true);
  }

  /**
   * Jobs kept for spot room past their patience have the master's agents read again (at most every
   * few seconds): the spot agent they wait for may have gone since the scaler's last tick read
   * them, up to a minute ago, and they would wait for its room, on-demand room free, until then.
   */
  private rereadAgentsIfWaitingForSpot(spotFirst: readonly Attempt[], now: number, patience: number): void {
    if (this.agentsRereading || now - this.agentsReadAtMs < AGENTS_REREAD_MS) return;
    if (!spotFirst.some((a) => a.state === 'queued' && now - a.queuedAtMs >= patience)) return;
    this.agentsRereading = true;
    void this.refreshAgents()
      .catch((e: unknown) => this.log.debug({ err: coerceError(e) }, 'could not read the agents'))
      .finally(() => (this.agentsRereading = false));
  }

  /**
   * Some known, usable preemptable agent is big enough for `need`. An agent the master makes no
   * offers for does not count: the agent of a spot node just terminated stays listed, disconnected,
   * until the master's health check gives up on it (75 s), and a job waiting for its room would
   * wait that long beside free on-demand room.
   */
  private spotAgentCouldHold(need: Scalars): boolean {
    for (const [id, a] of this.knownAgents) {
      if (a.preemptable && a.offering && !this.drainMarks.has(id) && fits(need, a.total)) return true;
    }
    return false;
  }

  private async launchOn(offer: Offer, tasks: Attempt[]): Promise<void> {
    const infos: TaskInfo[] = tasks.map((a) => this.taskInfo(a, offer));
    try {
      // Leftovers come back next allocation cycle (no filter): more jobs may be issued any moment,
      // and an idle queue SUPPRESSes offers anyway. Mesos' default 5 s filter would hide them.
      await this.o.scheduler.launch([offer.id.value], infos, 0);
    } catch (e) {
      // The master may never have seen it: put the jobs back at the head of the queue.
      this.log.warn({ err: coerceError(e), tasks: tasks.length }, 'ACCEPT failed; re-queueing');
      for (const a of tasks) {
        if (a.state !== 'launching') continue;
        a.state = 'queued';
        delete a.agentId;
      }
      this.queue = [...tasks.filter((a) => a.state === 'queued'), ...this.queue];
      throw e;
    }
  }

  private taskInfo(a: Attempt, offer: Offer): TaskInfo {
    const argv = [...a.job.command];
    const env = a.job.environment ?? {};
    return {
      name: a.job.name,
      task_id: { value: a.taskId },
      agent_id: { value: offer.agent_id.value },
      resources: scalarResources(a.need),
      command: {
        shell: false,
        value: argv[0] ?? '',
        arguments: argv,
        ...(Object.keys(env).length > 0
          ? {
              environment: {
                variables: Object.entries(env).map(([name, value]) => ({
                  name,
                  type: 'VALUE' as const,
                  value,
                })),
              },
            }
          : {}),
      },
      labels: {
        labels: [
          { key: 'toil.jobId', value: a.job.jobId },
          { key: 'toil.attempt', value: String(a.job.attempt) },
          { key: 'toil.preemptable', value: String(a.job.requirements.preemptable) },
        ],
      },
    };
  }

  // ---- updates --------------------------------------------------------------------------------

  private async onUpdate(status: TaskStatus): Promise<void> {
    const taskId = status.task_id.value;
    const a = this.byTask.get(taskId);
    const state = status.state;
    if (!a || a.state === 'done' || a.state === 'queued') {
      if (!a && (state === 'TASK_RUNNING' || state === 'TASK_STARTING' || state === 'TASK_STAGING')) {
        // A task of ours we no longer know (an earlier leader's): nobody will read its result.
        this.log.warn({ taskId }, 'killing a task no job is waiting for');
        await this.o.scheduler.kill(taskId, status.agent_id?.value).catch(() => undefined);
      }
      return;
    }
    if (status.agent_id?.value) a.agentId = status.agent_id.value;
    const detail = `${state}${status.reason ? ` (${status.reason})` : ''}${status.message ? `: ${status.message}` : ''}`;
    switch (state) {
      case 'TASK_STAGING':
      case 'TASK_STARTING':
      case 'TASK_KILLING':
        return;
      case 'TASK_RUNNING':
        a.state = 'running';
        a.runningAtMs ??= this.o.clock.now();
        return;
      case 'TASK_FINISHED':
        this.finish(a, 'succeeded', { exitCode: 0, message: detail });
        return;
      case 'TASK_FAILED':
        this.finish(a, a.killRequested ? 'killed' : 'failed', {
          ...exitCodeOf(status.message),
          message: detail,
        });
        return;
      case 'TASK_ERROR':
        this.finish(a, a.killRequested ? 'killed' : 'failed', { message: detail });
        return;
      case 'TASK_KILLED':
        // Killed without our asking: the agent was drained or shut down under it. Not the job's fault.
        this.finish(a, a.killRequested ? 'killed' : 'lost', { message: detail });
        return;
      default:
        if (LOST_STATES.has(state)) {
          if (state === 'TASK_UNREACHABLE' || state === 'TASK_UNKNOWN') {
            // Not terminal: should the agent come back, the task must not run on beside its re-run.
            void this.o.scheduler.kill(taskId, a.agentId).catch(() => undefined);
          }
          this.finish(a, a.killRequested ? 'killed' : 'lost', { message: detail });
          return;
        }
        this.log.warn({ taskId, state }, 'unexpected task state');
    }
  }

  private finish(a: Attempt, outcome: JobOutcome, extra: { exitCode?: number; message?: string }): void {
    a.state = 'done';
    // Forgotten at once: memory stays bounded, and should an unreachable task come back RUNNING,
    // it is unknown and gets killed (its job has been re-run).
    this.byTask.delete(a.taskId);
    if (this.attempts.get(a.job.jobId) === a) this.attempts.delete(a.job.jobId);
    if (outcome === 'lost') this.losses.set(a.job.jobId, (this.losses.get(a.job.jobId) ?? 0) + 1);
    const started = a.runningAtMs ?? a.launchedAtMs;
    const update = {
      jobId: a.job.jobId,
      attempt: a.job.attempt,
      outcome,
      ...(extra.exitCode !== undefined ? { exitCode: extra.exitCode } : {}),
      ...(started !== undefined ? { wallTimeMs: this.o.clock.now() - started } : {}),
      ...(a.agentId ? { node: a.agentId } : {}),
      ...(extra.message ? { message: extra.message } : {}),
    };
    this.log.debug(
      { jobId: a.job.jobId, attempt: a.job.attempt, outcome, agentId: a.agentId },
      'attempt finished',
    );
    a.killed?.();
    this.listener?.(update);
  }
}

function exitCodeOf(message: string | undefined): { exitCode?: number } {
  const m = /exited with status (\d+)/.exec(message ?? '');
  return m ? { exitCode: Number(m[1]) } : {};
}

/**
 * An agent as the scaler sees it. Agents started by the provisioner's user data carry an
 * `instance_id` attribute, which ties them to their instance; the rest are tied by hostname.
 */
export function clusterAgentOf(a: AgentView & { readonly runningJobIds: readonly string[] }): ClusterAgent {
  const instanceId = a.attributes['instance_id'];
  return {
    agentId: a.id,
    hostname: a.hostname,
    ...(typeof instanceId === 'string' ? { instanceId } : {}),
    preemptable: a.preemptable,
    runningJobIds: a.runningJobIds,
    ...(!a.active && !a.deactivated ? { disconnected: true } : {}),
  };
}

/** The agents the master knows, for when no framework of ours runs (none of our jobs on them). */
export async function idleClusterAgents(master: MesosMasterClient): Promise<ClusterAgent[]> {
  return (await master.agentsFromState()).map((a) => clusterAgentOf({ ...a, runningJobIds: [] }));
}
