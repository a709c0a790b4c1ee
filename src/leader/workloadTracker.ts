import type { Clock } from '../common/clock.js';
import type {
  BatchSystem,
  ClusterAgent,
  ClusterBatchSystem,
  IssuedJob,
  JobUpdate,
  JobUpdateListener,
  RunningJobView,
} from '../ports/batchSystem.js';
import type { ClusterEvent, ClusterPort, ClusterReading, RunningOnAgent } from '../ports/cluster.js';
import type { AgentInstance } from '../ports/provisioner.js';
import { lossOnInstance } from './lossOnInstance.js';
import type { QueuedJob, Resources } from '../scaler/types.js';

interface Tracked {
  readonly job: IssuedJob;
  readonly issuedAt: number;
}

/**
 * A BatchSystem decorator that remembers what was issued (with its shape) until its terminal
 * update, so the scaler sees the queue without the engine knowing there is a scaler. A daemon runs
 * one per workflow (one Mesos framework each, as Toil does); `ClusterWorkload` joins them.
 */
export class TrackedBatchSystem implements BatchSystem {
  readonly name: string;
  readonly inner: ClusterBatchSystem;
  private readonly clock: Clock;
  private readonly outstanding = new Map<string, Tracked>();
  /** Outstanding jobs → when a reading first found them on an agent (ms). */
  private readonly seenRunning = new Map<string, number>();
  private readonly events: ClusterEvent[] = [];
  private readonly onChange: () => void;

  private readonly launchable: () => Resources | undefined;
  private readonly instanceOf: (agent: string) => AgentInstance | undefined;

  /**
   * `launchable`: the largest node, resource by resource, the cluster's scaler may still add
   * (`largestLaunchable`); absent, the cluster is the nodes the batch system knows. `instanceOf`:
   * the instance the scaler knows behind an agent, which a job lost there is said with.
   */
  constructor(
    inner: ClusterBatchSystem,
    clock: Clock,
    onChange: () => void = () => {},
    launchable: () => Resources | undefined = () => undefined,
    instanceOf: (agent: string) => AgentInstance | undefined = () => undefined,
  ) {
    this.inner = inner;
    this.name = inner.name;
    this.clock = clock;
    this.onChange = onChange;
    this.launchable = launchable;
    this.instanceOf = instanceOf;
  }

  start(listener: JobUpdateListener): Promise<void> {
    return this.inner.start((u: JobUpdate) => {
      const t = this.outstanding.get(u.jobId);
      if (t && t.job.attempt === u.attempt) {
        this.outstanding.delete(u.jobId);
        this.seenRunning.delete(u.jobId);
        if (u.outcome === 'succeeded' && u.wallTimeMs !== undefined)
          this.events.push({ kind: 'completed', name: t.job.name, seconds: u.wallTimeMs / 1000 });
        if (u.outcome !== 'lost' && u.node !== undefined)
          this.events.push({ kind: 'taskEnded', agent: u.node, at: this.clock.now() });
        if (u.outcome === 'lost')
          this.events.push({
            kind: 'lost',
            jobId: u.jobId,
            name: t.job.name,
            ...(u.node !== undefined ? { agentId: u.node } : {}),
          });
        this.onChange();
      }
      listener(u.outcome === 'lost' && u.node !== undefined ? lossOnInstance(u, this.instanceOf(u.node)) : u);
    });
  }

  async issue(job: IssuedJob): Promise<void> {
    this.outstanding.set(job.jobId, { job, issuedAt: this.clock.now() });
    this.seenRunning.delete(job.jobId);
    await this.inner.issue(job);
    this.onChange();
  }

  kill(jobId: string): Promise<void> {
    return this.inner.kill(jobId);
  }

  issuedJobIds(): ReadonlySet<string> {
    return this.inner.issuedJobIds();
  }

  runningJobs(): readonly RunningJobView[] {
    return this.inner.runningJobs?.() ?? [];
  }

