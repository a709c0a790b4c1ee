import type { JobCommit, JobSpec, Json } from '../jobstore/jobRecords.js';

/**
 * The leader's view of a workflow: which jobs exist, which have run, which may run now. Pure (no
 * I/O), so the same code drives the live leader and the rebuild after a crash, where the commits
 * found in the job store are fed back in, in whatever order they become applicable.
 *
 * Toil's ordering rules: a job's children may run once the job has run; its follow-ons once the
 * job has run and every child's whole subtree (the child, its children and follow-ons, and so
 * on) is done; a job is done when it has run and its children's and follow-ons' subtrees are.
 * The graph is a DAG, not a tree (Toil's `j3.addChild(j4)` of a job `j2` added): a job with
 * several predecessors runs once, when every one of them has released it (each by its own edge's
 * rule), and its being done counts towards each predecessor's subtree.
 */
export type JobState = 'waiting' | 'ready' | 'ran' | 'done' | 'failed';

/** One job as the graph knows it, for reports (`toil status --printDot`): a copy, not a handle. */
export interface JobView {
  readonly id: string;
  readonly name: string;
  readonly state: JobState;
  /** Known once the job has run: its pre-declared successors and those it added while running. */
  readonly children: readonly string[];
  readonly followOns: readonly string[];
  /**
   * The services it starts, known once it ran: a host's own (Toil's addService), a service's
   * sub-services (Service.addChild); so each service hangs below exactly one job.
   */
  readonly services: readonly string[];
  /** A service job (Toil's addService), not an edge of the graph: the job it serves lists it. */
  readonly service?: true;
}

/** An edge into a job from a predecessor that has run. */
interface InEdge {
  readonly from: string;
  readonly kind: 'child' | 'followOn';
}

interface GraphNode {
  readonly spec: JobSpec;
  /** The predecessors that have run, each with its edge's kind (one per edge). */
  readonly preds: InEdge[];
  /** How many of the job's edges in have released it; it is ready once all have. */
  released: number;
  state: JobState;
  children: readonly string[];
  followOns: readonly string[];
  childrenLeft: number;
  followOnsLeft: number;
  returnValue: Json | undefined;
  /** A host's services (Toil's addService), known once it ran; its successors wait for them. */
  services: readonly string[];
  /** Of them, those not started yet, and those not ended yet. */
  servicesToStart: number;
  servicesRunning: number;
  /** For a service: the job it was added to, and whether it has started. */
  host?: string;
  started?: boolean;
}

export class JobGraph {
  private readonly specs = new Map<string, JobSpec>();
  /** Edges into each job, counted when the specs that declare them become known. */
  private readonly inDegree = new Map<string, number>();
  private readonly nodes = new Map<string, GraphNode>();
  private readonly readyQueue: string[] = [];
  private ranCount = 0;
  private failedIds = new Set<string>();
  /** Which job's commit declared each job (none for those `start` declared), and the reverse. */
  private readonly creatorOf = new Map<string, string>();
  private readonly createdBy = new Map<string, string[]>();
  /** Services whose host's successors are all done, so they may stop (takeServicesToStop). */
  private readonly stopQueue: string[] = [];
  readonly rootId: string;

  constructor(initialJobs: readonly JobSpec[], rootId: string) {
    this.register(initialJobs, [], []);
    this.rootId = rootId;
    this.makeReady(this.nodeOf(rootId, undefined));
  }

  /** Jobs that became ready since the last call, in the order they did. */
  takeReady(): string[] {
    return this.readyQueue.splice(0, this.readyQueue.length);
  }

  spec(jobId: string): JobSpec {
    const spec = this.specs.get(jobId);
    if (!spec) throw new Error(`unknown job ${jobId}`);
    return spec;
  }

  state(jobId: string): JobState | undefined {
    return this.nodes.get(jobId)?.state;
  }

  /** A job's name, for errors that name it; undefined for a job this graph does not hold. */
  nameOf(jobId: string): string | undefined {
    return this.specs.get(jobId)?.name;
  }

  /** The raw return value of a job that has run (promises inside it unresolved). */
  returnValueOf(jobId: string): Json {
    const node = this.nodes.get(jobId);
    if (!node || node.returnValue === undefined) {
      const name = this.specs.get(jobId)?.name ?? 'unknown';
      throw new PromiseNotReadyError(jobId, name);
    }
    return node.returnValue;
  }

