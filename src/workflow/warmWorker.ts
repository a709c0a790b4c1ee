import type { JobStore } from '../jobstore/jobStore.js';
import { runWorkerJob, WORKER_EXIT, type WorkerOptions } from './worker.js';

/** Leader → warm worker: run this attempt. */
export interface WarmRunRequest {
  readonly type: 'run';
  readonly locator: string;
  readonly jobId: string;
  readonly attempt: number;
}

/** Warm worker → leader: the attempt ended with this exit code (as `toil worker` would exit). */
export interface WarmRunReply {
  readonly type: 'done';
  readonly jobId: string;
  readonly attempt: number;
  readonly exitCode: number;
  readonly message?: string;
}

/**
 * A worker process that stays up and runs one attempt after another, sent over its IPC channel,
 * exactly as `toil worker LOCATOR JOBID --attempt N` would (same code, same commit), minus the
 * ~70 ms of starting Node and loading the module each time. It exits as soon as its leader goes
 * away, so an orphan never commits behind a restarted leader's back.
 */
export function serveWarmWorker(
  openStore: (locator: string) => Promise<JobStore>,
  options: Omit<WorkerOptions, 'shouldCommit'> = {},
): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a warm worker needs an IPC channel to its leader');
  process.on('disconnect', () => process.exit(WORKER_EXIT.storeFailed));
  const stores = new Map<string, Promise<JobStore>>();
  let chain: Promise<void> = Promise.resolve();
  process.on('message', (msg: WarmRunRequest) => {
    if (msg?.type !== 'run') return;
    chain = chain.then(async () => {
      let store = stores.get(msg.locator);
      if (!store) {
        store = openStore(msg.locator);
        stores.set(msg.locator, store);
      }
      let reply: WarmRunReply;
      try {
        const result = await runWorkerJob(await store, msg.jobId, msg.attempt, {
          ...options,
          shouldCommit: () => process.connected,
        });
        reply = {
          type: 'done',
          jobId: msg.jobId,
          attempt: msg.attempt,
          exitCode: result.exitCode,
          ...(result.message === undefined ? {} : { message: result.message }),
        };
      } catch (e) {
        stores.delete(msg.locator);
        reply = {
          type: 'done',
          jobId: msg.jobId,
          attempt: msg.attempt,
          exitCode: WORKER_EXIT.storeFailed,
          message: (e as Error).message,
        };
      }
      if (process.connected) send(reply);
    });
  });
}
