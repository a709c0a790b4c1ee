import type { Clock } from '../common/clock.js';
import type { AgentReport } from '../mesos/batchSystem.js';
import type { AgentView } from '../mesos/masterClient.js';
import { subtract } from '../mesos/resources.js';
import type { QueuedJob } from '../scaler/types.js';
import type { BatchSystem, IssuedJob, JobUpdate, JobUpdateListener } from './batchSystem.js';
import type { AgentPort, ClusterAgent, RunningOnAgent, WorkloadPort } from './scalerTick.js';

/**
 * What the scaler tick needs from a Mesos batch system beyond the BatchSystem port: agents with
 * our tasks on them, and the race-free drain mark. (`MesosBatchSystem` has all of it.)
 */
export interface DrainableBatchSystem extends BatchSystem {
  agents(): Promise<AgentReport[]>;
  markDraining(agentId: string): void;
  unmarkDraining(agentId: string): Promise<void>;
  isEmpty(agentId: string): boolean;
  drain(agentId: string): Promise<void>;
}

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
  readonly inner: DrainableBatchSystem;
  private readonly clock: Clock;
  private readonly outstanding = new Map<string, Tracked>();
  private readonly completions: { name: string; seconds: number }[] = [];
  private readonly onChange: () => void;

  constructor(inner: DrainableBatchSystem, clock: Clock, onChange: () => void = () => {}) {
    this.inner = inner;
    this.name = inner.name;
    this.clock = clock;
    this.onChange = onChange;
  }

  start(listener: JobUpdateListener): Promise<void> {
    return this.inner.start((u: JobUpdate) => {
      const t = this.outstanding.get(u.jobId);
      if (t && t.job.attempt === u.attempt) {
        this.outstanding.delete(u.jobId);
        if (u.outcome === 'succeeded' && u.wallTimeMs !== undefined)
          this.completions.push({ name: t.job.name, seconds: u.wallTimeMs / 1000 });
        this.onChange();
      }
      listener(u);
    });
  }

  async issue(job: IssuedJob): Promise<void> {
    this.outstanding.set(job.jobId, { job, issuedAt: this.clock.now() });
    await this.inner.issue(job);
    this.onChange();
  }

  kill(jobId: string): Promise<void> {
    return this.inner.kill(jobId);
  }

  issuedJobIds(): ReadonlySet<string> {
    return this.inner.issuedJobIds();
  }

  maxJobRequirements(): ReturnType<BatchSystem['maxJobRequirements']> {
    return this.inner.maxJobRequirements();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  outstandingJobs(): readonly Tracked[] {
    return [...this.outstanding.values()];
  }

  takeCompletions(): { name: string; seconds: number }[] {
    return this.completions.splice(0, this.completions.length);
  }
}

/**
 * Every active workflow's batch system seen as one cluster: the union of their queues, and drain
 * marks applied to all of them (any framework could otherwise place a task on a retiring agent).
 */
export class ClusterWorkload implements WorkloadPort, AgentPort {
  private readonly systems = new Set<TrackedBatchSystem>();
  private lastAgents: AgentReport[] = [];
  private readonly marked = new Set<string>();
  /** Used for agents when no workflow is running (the master still knows them). */
  private readonly fallbackAgents: () => Promise<AgentReport[]>;

  constructor(fallbackAgents: () => Promise<AgentReport[]>) {
    this.fallbackAgents = fallbackAgents;
  }

  add(system: TrackedBatchSystem): void {
    this.systems.add(system);
    // A new framework must honour marks made before it existed.
    for (const a of this.marked) system.inner.markDraining(a);
  }

  remove(system: TrackedBatchSystem): void {
    this.systems.delete(system);
  }

  get size(): number {
    return this.systems.size;
  }

  async agents(): Promise<ClusterAgent[]> {
    const first = [...this.systems][0];
    const reports = first ? await first.inner.agents() : await this.fallbackAgents();
    // Our tasks per agent come from every framework.
    const running = new Map<string, string[]>();
    for (const s of this.systems) {
      const rs = s === first ? reports : await s.inner.agents();
      for (const r of rs) running.set(r.id, [...(running.get(r.id) ?? []), ...r.runningJobIds]);
    }
    this.lastAgents = reports;
    return reports.map((r) => ({
      agentId: r.id,
      hostname: r.hostname,
      ...(typeof r.attributes['instance_id'] === 'string' ? { instanceId: r.attributes['instance_id'] } : {}),
      preemptable: r.preemptable,
      runningJobIds: running.get(r.id) ?? [],
    }));
  }

  markDraining(agentId: string): void {
    this.marked.add(agentId);
    for (const s of this.systems) s.inner.markDraining(agentId);
  }

  async unmarkDraining(agentId: string): Promise<void> {
    this.marked.delete(agentId);
    for (const s of this.systems) await s.inner.unmarkDraining(agentId);
  }

  isEmpty(agentId: string): boolean {
    return [...this.systems].every((s) => s.inner.isEmpty(agentId));
  }

  async forceDrain(agentId: string): Promise<void> {
    const first = [...this.systems][0];
    if (first) await first.inner.drain(agentId);
  }

  workload(): { queued: QueuedJob[]; running: RunningOnAgent[] } {
    const runningOn = new Map<string, string>();
    for (const a of this.lastAgents) for (const id of a.runningJobIds) runningOn.set(id, a.id);
    const queued: QueuedJob[] = [];
    const running: RunningOnAgent[] = [];
    for (const s of this.systems)
      for (const { job, issuedAt } of s.outstandingJobs()) {
        const shape = {
          id: job.jobId,
          name: job.name,
          cores: job.requirements.cores,
          memoryBytes: job.requirements.memory,
          diskBytes: job.requirements.disk,
          preemptable: job.requirements.preemptable,
        };
        const agentId = runningOn.get(job.jobId);
        if (agentId) running.push({ ...shape, agentId, startedAt: issuedAt });
        else queued.push(shape);
      }
    return { queued, running };
  }

  takeCompletions(): { name: string; seconds: number }[] {
    return [...this.systems].flatMap((s) => s.takeCompletions());
  }
}

/** Agents from the master's own view (no framework of ours running): none of our tasks on them. */
export function agentReportsFromMaster(agents: readonly AgentView[]): AgentReport[] {
  return agents.map((a) => ({
    ...a,
    draining: a.drainState !== undefined,
    free: subtract(a.total, a.used),
    runningJobIds: [],
  }));
}
