/**
 * Jobs ready but held back by a limit (--maxJobs, --maxServiceJobs), oldest first. A workflow may
 * hold a hundred thousand jobs behind --maxJobs at once: holding one, asking whether one is held
 * and taking the oldest are each O(1) (amortized), where an array searched on every hold and
 * shifted on every take made a run of n held jobs cost O(n²).
 */
export class HeldJobs {
  /** Held ids in the order they were held; `head` is the oldest not taken yet. */
  private order: string[] = [];
  private head = 0;
  private readonly members = new Set<string>();

  get size(): number {
    return this.members.size;
  }

  has(jobId: string): boolean {
    return this.members.has(jobId);
  }

  /** Holds `jobId` behind those held before it; one already held keeps its place. */
  hold(jobId: string): void {
    if (this.members.has(jobId)) return;
    this.members.add(jobId);
    this.order.push(jobId);
  }

  /** Takes the oldest held job, or undefined when none is held. */
  takeOldest(): string | undefined {
    const jobId = this.order[this.head];
    if (jobId === undefined) return undefined;
    this.head++;
    this.members.delete(jobId);
    // The taken part is dropped once it is most of the array: each id is copied O(1) times.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return jobId;
  }

  /** Takes every held job, oldest first. */
  takeAll(): string[] {
    const all = this.order.slice(this.head);
    this.order = [];
    this.head = 0;
    this.members.clear();
    return all;
  }

  /** Drops the held jobs in `jobIds` (a checkpoint's rerun forgot them), keeping the others' order. */
  forget(jobIds: ReadonlySet<string>): void {
    if (![...this.members].some((id) => jobIds.has(id))) return;
    this.order = this.order.slice(this.head).filter((id) => !jobIds.has(id));
    this.head = 0;
    for (const id of jobIds) this.members.delete(id);
  }
}