  /** The largest of the nodes registered and those the scaler may launch, resource by resource. */
  maxJobRequirements(): ReturnType<BatchSystem['maxJobRequirements']> {
    const known = this.inner.maxJobRequirements();
    const more = this.launchable();
    if (!more) return known;
    return {
      cores: Math.max(known?.cores ?? 0, more.cores),
      memory: Math.max(known?.memory ?? 0, more.memoryBytes),
      disk: Math.max(known?.disk ?? 0, more.diskBytes),
      preemptable: known?.preemptable ?? false,
    };
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  /**
   * When the job was first found running on an agent: its start as near as the leader can tell
   * (to a reading). Not the issue time, which would count time spent queued as time running and
   * make the policy think jobs run longer than they do.
   */
  runningSince(jobId: string): number {
    let at = this.seenRunning.get(jobId);
    if (at === undefined) {
      at = this.clock.now();
      this.seenRunning.set(jobId, at);
    }
    return at;
  }

  outstandingJobs(): readonly Tracked[] {
    return [...this.outstanding.values()];
  }

  takeEvents(): ClusterEvent[] {
    return this.events.splice(0, this.events.length);
  }
}

/**
 * A cluster manager whose node states belong to the cluster, not to one workflow's framework
 * (Slurm: a drained node is drained for every job): one drain mark serves every workflow, its
 * emptiness covers every job on the node (anyone's), it holds while no workflow runs, and a node
 * is deleted from it (`removeNode`) before its instance is terminated. Mesos has none: its drain
 * marks are per framework.
 */
export type SharedNodeControl = Pick<
  ClusterBatchSystem,
  'clusterAgents' | 'markDraining' | 'unmarkDraining' | 'isEmpty' | 'drain'
> & {
  removeNode(agentId: string): Promise<void>;
  /** The node's machine is gone: nothing is placed there again, and it is deleted once it can be. */
  nodeGone(agentId: string): void;
};

/**
 * Every active workflow's batch system seen as one cluster (the ClusterPort the scaler drives): the
 * union of their queues, and drain marks applied to all of them (any framework could otherwise
 * place a task on a retiring agent), or to the cluster manager itself when its nodes' states are
 * shared (`SharedNodeControl`, Slurm).
 */
export class ClusterWorkload implements ClusterPort {
  private readonly systems = new Set<TrackedBatchSystem>();
  private readonly marked = new Set<string>();
  /** The scaler's last word on preemptable work and on-demand room (keepPreemptableOnSpot). */
  private preemptableOnSpot = false;
  /** With it, the requests that wait for spot though no spot agent could hold them yet. */
  private waitForSpot: ReadonlySet<string> = new Set();
  /** And the preemptable requests placed on on-demand room only (spot risk). */
  private onDemandOnly: ReadonlySet<string> = new Set();
  /** The scaler's last keep-off hints (agent id → placement keys). */
  private keptOff: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  /** Events of batch systems removed before the scaler took them. */
  private readonly leftover: ClusterEvent[] = [];
  /** The cluster's agents when no workflow is running (the cluster manager still knows them). */
  private readonly idleAgents: () => Promise<ClusterAgent[]>;
  private readonly shared: SharedNodeControl | undefined;

  constructor(idleAgents: () => Promise<ClusterAgent[]>, shared?: SharedNodeControl) {
    this.idleAgents = idleAgents;
    this.shared = shared;
  }

  add(system: TrackedBatchSystem): void {
    this.systems.add(system);
    // A new framework must honour marks made before it existed (a shared mark already holds).
    if (!this.shared) for (const a of this.marked) system.inner.markDraining(a);
    system.inner.keepPreemptableOnSpot?.(this.preemptableOnSpot, this.waitForSpot, this.onDemandOnly);
    if (this.keptOff.size > 0) system.inner.keepOff?.(this.keptOff);
  }

  keepOff(byAgent: ReadonlyMap<string, ReadonlySet<string>>): void {
    this.keptOff = byAgent;
    for (const s of this.systems) s.inner.keepOff?.(byAgent);
  }

  keepPreemptableOnSpot(
    on: boolean,
    waitFor: ReadonlySet<string> = new Set(),
    onDemand: ReadonlySet<string> = new Set(),
  ): void {
    this.preemptableOnSpot = on;
    this.waitForSpot = waitFor;
    this.onDemandOnly = onDemand;
    for (const s of this.systems) s.inner.keepPreemptableOnSpot?.(on, waitFor, onDemand);
  }

