import { UserInputError } from '../common/errors.js';
import type { ScalerConfig } from '../scaler/config.js';
import { planScaling } from '../scaler/policy.js';
import type { QueuedJob } from '../scaler/types.js';

/** A job shape the workflow declares (its definition's requirements with the run's defaults applied). */
export interface DeclaredJob {
  readonly name: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly preemptable: boolean;
  /** A service: --defaultPreemptable does not reach it, only its own `preemptable: true` does. */
  readonly service?: boolean;
}

export class WorkflowWouldHangError extends UserInputError {
  constructor(message: string, details: Record<string, unknown>) {
    super('WORKFLOW_WOULD_HANG', message, details);
  }
}

/**
 * Refuses scaling flags under which a declared job could never run, before anything is launched.
 * Each job shape is planned alone on an empty cluster with the very policy the run will use: if
 * no allowed node type fits it (unschedulable), or the plan launches nothing for it (a limit, or
 * preemptable work with no spot capacity allowed and no compensation), the run would wait forever.
 * The message names the job and the flag to change. Smoothing is off for the check (one tick of a
 * lone job must launch). Throws WorkflowWouldHangError (exit 2).
 */
export function checkScalingFlags(jobs: readonly DeclaredJob[], config: ScalerConfig): void {
  const check = { ...config, betaInertia: 0 };
  for (const job of jobs) {
    const queued: QueuedJob = {
      id: job.name,
      name: job.name,
      cores: job.cores,
      memoryBytes: job.memoryBytes,
      diskBytes: job.diskBytes,
      preemptable: job.preemptable,
    };
    const plan = planScaling({ now: 0, queued: [queued], running: [], nodes: [] }, check);
    const bad = plan.unschedulable[0];
    if (bad) {
      // A non-preemptable job with only spot types needs an on-demand type, not a bigger one.
      const spotOnly = bad.constraints.some((c) => c.startsWith('preemptable:'));
      const sized = bad.constraints.some((c) => !c.startsWith('preemptable:'));
      const ways = [
        ...(spotOnly
          ? [
              'add an on-demand type to --nodeTypes (one without :BID)',
              job.service
                ? 'declare the service preemptable: true in its requirements (--defaultPreemptible does not reach a service)'
                : 'make the job preemptable (--defaultPreemptible, for a job that does not say)',
            ]
          : []),
        ...(sized
          ? [
              'change --nodeTypes/--nodeType to a bigger type',
              "the job's requirements (--defaultCores/--defaultMemory/--defaultDisk)",
            ]
          : []),
      ];
      throw new WorkflowWouldHangError(
        `job '${job.name}' can never run: ${bad.constraints.join('; ')} (largest allowed node type ${bad.largestNodeType}); ` +
          `${ways.slice(0, -1).join(', ')}${ways.length > 1 ? ', or ' : ''}${ways.at(-1)}`,
        { job: job.name, constraints: bad.constraints },
      );
    }
    if (plan.launch.length === 0) {
      const why = plan.waiting[0]?.reason ?? 'no node would be launched for it';
      const flags = job.preemptable
        ? '--maxPreemptableNodes, --preemptableCompensation, --maxNodes or --nodeTypes'
        : '--maxNodes or --nodeTypes (an on-demand type)';
      throw new WorkflowWouldHangError(
        `job '${job.name}'${job.preemptable ? ' (preemptable)' : ''} would wait forever: ${why}; change ${flags}`,
        { job: job.name, reason: why },
      );
    }
  }
}
