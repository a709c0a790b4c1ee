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
  const byKey = new Map<string, JobClass>();
  for (const j of queue) {
    const key = `${j.name}\u0000${j.cores}\u0000${j.memoryBytes}\u0000${j.diskBytes}\u0000${j.gpus ?? 0}\u0000${j.preemptable ? 1 : 0}\u0000${j.architecture ?? ''}\u0000${j.walltimeSeconds ?? ''}\u0000${j.service ? 1 : 0}`;
    const n = j.count ?? 1;
    if (n <= 0) continue;
    const c = byKey.get(key);
    if (c) c.count += n;
    else
      byKey.set(key, {
        key,
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
      });
  }
  return [...byKey.values()];
}
