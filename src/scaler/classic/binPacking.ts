/**
 * Toil's bin packing over time (`BinPackedFit` / `NodeReservation`, toil.md §1.6), re-expressed:
 * first-fit-decreasing where each planned node is a chain of time slices of its free resources,
 * built in 3600 s "billing hours", and a job may be delayed on a node only if it still starts
 * within targetTime of the node's start.
 */

export const TOIL_NODE_WALLTIME_SECONDS = 3600;

/**
 * The longest run a reservation is planned over: a node is a chain of 3600 s slices, one per hour a
 * job runs, so a job declaring `walltime: '100y'` (or a trace's 1e30 s) would build millions of
 * slices per node and take the leader's memory. Past a week every such job holds its node for the
 * whole plan, so the packing decides nothing differently.
 */
export const MAX_PACKED_WALLTIME_SECONDS = 7 * 24 * 3600;

/** The job as packed: its wall time no longer than the plan. */
function packed(job: ToilShape): ToilShape {
  return job.wallTime > MAX_PACKED_WALLTIME_SECONDS ? { ...job, wallTime: MAX_PACKED_WALLTIME_SECONDS } : job;
}

/** Toil's `Shape`: wall time in seconds, memory and disk in bytes, cores, preemptability. */
export interface ToilShape {
  readonly wallTime: number;
  readonly memory: number;
  readonly cores: number;
  readonly disk: number;
  readonly preemptable: boolean;
}

/** Toil's total order on shapes: preemptable before not, then memory, cores, disk, wall time ascending. */
export function compareShapes(a: ToilShape, b: ToilShape): number {
  if (a.preemptable !== b.preemptable) return a.preemptable ? -1 : 1;
  return a.memory - b.memory || a.cores - b.cores || a.disk - b.disk || a.wallTime - b.wallTime;
}

interface Slice {
  time: number;
  memory: number;
  cores: number;
  disk: number;
}

/** One planned node: its slices in time order. */
export class Reservation {
  readonly slices: Slice[];
  private readonly node: ToilShape;

  constructor(node: ToilShape) {
    this.node = node;
    this.slices = [{ time: node.wallTime, memory: node.memory, cores: node.cores, disk: node.disk }];
  }

  /** Places the first job of a new reservation (Toil's constructor + `adjustEndingReservationForJob` + extension). */
  static openFor(node: ToilShape, whole: ToilShape): Reservation {
    const job = packed(whole);
    const r = new Reservation(node);
    r.adjustEnding(0, job, 0);
    let allocated = node.wallTime;
    while (allocated < job.wallTime) {
      // Toil extends with copies of the first slice's reduced resources, each a full 3600 s.
      const first = r.slices[0]!;
      r.slices.push({ time: node.wallTime, memory: first.memory, cores: first.cores, disk: first.disk });
      allocated += node.wallTime;
    }
    return r;
  }

  /** Toil's `attemptToAddJob`: place the job so it starts within `targetTime`, or leave everything as it was. */
  tryAdd(whole: ToilShape, targetTime: number): boolean {
    const job = packed(whole);
    const s = this.slices;
    let start = 0;
    let end = 0;
    let available = 0;
    let startTime = 0;
    for (;;) {
      const slice = s[end]!;
      if (fits(slice, job)) {
        available += slice.time;
        if (available >= job.wallTime) {
          let covered = 0;
          for (let i = start; i < end; i++) {
            subtract(s[i]!, job);
            covered += s[i]!.time;
          }
          this.adjustEnding(end, job, covered);
          return true;
        }
        if (end === s.length - 1 && start === 0)
          s.push({
            time: this.node.wallTime,
            memory: this.node.memory,
            cores: this.node.cores,
            disk: this.node.disk,
          });
      } else if (startTime + available + slice.time <= targetTime) {
        start = end + 1;
        startTime += available + slice.time;
        available = 0;
      } else return false;
      if (end === s.length - 1) return false;
      end++;
    }
  }

  private adjustEnding(index: number, job: ToilShape, covered: number): void {
    const slice = this.slices[index]!;
    const remaining = job.wallTime - covered;
    if (remaining < slice.time) {
      const rest: Slice = {
        time: slice.time - remaining,
        memory: slice.memory,
        cores: slice.cores,
        disk: slice.disk,
      };
      slice.time = remaining;
      subtract(slice, job);
      this.slices.splice(index + 1, 0, rest);
    } else subtract(slice, job);
  }
}

function fits(slice: Slice, job: ToilShape): boolean {
  return job.memory <= slice.memory && job.cores <= slice.cores + 1e-9 && job.disk <= slice.disk;
}

function subtract(slice: Slice, job: ToilShape): void {
  slice.memory -= job.memory;
  slice.cores -= job.cores;
  slice.disk -= job.disk;
}

/** Does `job` fit an empty node of shape `node`? (spot nodes take only preemptable jobs) */
export function fitsNode(node: ToilShape, job: ToilShape): boolean {
  return (
    job.memory <= node.memory &&
    job.cores <= node.cores + 1e-9 &&
    job.disk <= node.disk &&
    (job.preemptable || !node.preemptable)
  );
}

export interface PackResult {
  /** Reservations (planned nodes) per node shape index (in the caller's order). */
  readonly counts: number[];
  /** Indexes of jobs no node shape fits. */
  readonly couldNotFit: number[];
  readonly reservations: Reservation[][];
}

/**
 * Packs `jobs` onto `nodes` (already after overhead). Node shapes are tried in Toil's sorted
 * order; a job uses the first shape it fits and only that shape's reservations.
 */
export function binPack(
  nodes: readonly ToilShape[],
  jobs: readonly ToilShape[],
  targetTime: number,
): PackResult {
  const order = nodes.map((_, i) => i).sort((a, b) => compareShapes(nodes[a]!, nodes[b]!));
  const reservations: Reservation[][] = nodes.map(() => []);
  const couldNotFit: number[] = [];
  const jobOrder = jobs.map((_, i) => i).sort((a, b) => compareShapes(jobs[b]!, jobs[a]!));
  // Identical consecutive jobs resume where the previous one was placed: reservations before it
  // rejected this shape and have only lost resources since, so the result is Toil's exactly.
  let prev: ToilShape | undefined;
  let resumeAt = 0;
  for (const ji of jobOrder) {
    const job = jobs[ji]!;
    const same = prev !== undefined && compareShapes(prev, job) === 0;
    if (!same) resumeAt = 0;
    prev = job;
    const chosen = order.find((ni) => fitsNode(nodes[ni]!, job));
    if (chosen === undefined) {
      couldNotFit.push(ji);
      continue;
    }
    const list = reservations[chosen]!;
    let placed = false;
    for (let r = resumeAt; r < list.length; r++) {
      if (list[r]!.tryAdd(job, targetTime)) {
        placed = true;
        resumeAt = r;
        break;
      }
    }
    if (!placed) {
      list.push(Reservation.openFor(nodes[chosen]!, job));
      resumeAt = list.length - 1;
    }
  }
  return { counts: reservations.map((l) => l.length), couldNotFit, reservations };
}
