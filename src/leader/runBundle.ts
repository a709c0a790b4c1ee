import { ToilError } from '../common/errors.js';
import { bundleSubmittedWorkflow, type WorkflowFileAccess } from './workflowFileAccess.js';

/**
 * A resumed run whose saved module is missing could not bundle its workflow file again: the run
 * fails saying so, with why (its code, and whether it is the user's to fix, are the bundle's).
 */
export class RunNotResumedError extends ToilError {
  constructor(id: string, why: ToilError) {
    super(
      why.code,
      `workflow ${id} could not be resumed: its saved module is missing, and its workflow file could not be bundled again: ${why.message}`,
      { disposition: why.disposition, cause: why, details: { ...why.details, workflowId: id } },
    );
  }
}

/**
 * A daemon run's workflow file bundled as a submission's is (bounded, in a process of its own),
 * stopped when `stop` aborts (the run cancelled, the leader stopping). A run bundles it only when
 * it holds no bundle: resumed with its saved module missing (`moduleMissing`), a failure says so.
 */
export async function bundleRunWorkflow(o: {
  readonly id: string;
  readonly workflowFile: string;
  readonly stop: AbortSignal;
  readonly moduleMissing: boolean;
  readonly files?: WorkflowFileAccess | undefined;
}): Promise<Uint8Array> {
  try {
    return await bundleSubmittedWorkflow(o.workflowFile, o.files, o.stop);
  } catch (e) {
    if (!o.moduleMissing || o.stop.aborted || !(e instanceof ToilError)) throw e;
    throw new RunNotResumedError(o.id, e);
  }
}
