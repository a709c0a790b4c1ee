import type { JobCommit, JobTicket } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import { exitProcess, exitWithProcessGroup, ignoreStrayThrowsUntilExit } from './exitTrap.js';
import { runWorkerJob, WORKER_EXIT, type WorkerOptions } from './worker.js';
import { endAttemptOnSigterm, type RunningAttempt } from './workerSignals.js';

/** Leader → warm worker: run this attempt. */
export interface WarmRunRequest {
  readonly type: 'run';
  readonly locator: string;
  readonly jobId: string;
  readonly attempt: number;
  /** The job's ticket as the leader wrote it to the store, so the worker need not read it back. */
  readonly ticket?: JobTicket;
}

/** Warm worker → leader: the attempt ended with this exit code (as `toil worker` would exit). */
export interface WarmRunReply {
  readonly type: 'done';
  readonly jobId: string;
  readonly attempt: number;
  readonly exitCode: number;
  readonly message?: string;
  /** What a job's calls of process.exit after it returned (ignored) say: the leader logs it. */
  readonly warning?: string;
  /**
   * What the job left running after it returned or threw, by kind (`{ Timeout: 1 }`): the worker
   * exits right after this reply instead of taking another job.
   */
  readonly leftOpen?: Readonly<Record<string, number>>;
  /**
   * A callback of the job threw, uncaught: after the job returned (caught; `warning` names it), or
   * while it ran (the job failed of it). The worker exits right after this reply, as for `leftOpen`.
   */
  readonly threwUncaught?: true;
  /**
   * The commit this attempt wrote, sent only once the store acknowledged it (so it is durable,
   * and it is the stored one): the leader applies it without reading it back, one S3 GET less
   * per job. Absent when another attempt's commit stood, or nothing was committed.
   */
  readonly commit?: JobCommit;
}

/**
 * A worker process that stays up and runs one attempt after another, sent over its IPC channel,
 * exactly as `toil worker LOCATOR JOBID --attempt N` would (same code, same commit), minus the
 * ~70 ms of starting Node and loading the module each time. It exits as soon as its leader goes
 * away, so an orphan never commits behind a restarted leader's back.
 *
 * A job that leaves a timer or a handle behind (a forgotten poller, an open connection) would run
 * its code during the next job here, and a throw from it would kill the worker in that job's name
 * and spend that job's retry. So a worker whose job left any retires after that job: it replies
 * with what was left and exits, as a one-shot `toil worker` does once its attempt is over.
 */
export function serveWarmWorker(
  openStore: (locator: string) => Promise<JobStore>,
  options: Omit<WorkerOptions, 'shouldCommit'> = {},
): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a warm worker needs an IPC channel to its leader');
  process.on('disconnect', () => exitWithProcessGroup(WORKER_EXIT.storeFailed));
  // Node makes the stdio streams (a handle each) on first use, which would be the first job's
  // output capture: make them now so they are not taken for something the job left.
  void process.stdout;
  void process.stderr;
  // Stopped by SIGTERM (its leader's batch system stopped, the leader's Slurm job cancelled): what
  // the running job started detached goes too, as with a one-shot worker, and the worker dies of
  // the signal; the files it wrote are deleted. Between jobs there is no attempt to end.
  let attempt: RunningAttempt | undefined;
  const terminated = endAttemptOnSigterm(() => attempt);
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
        const opened = await store;
        let before = openResources();
        const result = await runWorkerJob(opened, msg.jobId, msg.attempt, {
          ...options,
          keepExitTrap: true,
          // A timer the module's top level armed as the first job loaded it is the module's: it
          // retired every warm worker after its first job, blaming that job.
          onModuleLoaded: () => (before = openResources()),
          shouldCommit: () => process.connected,
          ...(process.channel ? { leaderChannel: process.channel } : {}),
          onAttempt: (a) => (attempt = a),
          signalled: terminated,
          ...(msg.ticket ? { ticket: msg.ticket } : {}),
        }).finally(() => (attempt = undefined));
        const leftOpen = await leftOpenAfter(before);
        // Trapped until the reply is made: a timer the job left that calls process.exit meanwhile
        // must not end this worker before it says the job's result.
        const { warning, threwUncaught } = result.releaseExitTrap?.() ?? {};
        reply = {
          type: 'done',
          jobId: msg.jobId,
          attempt: msg.attempt,
          exitCode: result.exitCode,
          ...(result.message === undefined ? {} : { message: result.message }),
          ...(warning ? { warning } : {}),
          ...(leftOpen ? { leftOpen } : {}),
          ...(threwUncaught ? { threwUncaught } : {}),
          ...(result.commit ? { commit: result.commit } : {}),
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
      if (!process.connected) return;
      if (reply.leftOpen || reply.threwUncaught) {
        // What the job left may still go off before the reply is out: it must not end this
        // process with exit code 1 first, which would read as the job's failure.
        ignoreStrayThrowsUntilExit();
        send(reply, () => exitProcess(reply.exitCode));
      } else send(reply);
    });
  });
}

/**
 * Node's requests (a file read, a DNS lookup, a socket write) end by themselves, and an awaited
 * promise-based one stays listed until it is garbage collected, so only timers and handles count.
 */
const REQUEST_KIND = /Req|^(Simple)?(Write|Shutdown)Wrap$|^(Connect|Send)Wrap$/;

/** The timers and handles keeping this process alive, counted by kind. */
function openResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (!REQUEST_KIND.test(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/**
 * An `aws:` job store's S3 client resolves a request a moment (~1 ms seen) before Node hands its
 * keep-alive socket back to the client's pool, where it no longer keeps the process alive: a count
 * taken at once blamed every job of an S3 run for the store's own connection and retired its worker.
 * So when only sockets were added, they get this many 2 ms polls to go back before they count.
 */
const SOCKET_SETTLE_POLLS = 25;
const SOCKET_KIND = /^(TCPSocketWrap|TLSWrap)$/;

/** What the job left open: what `before` did not have, once sockets on their way back are back. */
async function leftOpenAfter(
  before: ReadonlyMap<string, number>,
): Promise<Record<string, number> | undefined> {
  let added = resourcesAdded(before, openResources());
  // Anything else left (a timer) retires the worker anyway: no reason to wait, and its callback
  // must not go off in the wait.
  for (
    let i = 0;
    i < SOCKET_SETTLE_POLLS && added && Object.keys(added).every((k) => SOCKET_KIND.test(k));
    i++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    added = resourcesAdded(before, openResources());
  }
  return added;
}

/** The kinds `after` has more of than `before`, with how many more; undefined when none. */
function resourcesAdded(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): Record<string, number> | undefined {
  const added: Record<string, number> = {};
  for (const [kind, n] of after) {
    const more = n - (before.get(kind) ?? 0);
    if (more > 0) added[kind] = more;
  }
  return Object.keys(added).length > 0 ? added : undefined;
}
