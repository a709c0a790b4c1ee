import { MinHeap } from '../heap.js';
import type { TypeTable } from '../offerings.js';
import { add, archMatches, maxFit, subtract } from '../shapes.js';
import type { ExistingNode, JobRequest, Resources, RunningJob } from '../types.js';

/** A class of identical queued jobs as the cost planner works on it. */
export interface WorkClass {
  readonly key: string;
  readonly name: string;
  readonly firstId: string;
  readonly request: JobRequest;
  /** Seconds each job is expected to take. */
  readonly runtimeSeconds: number;
  /**
   * What bounds the wait for room on existing nodes (LONG_WORK_WAIT_SHARE): the expected runtime,
   * a declared walltime cut to the longest the name ran lately. Absent for a service, or when the
   * objective lets no job wait past targetTime.
   */
  readonly waitBasisSeconds?: number;
  /** Jobs not yet given a place. */
  remaining: number;
  /** Coefficient of variation of the name's recent runtimes; unknown while too few have ended. */
  readonly runtimeSpread?: number;
  /**
   * Why this class of preemptable jobs is planned as on-demand work (`request.preemptable` is
   * false here; the jobs are preemptable and kept off spot nodes by hints): spot risk.
   */
  readonly spotRisk?: string;
}

interface Release {
  readonly at: number;
  readonly res: Resources;
}

export interface NodeTiming {
  /** Seconds from now until the node can take work (0 once registered). */
  readonly availableIn: number;
  /** Running jobs' expected remaining seconds. */
  readonly remainingOf: (job: RunningJob) => number;
}

/**
 * Packs queued work onto one existing node over time: what is free now, then what each running
 * job frees when it is expected to end, placing the largest classes first, starting no job later
 * than `deadline` seconds from now (or the node's availability, if later); a function gives each
 * class its own (long work may start later than short: LONG_WORK_WAIT_SHARE). Mutates
 * `classes[].remaining`; returns how many jobs the node took (`onPlace` hears each placement:
 * class, count, start).
 */
export function packOntoNode(
  node: ExistingNode,
  running: readonly RunningJob[],
  classes: readonly WorkClass[],
  types: TypeTable,
  timing: NodeTiming,
  deadline: number | ((c: WorkClass) => number),
  onPlace?: (c: WorkClass, count: number, at: number) => void,
): number {
  const deadlineOf = typeof deadline === 'number' ? (): number => deadline : deadline;
  const entry = types.byName.get(node.instanceType);
  if (!entry) return 0;
  let free: Resources = entry.packable;
  const releases = new MinHeap<Release>((a, b) => a.at < b.at);
  for (const r of running) {
    free = subtract(free, r);
    releases.push({ at: timing.remainingOf(r), res: r });
  }
  const spot = node.capacityType === 'spot';
  let t = timing.availableIn;
  const availableAt = t;
  const startBy = (c: WorkClass): number => Math.max(deadlineOf(c), availableAt);
  // A loop, not Math.max(...): a queue may hold more classes than a call takes arguments.
  let lastStart = availableAt;
  for (const c of classes) lastStart = Math.max(lastStart, startBy(c));
  let took = 0;
  let left = classes.reduce((s, c) => s + c.remaining, 0);
  for (;;) {
    while (releases.size > 0 && releases.peek()!.at <= t) free = add(free, releases.pop()!.res);
    if (t > lastStart || left === 0) break;
    for (const c of classes) {
      if (c.remaining === 0 || t > startBy(c)) continue;
      const r = c.request;
      if (spot && !r.preemptable) continue;
      if (!archMatches(r, entry.type.architecture)) continue;
      const k = Math.min(c.remaining, maxFit(free, r));
      if (k <= 0) continue;
      c.remaining -= k;
      left -= k;
      took += k;
      free = subtract(free, r, k);
      onPlace?.(c, k, t);
      releases.push({ at: t + c.runtimeSeconds, res: scale(r, k) });
    }
    const next = releases.peek();
    if (!next) break;
    t = next.at;
  }
  return took;
}

function scale(r: Resources, k: number): Resources {
  return {
    cores: r.cores * k,
    memoryBytes: r.memoryBytes * k,
    diskBytes: r.diskBytes * k,
    gpus: (r.gpus ?? 0) * k,
  };
}
