import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Clock } from '../common/clock.js';
import { ToilError, UserInputError } from '../common/errors.js';
import type { LeaseHolder } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import { localHolder, readLeaseRecord } from '../jobstore/lease.js';

/**
 * `toil kill JOBSTORE` (Toil's): a request, kept in the job store, that the leader running the
 * workflow stop. The store is the one thing both sides reach wherever the leader runs (another
 * machine, a cluster's leader node, a daemon), so the request is an object there: `kill.json`,
 * naming the leader generation it is for. The leader looks for it every `KILL_POLL_MS`; one
 * written for an earlier generation (a killed leader's, seen by its `--restart`) stops no one.
 */
export const KILL_KEY = 'kill.json';

/** How often a leader looks for a kill request: one small read, about Toil's own check. */
export const KILL_POLL_MS = 5_000;

export interface KillRequest {
  readonly format: 1;
  readonly generation: number;
  readonly requestedAt: number;
  readonly host: string;
  readonly pid: number;
  /**
   * The leader asked to stop was a daemon's (its lease's `daemon`): once it has stopped, its lease
   * is released and no longer says so, and `toil status` tells from this what resumes the
   * workflow (submitting it to the daemon again, not `--restart`). Absent in older requests.
   */
  readonly daemon?: LeaseHolder['daemon'];
}

/**
 * The run ended because someone asked it to stop (`toil kill`, Ctrl-C or SIGTERM on `toil run`, a
 * cancel at the daemon): an end in error, as Toil's KeyboardInterrupt is, so `--clean always` and
 * `onError` delete the job store after it (runWorkflow), and the message then says so in place of
 * what it said of keeping the store.
 */
export class WorkflowStopRequestedError extends ToilError {
  #deletedBy: string | undefined;

  /**
   * Where the stop came, if not among the jobs: in the workflow's own code, `start` (no job of it
   * was declared yet) or `finish` (every job ran; a --restart runs finish again and no job); or
   * `store`, before the run held the job store, while the store had not answered a read (nothing
   * of the run was written).
   */
  stoppedIn: 'start' | 'finish' | 'store' | undefined;

  /** How many processes the abandoned `start`/`finish` had started that were ended (in-process code). */
  processesEnded: number | undefined;

  /** The workflow's code in this process abandoned a call for this stop, and ended what it started. */
  workflowCodeAbandoned(processesEnded: number): void {
    this.processesEnded = processesEnded;
  }

  /** The stop came while the workflow's `call` ran, which it abandoned. */
  stoppedDuring(call: 'start' | 'finish', _locator: string): void {
    this.stoppedIn = call;
  }

  /** The stop came before the run held the job store, while the store had not answered a read. */
  stoppedWaitingForStore(): void {
    this.stoppedIn = 'store';
  }

  /** The `--clean` policy (`always`, `onError`) that deleted the job store after the stop, if one did. */
  get storeDeletedBy(): string | undefined {
    return this.#deletedBy;
  }

  storeDeleted(locator: string, clean: string): void {
    this.#deletedBy = clean;
    this.message = this.deletedMessage(locator, clean);
  }

  protected deletedMessage(locator: string, clean: string): string {
    return `${this.message}; the job store ${locator} was deleted (--clean ${clean})`;
  }
}

/**
 * The run ended because `toil kill` asked: the job store is kept (unless `--clean` deletes it), and
 * `resume` says what resumes it (`--restart` for a run of its own; a daemon resumes a workflow
 * submitted again).
 */
export class WorkflowKilledError extends WorkflowStopRequestedError {
  #stopped: string;
  readonly #by: string;
  readonly #resume: string;

  constructor(
    locator: string,
    request: KillRequest,
    resume = 'resume with --restart',
    /** Seen once every job had run, before the workflow's finish: there was nothing to kill. */
    afterLastJob = false,
  ) {
    const by = `the workflow was stopped by toil kill (from ${request.host}, pid ${request.pid})`;
    const stopped = `${by}; ${afterLastJob ? 'its jobs had all run, but not its finish,' : 'its running jobs were killed'}`;
    super('WORKFLOW_KILLED', `${stopped} and the job store ${locator} is kept: ${resume}`, {
      details: { locator, generation: request.generation },
    });
    this.#stopped = stopped;
    this.#by = by;
    this.#resume = resume;
  }

  /** No job ran at that moment: said as what it was, the call abandoned and what it started ended. */
  override stoppedDuring(call: 'start' | 'finish', locator: string): void {
    super.stoppedDuring(call, locator);
    const n = this.processesEnded;
    const ended =
      n === undefined || n === 0
        ? ''
        : n === 1
          ? ' (the process it started was ended)'
          : ` (the ${n} processes it started were ended)`;
    this.#stopped =
      call === 'start'
        ? `${this.#by} before its start() returned, so no job had run: start() was abandoned${ended}`
        : `${this.#by} before its finish() returned, every job having run: finish() was abandoned${ended}`;
    this.message =
      call === 'start'
        ? `${this.#stopped} and the job store ${locator} is kept, with no job in it yet: ${this.#resume} (start() runs again)`
        : `${this.#stopped} and the job store ${locator} is kept: ${this.#resume} (finish() runs again, and no job)`;
  }