  remove(system: TrackedBatchSystem): void {
    this.systems.delete(system);
    this.leftover.push(...system.takeEvents());
  }

  get size(): number {
    return this.systems.size;
  }

  /** Agents with our jobs from every framework, and the jobs split by whether they run: one reading. */
  async read(): Promise<ClusterReading> {
    const systems = [...this.systems];
    const first = this.shared ? undefined : systems[0];
    const reports = this.shared
      ? await this.shared.clusterAgents()
      : first
        ? await first.inner.clusterAgents()
        : await this.idleAgents();
    // Our jobs per agent come from every framework.
    const runningIds = new Map<string, string[]>();
    const runningOn = new Map<string, string>();
    for (const s of systems) {
      const rs = s === first ? reports : await s.inner.clusterAgents();
      for (const r of rs) {
        runningIds.set(r.agentId, [...(runningIds.get(r.agentId) ?? []), ...r.runningJobIds]);
        for (const id of r.runningJobIds) runningOn.set(id, r.agentId);
      }
    }
    const agents = reports.map((r) => ({ ...r, runningJobIds: runningIds.get(r.agentId) ?? [] }));
    const queued: QueuedJob[] = [];
    const running: RunningOnAgent[] = [];
    for (const s of systems)
      for (const { job } of s.outstandingJobs()) {
        const shape = {
          id: job.jobId,
          name: job.name,
          cores: job.requirements.cores,
          memoryBytes: job.requirements.memory,
          diskBytes: job.requirements.disk,
          preemptable: job.requirements.preemptable,
          ...(job.onDemandBecause ? { onDemandBecause: job.onDemandBecause } : {}),
        };
        const agentId = runningOn.get(job.jobId);
        if (agentId) running.push({ ...shape, agentId, startedAt: s.runningSince(job.jobId) });
        else queued.push(shape);
      }
    // The switch holds only if every framework honours it (a Slurm one places jobs itself).
    const keepsPreemptableOnSpot = systems.every((s) => typeof s.inner.keepPreemptableOnSpot === 'function');
    // Likewise the keep-off hints (Mesos and Slurm both honour them).
    const keepsOff = systems.every((s) => typeof s.inner.keepOff === 'function');
    return {
      agents,
      queued,
      running,
      ...(keepsPreemptableOnSpot ? {} : { keepsPreemptableOnSpot }),
      ...(keepsOff ? {} : { keepsOff }),
    };
  }

  markDraining(agentId: string): void {
    this.marked.add(agentId);
    if (this.shared) return this.shared.markDraining(agentId);
    for (const s of this.systems) s.inner.markDraining(agentId);
  }

  async unmarkDraining(agentId: string): Promise<void> {
    this.marked.delete(agentId);
    if (this.shared) return this.shared.unmarkDraining(agentId);
    for (const s of this.systems) await s.inner.unmarkDraining(agentId);
  }

  isEmpty(agentId: string): boolean {
    if (this.shared) return this.shared.isEmpty(agentId);
    return [...this.systems].every((s) => s.inner.isEmpty(agentId));
  }

  async forceDrain(agentId: string): Promise<void> {
    if (this.shared) return this.shared.drain(agentId);
    const first = [...this.systems][0];
    if (first) await first.inner.drain(agentId);
  }

  nodeLost(agentId: string, reason: string): string[] {
    this.marked.add(agentId);
    const lost = [...this.systems].flatMap((s) => s.inner.nodeLost(agentId, reason));
    // A gone instance leaves no node behind in the cluster manager.
    this.shared?.nodeGone(agentId);
    return lost;
  }

  async removeNode(agentId: string): Promise<void> {
    this.marked.delete(agentId);
    await this.shared?.removeNode(agentId);
  }

  takeEvents(): ClusterEvent[] {
    return [
      ...this.leftover.splice(0, this.leftover.length),
      ...[...this.systems].flatMap((s) => s.takeEvents()),
    ];
  }
}
