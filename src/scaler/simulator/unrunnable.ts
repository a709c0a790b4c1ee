import { UserInputError } from '../../common/errors.js';
import type { ScalerConfig } from '../config.js';
import { groupQueue } from '../jobClasses.js';
import { typeTable } from '../offerings.js';
import type { QueuedJob, UnschedulableJob } from '../types.js';
import { findUnschedulable } from '../unschedulable.js';
import type { Trace } from './trace.js';

/**
 * The trace's jobs no node type of the cluster could ever run, by the verdict both policies give
 * a queued job (rule 1: after overhead, spot-only types for non-preemptable work), judged on the
 * whole trace before it runs: a job under others is only queued once they end, hours of simulated
 * time in, and the run then stops with it never run, which the trace said from the start.
 */
export function unrunnableJobs(trace: Trace, config: ScalerConfig): UnschedulableJob[] {
  const queued: QueuedJob[] = trace.jobs.map((j) => ({
    id: j.id,
    name: j.name,
    cores: j.cores,
    memoryBytes: j.memoryBytes,
    diskBytes: j.diskBytes,
    preemptable: j.preemptable,
  }));
  return findUnschedulable(groupQueue(queued), config, typeTable(config));
}

/** Of the other job names that could never run, this many are named (the rest counted). */
const OTHERS_NAMED = 5;

/**
 * Refuses a trace that has a job the cluster could never run, before simulating it: the first
 * such job whole (its request, the largest node type and each constraint that fails), the other
 * names counted and named so all are fixed in one go. `nodeTypesAt` says where the node types
 * come from (`scaler.nodeTypes in FILE`, or the flags). Throws WORKFLOW_WOULD_HANG (exit 2), as `toil run` refuses such a job.
 */
export function refuseUnrunnable(
  trace: Trace,
  tracePath: string,
  config: ScalerConfig,
  nodeTypesAt: string,
): void {
  const unrunnable = unrunnableJobs(trace, config);
  const [first] = unrunnable;
  if (!first) return;
  // Jobs of one name are one entry per shape: a name is counted once.
  const counts = new Map<string, number>();
  for (const u of unrunnable) counts.set(u.jobName, (counts.get(u.jobName) ?? 0) + u.count);
  const others = [...counts].filter(([name]) => name !== first.jobName);
  const firstMore = (counts.get(first.jobName) ?? 0) - first.count;
  const othersToo =
    others.length === 0
      ? ''
      : `; ${others.length} other job name${others.length > 1 ? 's' : ''} cannot run either: ` +
        others
          .slice(0, OTHERS_NAMED)
          .map(([name, n]) => `'${name}' (${n} job${n > 1 ? 's' : ''})`)
          .join(', ') +
        (others.length > OTHERS_NAMED ? ', …' : '');
  throw new UserInputError(
    'WORKFLOW_WOULD_HANG',
    `trace ${tracePath}: ${first.message}` +
      (firstMore > 0 ? ` (and ${firstMore} more '${first.jobName}' job(s) of other shapes)` : '') +
      `, so the run could never finish${othersToo}; give ${nodeTypesAt} a type that fits, or ask less of the job in the trace`,
    {
      trace: tracePath,
      jobs: [...counts.keys()],
      constraints: first.constraints,
    },
  );
}