  protected override deletedMessage(locator: string, clean: string): string {
    return `${this.#stopped} and the job store ${locator} was deleted (--clean ${clean})`;
  }
}

/**
 * The leader now holding the store, if any: its generation, the holder its lease names and when
 * the lease lapses unless renewed (on the holder's clock).
 */
export async function currentLeader(
  store: JobStore,
): Promise<{ generation: number; holder: LeaseHolder; expiresAt?: number } | undefined> {
  // The lease's own reader: a damaged record is said to be the lease, and what that means.
  const record = (await readLeaseRecord(store.objects))?.record;
  if (!record?.holder) return undefined;
  const { generation, holder, expiresAt } = record;
  return { generation, holder, ...(expiresAt !== undefined ? { expiresAt } : {}) };
}

/**
 * Whether `holder` is a process of this very machine and pid namespace (same host name, boot id
 * and pid namespace, as `provablyGone` checks), so its pid may be signalled from here. Without
 * boot id or namespace (not Linux) nothing is proved, and the answer is no.
 */
export function runsHere(holder: LeaseHolder, me: LeaseHolder = localHolder()): boolean {
  return (
    holder.bootId !== undefined &&
    holder.pidNamespace !== undefined &&
    holder.host === me.host &&
    holder.bootId === me.bootId &&
    holder.pidNamespace === me.pidNamespace
  );
}

/**
 * Whether `pid` is still a `toil` process: a leader killed with -9 leaves its pid in the lease
 * record, and another process may have been given that pid since; it must not be signalled.
 */
export function isToilProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .some((arg) => /(^|\/)toil(\.js)?$/.test(arg));
  } catch {
    return false; // gone, or no /proc: nothing proved
  }
}

/**
 * Asks the leader holding `store` to stop. Throws a user error when no leader holds it (nothing
 * runs the workflow, so there is nothing to stop).
 */
export async function requestKill(
  store: JobStore,
  now: number,
): Promise<KillRequest & { readonly leader: LeaseHolder }> {
  await store.assertExists();
  const leader = await currentLeader(store);
  if (!leader)
    throw new UserInputError(
      'NO_LEADER',
      `no leader is running the workflow in job store ${store.locator} (nothing to kill)`,
    );
  const request: KillRequest = {
    format: 1,
    generation: leader.generation,
    requestedAt: now,
    host: hostname(),
    pid: process.pid,
    ...(leader.holder.daemon ? { daemon: leader.holder.daemon } : {}),
  };
  await store.objects.put(KILL_KEY, JSON.stringify(request));
  return { ...request, leader: leader.holder };
}

/**
 * Resolves with the kill request for `generation` once one is in the store, checking every
 * `KILL_POLL_MS`; never, if `signal` aborts first. A read that fails (the store briefly
 * unreachable) is tried again at the next check.
 */
export async function waitForKill(
  store: JobStore,
  generation: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<KillRequest | undefined> {
  for (;;) {
    try {
      await clock.sleep(KILL_POLL_MS, signal);
    } catch {
      return undefined; // the run ended
    }
    const obj = await store.objects.get(KILL_KEY).catch(() => undefined);
    const request = obj && killRequestFor(obj.body, generation);
    if (request) return request;
  }
}

/**
 * The kill request for `generation` in the store now, if any: one last look by a leader whose jobs
 * have all ended, since its regular look comes only every KILL_POLL_MS. A read that fails is none.
 */
export async function killRequestNow(store: JobStore, generation: number): Promise<KillRequest | undefined> {
  const obj = await store.objects.get(KILL_KEY).catch(() => undefined);
  return obj && killRequestFor(obj.body, generation);
}

/** The kill request in `body` if it is addressed to `generation`; one that does not parse is none. */
function killRequestFor(body: Buffer, generation: number): KillRequest | undefined {
  try {
    const request = JSON.parse(body.toString('utf8')) as KillRequest;
    return request.format === 1 && request.generation === generation ? request : undefined;
  } catch {
    return undefined; // not a request a leader can read: not one for it either
  }
}

/**
 * The kill request addressed to the last leader of `store` (the generation its lease names), if
 * one is there: that leader was asked to stop and may have died first (a daemon killed with -9,
 * then `toil kill --force`), so a restarted daemon must not resume the workflow behind the
 * user's back. Unreadable records are no request.
 */
export async function pendingKillRequest(store: JobStore): Promise<KillRequest | undefined> {
  const [obj, leader] = await Promise.all([store.objects.get(KILL_KEY), currentLeader(store)]);
  return obj && leader ? killRequestFor(obj.body, leader.generation) : undefined;
}

/**
 * The kill request that stopped the store's last leader, if one did: addressed to the generation
 * its lease record names, held or released (a leader stopped by it releases its lease, and no
 * leader has led the workflow since while the generation is the same). Unreadable records are none.
 */
export async function killOfLastLeader(store: JobStore): Promise<KillRequest | undefined> {
  const [obj, lease] = await Promise.all([
    store.objects.get(KILL_KEY).catch(() => undefined),
    readLeaseRecord(store.objects).catch(() => undefined),
  ]);
  return obj && lease ? killRequestFor(obj.body, lease.record.generation) : undefined;
}