  /**
   * Applies a job's commit: registers the jobs it created and makes its first successors ready.
   * Returns the specs the commit introduced (for checks such as "too big"). A commit for a job
   * that is not ready or already ran is ignored (it returns []), so replaying is idempotent.
   */
  applyCommit(commit: JobCommit): JobSpec[] {
    const node = this.nodes.get(commit.jobId);
    if (!node || (node.state !== 'ready' && node.state !== 'failed')) return [];
    if (node.spec.service) {
      this.serviceEnded(node, commit.returnValue);
      return [];
    }
    this.register(commit.newJobs, commit.children, commit.followOns);
    for (const s of commit.newJobs) this.creatorOf.set(s.id, commit.jobId);
    if (commit.newJobs.length > 0)
      this.createdBy.set(
        commit.jobId,
        commit.newJobs.map((s) => s.id),
      );
    if (node.state === 'failed') this.failedIds.delete(commit.jobId);
    node.state = 'ran';
    node.returnValue = commit.returnValue;
    this.ranCount++;
    node.children = [...node.spec.children, ...commit.children];
    node.followOns = [...node.spec.followOns, ...commit.followOns];
    node.childrenLeft = node.children.length;
    node.followOnsLeft = node.followOns.length;
    for (const id of node.children)
      this.nodeOf(id, node.spec.id).preds.push({ from: node.spec.id, kind: 'child' });
    for (const id of node.followOns)
      this.nodeOf(id, node.spec.id).preds.push({ from: node.spec.id, kind: 'followOn' });
    node.services = [...(node.spec.services ?? []), ...(commit.services ?? [])];
    node.servicesToStart = node.servicesRunning = node.services.length;
    for (const id of node.services) {
      const service = this.nodeOf(id, node.spec.id);
      service.host = node.spec.id;
      // A sub-service (Toil's Service.addChild) waits for its parent service to start.
      if (service.spec.afterService === undefined) this.makeReady(service);
    }
    // Toil: a job's services start before any of its successors runs.
    if (node.servicesToStart === 0) this.releaseSuccessors(node);
    return commit.newJobs.slice();
  }

  /**
   * A service has started, with `value` (what its start returned, which its rv() promises); once
   * all of its host's have, the host's successors may run.
   */
  serviceStarted(jobId: string, value: Json): void {
    const node = this.nodes.get(jobId);
    if (!node?.spec.service || node.started || node.state !== 'ready') return;
    node.started = true;
    node.returnValue = value;
    const host = this.nodes.get(node.host!)!;
    for (const id of host.services) {
      const sub = this.nodes.get(id);
      if (sub?.spec.afterService === jobId && sub.state === 'waiting') this.makeReady(sub);
    }
    if (--host.servicesToStart === 0) this.releaseSuccessors(host);
  }

  /** The service ended (it committed): once all its host's have, the host may be done. */
  private serviceEnded(node: GraphNode, value: Json): void {
    if (!node.started) this.serviceStarted(node.spec.id, value);
    node.state = 'done';
    node.returnValue = value;
    this.ranCount++;
    const host = this.nodes.get(node.host!)!;
    if (--host.servicesRunning === 0 && host.state === 'ran' && this.successorsDone(host))
      this.finish([host]);
  }

  /** The services of `jobId` (a host), as its commit and spec declared them. */
  servicesOf(jobId: string): readonly string[] {
    return this.nodes.get(jobId)?.services ?? [];
  }

  /** The job a service was added to. */
  hostOf(jobId: string): string | undefined {
    return this.nodes.get(jobId)?.host;
  }

  /** Whether the service has started (its value is known). */
  isStarted(jobId: string): boolean {
    return this.nodes.get(jobId)?.started === true;
  }

  /**
   * The jobs below `jobId` (its successors, theirs, and so on, as far as the graph knows them)
   * that have neither run nor failed, nearest first: what a failure at `jobId` kept from running.
   */
  notRunBelow(jobId: string): string[] {
    const out: string[] = [];
    const seen = new Set([jobId]);
    const todo = [jobId];
    for (let i = 0; i < todo.length; i++) {
      const node = this.nodes.get(todo[i]!);
      const spec = this.specs.get(todo[i]!);
      const ran = node?.state === 'ran' || node?.state === 'done';
      const next = ran
        ? [...node.children, ...node.followOns]
        : [...(spec?.children ?? []), ...(spec?.followOns ?? [])];
      for (const id of next) {
        if (seen.has(id)) continue;
        seen.add(id);
        todo.push(id);
        const state = this.nodes.get(id)?.state;
        if (state !== 'ran' && state !== 'done' && state !== 'failed') out.push(id);
      }
    }
    return out;
  }

  /**
   * Every job known that has not run (or ran and has to run again): those a --restart still has
   * to issue, in the order they became known.
   */
  notRun(): JobSpec[] {
    return [...this.specs.values()].filter((spec) => {
      const state = this.nodes.get(spec.id)?.state;
      return state !== 'ran' && state !== 'done';
    });
  }

