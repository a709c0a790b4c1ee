import type { JobCommit, JobSpec, Json } from '../jobstore/jobRecords.js';

/**
 * The leader's view of a workflow: which jobs exist, which have run, which may run now. Pure (no
 * I/O), so the same code drives the live leader and the rebuild after a crash, where the commits
 * found in the job store are fed back in, in whatever order they become applicable.
 *
 * Toil's ordering rules: a job's children may run once the job has run; its follow-ons once the
 * job has run and every child's whole subtree (the child, its children and follow-ons, and so
 * on) is done; a job is done when it has run and its children's and follow-ons' subtrees are.
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
}

interface GraphNode {
  readonly spec: JobSpec;
  readonly parent: string | undefined;
  readonly role: 'root' | 'child' | 'followOn';
  state: JobState;
  children: readonly string[];
  followOns: readonly string[];
  childrenLeft: number;
  followOnsLeft: number;
  returnValue: Json | undefined;
}

export class JobGraph {
  private readonly specs = new Map<string, JobSpec>();
  private readonly nodes = new Map<string, GraphNode>();
  private readonly readyQueue: string[] = [];
  private ranCount = 0;
  private failedIds = new Set<string>();
  readonly rootId: string;

  constructor(initialJobs: readonly JobSpec[], rootId: string) {
    for (const spec of initialJobs) this.specs.set(spec.id, spec);
    this.rootId = rootId;
    this.addNode(rootId, undefined, 'root');
    this.makeReady(rootId);
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
    for (const spec of commit.newJobs) this.specs.set(spec.id, spec);
    if (node.state === 'failed') this.failedIds.delete(commit.jobId);
    node.state = 'ran';
    node.returnValue = commit.returnValue;
    this.ranCount++;
    node.children = [...node.spec.children, ...commit.children];
    node.followOns = [...node.spec.followOns, ...commit.followOns];
    node.childrenLeft = node.children.length;
    node.followOnsLeft = node.followOns.length;
    for (const id of node.children) this.addNode(id, node.spec.id, 'child');
    for (const id of node.followOns) this.addNode(id, node.spec.id, 'followOn');
    this.advance(node);
    return commit.newJobs.slice();
  }

  /** The job failed for good (retries spent): its successors never run; the workflow cannot finish. */
  markFailed(jobId: string): void {
    const node = this.nodes.get(jobId);
    if (!node || node.state !== 'ready') return;
    node.state = 'failed';
    this.failedIds.add(jobId);
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
    }));
  }

  private addNode(id: string, parent: string | undefined, role: GraphNode['role']): void {
    const spec = this.specs.get(id);
    if (!spec) throw new Error(`job ${id} is a successor of ${parent ?? 'nothing'} but was never declared`);
    if (this.nodes.has(id)) throw new Error(`job ${id} (${spec.name}) was added to the workflow twice`);
    this.nodes.set(id, {
      spec,
      parent,
      role,
      state: 'waiting',
      children: [],
      followOns: [],
      childrenLeft: 0,
      followOnsLeft: 0,
      returnValue: undefined,
    });
  }

  private makeReady(id: string): void {
    const node = this.nodes.get(id)!;
    node.state = 'ready';
    this.readyQueue.push(id);
  }

  /** Moves a job that has run, and then its ancestors, as far along as their successors allow. */
  private advance(start: GraphNode): void {
    let node: GraphNode | undefined = start;
    while (node) {
      if (node.childrenLeft > 0) {
        if (node === start) for (const id of node.children) this.makeReady(id);
        return;
      }
      if (node.followOnsLeft > 0) {
        // Reached when the job has no children (start) or its last child subtree just finished.
        for (const id of node.followOns) this.makeReady(id);
        return;
      }
      node.state = 'done';
      const parent: GraphNode | undefined =
        node.parent === undefined ? undefined : this.nodes.get(node.parent);
      if (!parent) return;
      if (node.role === 'child') {
        parent.childrenLeft--;
        if (parent.childrenLeft > 0) return;
        node = parent; // its follow-ons (if any) are released on the next turn
        if (node.followOnsLeft > 0) {
          for (const id of node.followOns) this.makeReady(id);
          return;
        }
      } else {
        parent.followOnsLeft--;
        if (parent.followOnsLeft > 0) return;
        node = parent;
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
