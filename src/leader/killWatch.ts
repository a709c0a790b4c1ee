import { Worker } from 'node:worker_threads';
import type { BlockedCallWatch } from '../workflow/workflowCode.js';

/** What a killWatch's thread is given (src/main/killWatchThread.ts). */
export interface KillWatchData {
  /** The job store's absolute locator, opened again in the thread. */
  readonly locator: string;
  /** The generation of the leader a request must name to stop it. */
  readonly generation: number;
  /** One Int32: the watched call's state, a BLOCKED_CALL value. */
  readonly state: SharedArrayBuffer;
  readonly pollMs: number;
}

/** The states of a watched call, which the call and the thread change by compare-and-exchange. */
export const BLOCKED_CALL = { running: 0, ended: 1, interrupting: 2, interrupted: 3 } as const;

/** How long the end of a call waits for the SIGINT its thread has decided to send. */
const SIGNAL_SENT_MS = 1_000;

/**
 * A `toil kill` seen while the workflow's `start()` or `finish()` runs without yielding: the
 * leader's own look at the store (waitForKill) is a timer of the event loop such a call blocks, so
 * a kill waited for the call's end (for ever, in a loop that never ends) where Ctrl-C stops it at
 * once. A thread of its own, which no blocked loop holds up, looks for the request every
 * `pollMs` while the call's synchronous part runs, and stops that part as a Ctrl-C does.
 * `target` is undefined until the leader holds the store (no kill can name it before). `thread` is
 * the module that runs in it: it opens the job store, which this folder may not.
 */
export function killWatch(
  thread: URL | undefined,
  target: () => { readonly locator: string; readonly generation: number } | undefined,
  pollMs: number,
  seen: () => void,
): BlockedCallWatch {
  return {
    begin() {
      const at = target();
      if (!thread || !at) return undefined;
      const state = new SharedArrayBuffer(4);
      const shared = new Int32Array(state);
      const data: KillWatchData = { ...at, state, pollMs };
      const looking = new Worker(thread, { workerData: data });
      looking.unref();
      // A thread that could not start (or whose store would not open) watches nothing: the
      // leader's own look remains, once the call yields.
      looking.on('error', () => {});
      let interrupted: boolean | undefined;
      return {
        end(): boolean {
          if (interrupted !== undefined) return interrupted;
          const was = Atomics.compareExchange(shared, 0, BLOCKED_CALL.running, BLOCKED_CALL.ended);
          if (was === BLOCKED_CALL.interrupting)
            Atomics.wait(shared, 0, BLOCKED_CALL.interrupting, SIGNAL_SENT_MS);
          void looking.terminate();
          interrupted = was !== BLOCKED_CALL.running;
          return interrupted;
        },
        interrupted: seen,
      };
    },
  };
}