  /** Services whose host's successors have all completed, since the last call: stop them. */
  takeServicesToStop(): string[] {
    return this.stopQueue.splice(0, this.stopQueue.length);
  }

  /**
   * Whether `jobId` runs after `ancestor` by the graph's edges (a successor of it, of those, …),
   * or is one of its services.
   */
  isDescendant(jobId: string, ancestor: string): boolean {
    const todo = [jobId];
    const seen = new Set(todo);
    for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
      const node = this.nodes.get(id);
      if (!node) continue;
      const up = [...node.preds.map((e) => e.from), ...(node.host !== undefined ? [node.host] : [])];
      for (const p of up) {
        if (p === ancestor) return true;
        if (!seen.has(p)) {
          seen.add(p);
          todo.push(p);
        }
      }
    }
    return false;
  }

  private releaseSuccessors(node: GraphNode): void {
    if (node.childrenLeft > 0) for (const id of node.children) this.release(id);
    else this.childrenDone(node);
  }

  private successorsDone(node: GraphNode): boolean {
    return node.childrenLeft === 0 && node.followOnsLeft === 0;
  }

  /** The job failed for good (retries spent): its successors never run; the workflow cannot finish. */
  markFailed(jobId: string): void {
    const node = this.nodes.get(jobId);
    // A checkpoint that ran fails when a job below it failed and it has no rerun left.
    if (!node || !(node.state === 'ready' || (node.state === 'ran' && node.spec.checkpoint))) return;
    node.state = 'failed';
    this.failedIds.add(jobId);
  }

  /**
   * The nearest checkpoint job above `jobId` (Toil's checkpoint): the job whose commit, or whose
   * creator's commit and so on, declared it. A job's predecessors were all declared by its creator
   * or are its creator, so every path up from it meets this checkpoint.
   */
  checkpointAbove(jobId: string): string | undefined {
    for (let c = this.creatorOf.get(jobId); c !== undefined; c = this.creatorOf.get(c))
      if (this.specs.get(c)?.checkpoint) return c;
    return undefined;
  }

  /** Whether `jobId` was declared by `ancestor`'s commit or by a job below it. */
  isBelow(jobId: string, ancestor: string): boolean {
    for (let c = this.creatorOf.get(jobId); c !== undefined; c = this.creatorOf.get(c))
      if (c === ancestor) return true;
    return false;
  }

  /**
   * Toil's checkpoint rerun: forgets every job the checkpoint's run declared and all below them
   * (the checkpoint had no successors of its own when declared, so that is everything it leads
   * to) and makes it ready again, as if it had never run. Returns the ids forgotten.
   */
  restartCheckpoint(jobId: string): string[] {
    const node = this.nodes.get(jobId);
    if (!node?.spec.checkpoint || node.state !== 'ran')
      throw new Error(`job ${jobId} is not a checkpoint job that ran`);
    const removed: string[] = [];
    const todo = [...(this.createdBy.get(jobId) ?? [])];
    this.createdBy.delete(jobId);
    for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
      removed.push(id);
      todo.push(...(this.createdBy.get(id) ?? []));
      this.createdBy.delete(id);
      const state = this.nodes.get(id)?.state;
      if (state === 'ran' || state === 'done') this.ranCount--;
      this.nodes.delete(id);
      this.specs.delete(id);
      this.inDegree.delete(id);
      this.failedIds.delete(id);
      this.creatorOf.delete(id);
    }
    const gone = new Set(removed);
    const queued = this.readyQueue.filter((id) => !gone.has(id));
    this.readyQueue.splice(0, this.readyQueue.length, ...queued);
    this.ranCount--;
    node.returnValue = undefined;
    node.children = [];
    node.followOns = [];
    node.childrenLeft = 0;
    node.followOnsLeft = 0;
    node.services = [];
    node.servicesToStart = node.servicesRunning = 0;
    this.makeReady(node);
    return removed;
  }

  get failed(): ReadonlySet<string> {
    return this.failedIds;
  }

  isDone(): boolean {
    return this.nodes.get(this.rootId)?.state === 'done';
  }

  /** Jobs known so far (declared by a job that ran) and jobs that have run. */
  counts(): { known: number; ran: number; failed: number } {
    return { known: this.nodes.size, ran: this.ranCount, failed: this.failedIds.size };
  }

  /** Every job known so far, each after the job that declared it (the order they became known). */
  jobs(): JobView[] {
    return [...this.nodes.values()].map((n) => ({
      id: n.spec.id,
      name: n.spec.name,
      state: n.state,
      children: n.children.slice(),
      followOns: n.followOns.slice(),
      services: this.startedBy(n),
      ...(n.spec.service ? { service: true as const } : {}),
    }));
  }

  /** The services `node` starts: a host's without a parent service, or a service's sub-services. */
  private startedBy(node: GraphNode): string[] {
    const host = node.spec.service ? this.nodes.get(node.host!) : node;
    const parent = node.spec.service ? node.spec.id : undefined;
    return (host?.services ?? []).filter((id) => this.specs.get(id)?.afterService === parent);
  }

  /**
   * Records specs that became known, and counts the edges into jobs that they and a commit declare.
   * Every edge into a job comes with the job's own spec (the same running job declared both): a
   * job's count is complete before any predecessor can release it. An edge to a job declared
   * elsewhere, or the same edge twice, is a damaged record.
   */
  private register(
    specs: readonly JobSpec[],
    children: readonly string[],
    followOns: readonly string[],
  ): void {
    const batch = new Set(specs.map((s) => s.id));
    const edges: [string | undefined, readonly string[]][] = [
      [undefined, [...children, ...followOns]],
      ...specs.map((s): [string, readonly string[]] => [s.id, [...s.children, ...s.followOns]]),
    ];
    for (const [from, targets] of edges) {
      const seen = new Set<string>();
      for (const id of targets) {
        const name = this.specs.get(id)?.name;
        if (!batch.has(id))
          throw new Error(
            name === undefined
              ? `job ${id} is a successor of ${from ?? 'the job that ran'} but was never declared`
              : `job ${id} (${name}) was added to the workflow twice`,
          );
        if (seen.has(id))
          throw new Error(`job ${id} was added to the workflow twice (two edges from one job)`);
        seen.add(id);
      }
    }
    for (const spec of specs) this.specs.set(spec.id, spec);
    for (const [, targets] of edges)
      for (const id of targets) this.inDegree.set(id, (this.inDegree.get(id) ?? 0) + 1);
  }

  /** The job's node, made when its first predecessor runs. */
  private nodeOf(id: string, predecessor: string | undefined): GraphNode {
    const known = this.nodes.get(id);
    if (known) return known;
    const spec = this.specs.get(id);
    if (!spec)
      throw new Error(`job ${id} is a successor of ${predecessor ?? 'nothing'} but was never declared`);
    const node: GraphNode = {
      spec,
      preds: [],
      released: 0,
      state: 'waiting',
      children: [],
      followOns: [],
      childrenLeft: 0,
      followOnsLeft: 0,
      returnValue: undefined,
      services: [],
      servicesToStart: 0,
      servicesRunning: 0,
    };
    this.nodes.set(id, node);
    return node;
  }

  /** One predecessor's edge lets the job go; it is ready once every edge into it has. */
  private release(id: string): void {
    const node = this.nodes.get(id)!;
    node.released++;
    if (node.state === 'waiting' && node.released >= (this.inDegree.get(id) ?? 0)) this.makeReady(node);
  }

  private makeReady(node: GraphNode): void {
    node.state = 'ready';
    this.readyQueue.push(node.spec.id);
  }

  /**
   * The job has run and its children's subtrees are done: releases its follow-ons, or, having
   * none, marks it done and tells its predecessors, as far up as that finishes them. A loop, not
   * recursion: a chain of follow-ons may be thousands deep.
   */
  private childrenDone(start: GraphNode): void {
    if (start.followOnsLeft > 0) for (const id of start.followOns) this.release(id);
    else this.finish([start]);
  }

  /**
   * Marks the jobs done whose successors all are, and tells their predecessors, as far up as that
   * finishes them. A job with services still running waits for them: they are asked to stop now
   * (Toil: stopped after all the host's successors have completed), and it is done once they end.
   */
  private finish(finished: GraphNode[]): void {
    for (let node = finished.pop(); node; node = finished.pop()) {
      if (node.servicesRunning > 0) {
        this.stopQueue.push(...node.services);
        continue;
      }
      node.state = 'done';
      for (const edge of node.preds) {
        const pred = this.nodes.get(edge.from)!;
        if (edge.kind === 'followOn') {
          if (--pred.followOnsLeft === 0) finished.push(pred);
        } else if (--pred.childrenLeft === 0) {
          if (pred.followOnsLeft > 0) for (const id of pred.followOns) this.release(id);
          else finished.push(pred);
        }
      }
    }
  }
}

/** A job's input refers to the return value of a job that has not run yet. */
export class PromiseNotReadyError extends Error {
  constructor(jobId: string, name: string) {
    super(
      `the input refers to the return value of job '${name}' (${jobId}), which has not run yet (a promise may only be passed to jobs that run after its producer)`,
    );
  }
}
