import { WorkflowStopRequestedError } from '../leader/killRequest.js';

/**
 * The signals that stop a foreground command as Ctrl-C does. SIGHUP is a closed terminal or a
 * dropped ssh session: Node's default for it ends the process at once, skipping the command's
 * cleanup, which left a launch's leader instance and an autoscaled run's workers running, billing.
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Calls `handler` at each stop signal until the function returned is called. */
export function onStopSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}

/** Resolves at the first stop signal: how a foreground server command waits to be stopped. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const off = onStopSignals(() => {
      off();
      resolve();
    });
  });
}

/** How a run stopped by a signal exits, as a shell reports a process killed by it (128 + its number). */
export const signalExitCode = (signal: NodeJS.Signals): number =>
  signal === 'SIGTERM' ? 143 : signal === 'SIGHUP' ? 129 : 130;

/**
 * How a run cancelled at its leader daemon (`toil cancel`, DELETE /workflows/:id) exits: as a run
 * interrupted by Ctrl-C does, which a cancel stops the same way (its jobs killed, its job store
 * kept unless --clean deletes it), so a script tells a cancelled run from a failed one (1),
 * whoever cancelled it.
 */
export const CANCELLED_EXIT = signalExitCode('SIGINT');

/** A run cancelled by SIGINT (Ctrl-C) or SIGTERM: its jobs are killed, its job store kept unless --clean deletes it. */
export class WorkflowInterruptedError extends WorkflowStopRequestedError {
  readonly signal: NodeJS.Signals;

  constructor(signal: NodeJS.Signals) {
    super('WORKFLOW_CANCELLED', `interrupted by ${signal}`);
    this.signal = signal;
  }
}
