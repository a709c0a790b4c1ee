/**
 * The order in which a batch system offers its queued jobs the room it has: the mesos batch
 * system places by it, and the scaler's simulator, which models that batch system, places by the
 * same function, so what the simulator measures is what the cluster does.
 *
 * Two lists, each largest first (memory, then cores; queue order among equals):
 * - `onDemandFirst`: jobs that take on-demand room first — non-preemptable jobs, and preemptable
 *   jobs no spot agent could hold (the scaler opened on-demand room for them: waiting behind small
 *   non-preemptable jobs for it would only let those take it);
 * - `spotFirst`: the other preemptable jobs, placed on spot room first and on on-demand room only
 *   after `onDemandFirst` had its turn.
 *
 * Largest first because room placed first-fit in queue order goes to whatever small job was queued
 * before a big one: a node launched for a 32-core job fills with 1-core jobs, the big job waits for
 * it to empty and the scaler launches another (a node is not reserved for the job it was launched
 * for). Small jobs fit in what is left, so they are delayed by at most the big jobs of one round.
 */
export interface PlacementShape {
  readonly preemptable: boolean;
  readonly cores: number;
  readonly memory: number;
}

export function placementOrder<J>(
  queue: readonly J[],
  shapeOf: (job: J) => PlacementShape,
  /** Some usable spot agent is big enough for the job. */
  spotCouldHold: (job: J) => boolean,
): { onDemandFirst: J[]; spotFirst: J[] } {
  const largestFirst = (a: J, b: J): number => {
    const x = shapeOf(a);
    const y = shapeOf(b);
    return y.memory - x.memory || y.cores - x.cores;
  };
  const onDemandFirst: J[] = [];
  const spotFirst: J[] = [];
  for (const j of queue) {
    if (shapeOf(j).preemptable && spotCouldHold(j)) spotFirst.push(j);
    else onDemandFirst.push(j);
  }
  // Array.prototype.sort is stable: queue order among equal shapes.
  return { onDemandFirst: onDemandFirst.sort(largestFirst), spotFirst: spotFirst.sort(largestFirst) };
}

/** A job's request as the scaler's keep-off hints name it (`ScalingPlan.keepOff`). */
export interface PlacementRequest {
  readonly cores: number;
  /** Bytes. */
  readonly memory: number;
  /** Bytes. */
  readonly disk: number;
  readonly preemptable: boolean;
}

/**
 * The key of a request in a keep-off hint: the plan names the classes it keeps off a node by it,
 * and the batch system (and the simulator) compare a queued job's own request by the same
 * function, so both sides agree on what a hint covers.
 */
export function placementKey(r: PlacementRequest): string {
  return `${r.cores}/${r.memory}/${r.disk}/${r.preemptable ? 'p' : 'n'}`;
}
