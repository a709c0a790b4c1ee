import { EventEmitter } from 'node:events';
import type { TickReport } from '../scaler/tick/report.js';

/**
 * What the daemon tells whoever embeds it (tests, a future operator UI), as typed events:
 * - `tick`: a scaler tick finished, with its report;
 * - `launched`: that tick launched nodes (their instance ids);
 * - `drained`: that tick marked nodes draining;
 * - `workflowFinished`: a workflow run ended (succeeded, failed, or cancelled by its user), with its id and outcome.
 * Events are emitted after the state they describe is in place (the report is `lastTick` in
 * /status; a finished run has its `finishedAt`), so a listener may read the daemon at once.
 */
export interface DaemonEventMap {
  tick: [report: TickReport];
  launched: [nodes: { readonly nodeIds: readonly string[]; readonly tick: number }];
  drained: [nodes: { readonly nodeIds: readonly string[]; readonly tick: number }];
  workflowFinished: [
    run: {
      readonly id: string;
      readonly status: 'succeeded' | 'failed' | 'cancelled';
      readonly jobsRun?: number;
    },
  ];
}

export type DaemonEventName = keyof DaemonEventMap;

export class DaemonEvents extends EventEmitter<DaemonEventMap> {
  /**
   * The next `name` event whose payload satisfies `match` (any, by default). Listen before
   * causing the event: one emitted before the call is not seen.
   */
  next<K extends DaemonEventName>(
    name: K,
    match: (...args: DaemonEventMap[K]) => boolean = () => true,
  ): Promise<DaemonEventMap[K][0]> {
    return new Promise((resolve) => {
      const listener = (...args: DaemonEventMap[K]): void => {
        if (!match(...args)) return;
        this.off(name, listener as never);
        resolve(args[0]);
      };
      this.on(name, listener as never);
    });
  }
}
