import type { JobRequest, QueuedJob } from './types.js';

/** Identical queued jobs (same name, request and declared walltime) counted together. */
export interface JobClass {
  readonly key: string;
  readonly name: string;
  readonly firstId: string;
  readonly request: JobRequest;
  readonly walltimeSeconds?: number;
  readonly service: boolean;
  count: number;
}

/**
 * Groups a queue by shape so the planners work per class, not per job: a million queued jobs of a
 * few hundred shapes cost a few hundred steps.
 */
export function groupQueue(queue: readonly QueuedJob[]): JobClass[] {
  // No string keys per job: a numeric hash of the fields (names numbered once) picks a bucket and
  // the fields are compared, so a million per-job entries group without a million allocations.
  const nameIds = new Map<string, number>();
  const buckets = new Map<number, JobClass[]>();
  const out: JobClass[] = [];
  for (const j of queue) {
    const n = j.count ?? 1;
    if (n <= 0) continue;
    let nameId = nameIds.get(j.name);
    if (nameId === undefined) nameIds.set(j.name, (nameId = nameIds.size));
    let h = nameId;
    h = Math.imul(h ^ Math.round(j.cores * 1000), 0x9e3779b1);
    h = Math.imul(h ^ Math.floor(j.memoryBytes / 4096), 0x85ebca6b);
    h = Math.imul(h ^ Math.floor(j.diskBytes / 4096), 0xc2b2ae35);
    h = Math.imul(h ^ ((j.gpus ?? 0) * 4 + (j.preemptable ? 2 : 0) + (j.service ? 1 : 0)), 0x27d4eb2f);
    h = Math.imul(h ^ Math.round((j.walltimeSeconds ?? -1) * 10), 0x165667b1);
    const bucket = buckets.get(h);
    const same = bucket?.find((c) => sameClass(c, j));
    if (same) {
      same.count += n;
      continue;
    }
    const c: JobClass = {
      key: `${j.name}\u0000${j.cores}\u0000${j.memoryBytes}\u0000${j.diskBytes}\u0000${j.gpus ?? 0}\u0000${j.preemptable ? 1 : 0}\u0000${j.architecture ?? ''}\u0000${j.walltimeSeconds ?? ''}\u0000${j.service ? 1 : 0}`,
      name: j.name,
      firstId: j.id,
      request: {
        cores: j.cores,
        memoryBytes: j.memoryBytes,
        diskBytes: j.diskBytes,
        gpus: j.gpus ?? 0,
        preemptable: j.preemptable,
        architecture: j.architecture,
      },
      walltimeSeconds: j.walltimeSeconds,
      service: j.service ?? false,
      count: n,
    };
    if (bucket) bucket.push(c);
    else buckets.set(h, [c]);
    out.push(c);
  }
  return out;
}

function sameClass(c: JobClass, j: QueuedJob): boolean {
  const r = c.request;
  return (
    c.name === j.name &&
    r.cores === j.cores &&
    r.memoryBytes === j.memoryBytes &&
    r.diskBytes === j.diskBytes &&
    r.gpus === (j.gpus ?? 0) &&
    r.preemptable === j.preemptable &&
    r.architecture === j.architecture &&
    c.walltimeSeconds === j.walltimeSeconds &&
    c.service === (j.service ?? false)
  );
}
