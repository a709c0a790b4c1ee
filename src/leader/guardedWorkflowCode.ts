import type { FinishRequest, StartRequest, StartResult, WorkflowCode } from '../workflow/workflowCode.js';

/** Runs one call of a workflow's own code, with what the daemon does around it (see LeaderDaemon). */
export type AroundWorkflowCode = <T>(call: () => Promise<T>) => Promise<T>;

/**
 * `code` with each of its calls run through `around`: the daemon marks the run as in its code
 * (durably, first) for as long as a call runs, so a leader that dies then knows whose code was
 * running and charges that run alone for it.
 */
export function guardedWorkflowCode(code: WorkflowCode, around: AroundWorkflowCode): WorkflowCode {
  return {
    start: (request: StartRequest): Promise<StartResult> => around(() => code.start(request)),
    jobNames: (request: { readonly modulePath: string }): Promise<string[]> =>
      around(() => code.jobNames(request)),
    finish: (request: FinishRequest): Promise<void> => around(() => code.finish(request)),
  };
}
