import { WorkflowStopRequestedError } from '../leader/killRequest.js';

/** Resolves at the first SIGINT or SIGTERM: how a foreground server command waits to be stopped. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

/** How a run stopped by SIGINT or SIGTERM exits, as a shell reports a process killed by it. */
export const signalExitCode = (signal: NodeJS.Signals): number => (signal === 'SIGTERM' ? 143 : 130);

/** A run cancelled by SIGINT (Ctrl-C) or SIGTERM: its jobs are killed, its job store kept unless --clean deletes it. */
export class WorkflowInterruptedError extends WorkflowStopRequestedError {
  readonly signal: NodeJS.Signals;

  constructor(signal: NodeJS.Signals) {
    super('WORKFLOW_CANCELLED', `interrupted by ${signal}`);
    this.signal = signal;
  }
}
