import type { BatchSystem } from '../ports/batchSystem.js';
import type { WorkflowProgress } from './workflowRunner.js';

/**
 * A run's progress with its issued jobs told apart as `toil status` tells them: started on a node
 * (running) or queued in the batch system (waiting), as the batch system has them now. The
 * runner counts every issued job as running, and a job Slurm holds PENDING, one queued for a
 * node still booting, or one single_machine holds for free cores, is not. A batch system that
 * cannot say which have started leaves the progress as it is.
 */
export function startedProgress(
  p: WorkflowProgress,
  batchSystem: Pick<BatchSystem, 'issuedJobIds' | 'runningJobs'>,
): WorkflowProgress {
  if (batchSystem.runningJobs === undefined) return p;
  const issuedCount = p.running + (p.waiting ?? 0);
  const issued = batchSystem.issuedJobIds();
  const started = batchSystem.runningJobs().filter((r) => issued.has(r.jobId)).length;
  const running = Math.min(started, issuedCount);
  return { ...p, running, waiting: issuedCount - running };
}
