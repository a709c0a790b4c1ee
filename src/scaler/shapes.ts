import { formatBytes } from '../common/units.js';
import type { Architecture, JobRequest, Resources } from './types.js';

/** How many copies of `req` fit in `free` at once (Infinity for a job that asks for nothing). */
export function maxFit(free: Resources, req: Resources): number {
  let n = Infinity;
  if (req.cores > 0) n = Math.min(n, Math.floor(free.cores / req.cores + 1e-9));
  if (req.memoryBytes > 0) n = Math.min(n, Math.floor(free.memoryBytes / req.memoryBytes));
  if (req.diskBytes > 0) n = Math.min(n, Math.floor(free.diskBytes / req.diskBytes));
  if ((req.gpus ?? 0) > 0) n = Math.min(n, Math.floor((free.gpus ?? 0) / req.gpus!));
  return Math.max(0, n);
}

export function fitsResources(free: Resources, req: Resources): boolean {
  return (
    req.cores <= free.cores + 1e-9 &&
    req.memoryBytes <= free.memoryBytes &&
    req.diskBytes <= free.diskBytes &&
    (req.gpus ?? 0) <= (free.gpus ?? 0)
  );
}

/** Jobs with the same key are alike to every placement and price: the same shape, market and architecture. */
export function requestKey(r: JobRequest): string {
  return `${r.cores}/${r.memoryBytes}/${r.diskBytes}/${r.gpus ?? 0}/${r.preemptable}/${r.architecture ?? ''}`;
}

export function archMatches(job: JobRequest, arch: Architecture): boolean {
  return job.architecture === undefined || job.architecture === arch;
}

/** The largest fraction of any one resource of `cap` that `req` takes (its "dominant share"). */
export function dominantShare(req: Resources, cap: Resources): number {
  let s = 0;
  if (req.cores > 0) s = Math.max(s, req.cores / cap.cores);
  if (req.memoryBytes > 0) s = Math.max(s, req.memoryBytes / cap.memoryBytes);
  if (req.diskBytes > 0) s = Math.max(s, req.diskBytes / cap.diskBytes);
  if ((req.gpus ?? 0) > 0) s = Math.max(s, req.gpus! / Math.max(1e-9, cap.gpus ?? 0));
  return s;
}

export function subtract(a: Resources, b: Resources, times = 1): Resources {
  return {
    cores: a.cores - b.cores * times,
    memoryBytes: a.memoryBytes - b.memoryBytes * times,
    diskBytes: a.diskBytes - b.diskBytes * times,
    gpus: (a.gpus ?? 0) - (b.gpus ?? 0) * times,
  };
}

export function add(a: Resources, b: Resources, times = 1): Resources {
  return subtract(a, b, -times);
}

export const ZERO: Resources = Object.freeze({ cores: 0, memoryBytes: 0, diskBytes: 0, gpus: 0 });

/** "2 cores, 4.0 GiB memory, 10.0 GiB disk" for messages. */
export function describeRequest(r: JobRequest | Resources): string {
  const parts = [
    `${r.cores} cores`,
    `${formatBytes(r.memoryBytes)} memory`,
    `${formatBytes(r.diskBytes)} disk`,
  ];
  if ((r.gpus ?? 0) > 0) parts.push(`${r.gpus} GPUs`);
  if ('preemptable' in r) parts.push(r.preemptable ? 'preemptable' : 'not preemptable');
  if ('architecture' in r && r.architecture) parts.push(r.architecture);
  return parts.join(', ');
}
