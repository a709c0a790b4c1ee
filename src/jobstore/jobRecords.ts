/**
 * The records the job store keeps, as JSON. Every backend stores the same bytes under the same
 * keys (see jobStore.ts for the layout), so a store written by one leader can be resumed by
 * another, and a worker anywhere reads exactly what the leader wrote.
 */

import { tryParseBytes, tryParseCores } from '../common/units.js';

/** A JSON value. Inputs and return values may hold promise markers (see `PROMISE_MARKER`). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * How a promised value (Toil's `rv()`) is written inside an input or a return value:
 * `{"$toil:rv": {"job": "<jobId>", "path": [..]}}`. The leader replaces markers with the values
 * before a job runs; a return value may itself be a promise (a job returning a follow-on's rv).
 */
export const PROMISE_MARKER = '$toil:rv';

/**
 * The name of the jobs Toil's `encapsulate()` adds around a job (the encapsulating job, whose
 * child is the job, and its follow-on, the encapsulation's end): built in, they run nothing. The
 * encapsulating job's input is `{ encapsulates: jobId }` and it returns that job's promise.
 */
export const ENCAPSULATION_JOB = '$toil:encapsulated';

export interface PromiseRef {
  readonly job: string;
  readonly path: readonly (string | number)[];
}

/** Requirements as the job declared them, sizes already in bytes; unset means "the default". */
export interface DeclaredRequirements {
  readonly cores?: number;
  readonly memory?: number;
  readonly disk?: number;
  readonly preemptable?: boolean;
  readonly walltimeMs?: number;
  /**
   * Requirements given as a promise of an earlier job's value (Toil's PromisedRequirement), as
   * promise markers; the leader reads them before it issues the job (resolvePromisedRequirements).
   */
  readonly promised?: { readonly cores?: Json; readonly memory?: Json; readonly disk?: Json };
}

/** Requirements in effect: declared, else the workflow's defaults. */
export interface ResolvedRequirements {
  readonly cores: number;
  readonly memory: number;
  readonly disk: number;
  readonly preemptable: boolean;
  readonly walltimeMs?: number;
}

/** A job as its creator declared it. Lives inline in the creator's commit (or workflow.json). */
export interface JobSpec {
  readonly id: string;
  /** The registered job name (defineJob) — how a worker finds the function. */
  readonly name: string;
  readonly input: Json;
  readonly requirements: DeclaredRequirements;
  /** Successors declared before the job ran (handle.addChild / handle.addFollowOn). */
  readonly children: readonly string[];
  readonly followOns: readonly string[];
  /**
   * Toil's checkpoint job: when a job below it fails for good, what it added is dropped and it
   * runs again (while it has retries left) to add its successors anew. It has none of its own
   * when declared, so all it leads to comes from its commit, which a rerun replaces.
   */
  readonly checkpoint?: true;
  /**
   * Toil's service job (`addService`): it runs the service its name defines for as long as the
   * job it was added to (its host) has successors to run. Not an edge of the graph: the host's
   * `services` (or its commit's) list it.
   */
  readonly service?: true;
  /** Toil's sub-service (`Service.addChild`): this service starts once that one has started. */
  readonly afterService?: string;
  /** Services added to this job before it ran (its handle's addService). */
  readonly services?: readonly string[];
}

/**
 * What a worker needs to run one job: written by the leader just before it issues the job, with
 * every promise in the input already replaced by its value. Derived data: the leader can always
 * write it again from the commits, so losing one loses nothing.
 */
export interface JobTicket {
  readonly format: 1;
  readonly workflowId: string;
  readonly jobId: string;
  readonly name: string;
  readonly input: Json;
  readonly requirements: ResolvedRequirements;
  readonly module: ModuleRef;
  /** Variables set in the worker's environment while the job runs (Toil's --setEnv). */
  readonly env?: Readonly<Record<string, string>>;
  /** Set for a service job: how often it checks its service and the leader's stop request. */
  readonly service?: { readonly pollMs: number };
  /**
   * The attempt the leader wrote it for (it writes the ticket again before each): a leader
   * resuming the workflow numbers the job's next try after it, so attempt numbers count the
   * job's tries and never repeat. Absent in tickets written before tickets named it.
   */
  readonly attempt?: number;
  /** The generation of the leader that wrote it: a service attempt ends once a newer one holds the store. */
  readonly generation?: number;
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  /** Milliseconds since the epoch on the worker. */
  readonly time: number;
}

/**
 * The single atomic record of a job having run: written once, by the first attempt to finish
 * (conditional create), and never changed. It carries everything the run produced, so that the
 * job's effects appear all at once or not at all.
 */
export interface JobCommit {
  readonly format: 1;
  readonly jobId: string;
  readonly attempt: number;
  readonly returnValue: Json;
  /** Children and follow-ons added while the job ran (pre-declared ones are in its spec). */
  readonly children: readonly string[];
  readonly followOns: readonly string[];
  /** Services added while the job ran (job.addService): their specs are among `newJobs`. */
  readonly services?: readonly string[];
  /** Every job created while the job ran, with their own pre-declared successors. */
  readonly newJobs: readonly JobSpec[];
  /** Files the job deleted; the leader deletes them after reading the commit. */
  readonly deletedFiles: readonly string[];
  readonly logs: readonly LogLine[];
  readonly wallTimeMs: number;
  /** CPU time (user + system) of the worker process while the job ran: what `toil stats` sums. */
  readonly cpuTimeMs?: number;
  /**
   * The worker process's peak resident memory while the job ran, when `peakRssJobOnly`; otherwise
   * the highest of the jobs its warm worker ran so far: an upper bound for this job. Processes the
   * job started are not counted.
   */
  readonly peakRssBytes?: number;
  /**
   * Whether `peakRssBytes` is this job's alone: the worker's high-water mark was reset as the job
   * started (Linux: /proc/self/clear_refs), or the job was the first its worker process ran.
   */
  readonly peakRssJobOnly?: boolean;
  /**
   * The worker process's resident memory as the job started: what Node, the workflow module and
   * earlier jobs of a warm worker held, which `peakRssBytes` includes. The job's own use is the peak
   * above it. Absent from commits of earlier versions.
   */
  readonly startRssBytes?: number;
}

export interface ModuleRef {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
}

/** Options chosen when the workflow was started; --restart may override the defaults. */
export interface WorkflowOptions {
  readonly retryCount: number;
  readonly defaults: ResolvedRequirements;
}

/** The workflow itself: written once when the workflow starts. */
export interface WorkflowRecord {
  readonly format: 1;
  readonly workflowId: string;
  readonly createdAt: number;
  /** The workflow file as the user named it, for messages. */
  readonly workflowFile: string;
  readonly rootJobId: string;
  /** The root job and any successors `start` declared on it. */
  readonly jobs: readonly JobSpec[];
  readonly module: ModuleRef;
  readonly args: readonly string[];
  readonly options: WorkflowOptions;
}

/** Why an attempt failed, written by the worker so a leader on another machine can show it. */
export interface FailureLog {
  readonly format: 1;
  readonly jobId: string;
  readonly attempt: number;
  readonly name: string;
  readonly error: string;
  readonly logs: readonly LogLine[];
  /** The tail of what the job wrote to stdout and stderr. */
  readonly output: string;
}

/** Leader bookkeeping that must survive a restart, and the lease on the store (see lease.ts). */
export interface LeaderRecord {
  readonly format: 1;
  /** Incremented by each leader that runs the workflow; attempts are numbered within it. */
  readonly generation: number;
  /** The leader holding the lease; absent once it released it. */
  readonly holder?: LeaseHolder;
  /** When the lease lapses unless renewed (ms since the epoch, on the holder's clock). */
  readonly expiresAt?: number;
}

/** Who holds a job store's lease: enough to name it to a user and to prove it dead on this machine. */
export interface LeaseHolder {
  /** Fresh per lease. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** Linux: /proc/sys/kernel/random/boot_id, so a pid is only compared within one boot. */
  readonly bootId?: string;
  /** Linux: /proc/self/ns/pid, so a pid is only compared within one pid namespace (container). */
  readonly pidNamespace?: string;
  /**
   * Set when the holder is a leader daemon (`toil leader`) running this workflow among others:
   * stopping one of its workflows must never take the process (and its scaler) down. `run`: the
   * daemon is the one a `toil run … --provisioner aws` started for this workflow alone; it ends
   * with that run, and only `toil run … --restart` resumes the workflow (no daemon restarts).
   */
  readonly daemon?: { readonly workflowId: string; readonly run?: true };
}

/**
 * Where a resumed job's attempts start when its ticket names no attempt (written before tickets
 * did, whose leaders numbered attempts `generation * 1000 + n`) or cannot be read: past every
 * number an earlier leader's attempts had, so (job, attempt) stays unique.
 */
export function attemptPastEarlierLeaders(generation: number): number {
  return generation * 1000 + 1;
}

/**
 * The generation of the leader that issued `attempt` of a job whose ticket names none (see
 * attemptPastEarlierLeaders): tickets written since say it themselves.
 */
export function generationOfUnnamedAttempt(attempt: number): number {
  return Math.floor((attempt - 1) / 1000);
}

/** Resolves declared requirements against defaults. */
export function resolveRequirements(
  declared: DeclaredRequirements,
  defaults: ResolvedRequirements,
): ResolvedRequirements {
  const walltimeMs = declared.walltimeMs ?? defaults.walltimeMs;
  return {
    cores: declared.cores ?? defaults.cores,
    memory: declared.memory ?? defaults.memory,
    disk: declared.disk ?? defaults.disk,
    preemptable: declared.preemptable ?? defaults.preemptable,
    ...(walltimeMs === undefined ? {} : { walltimeMs }),
  };
}

/**
 * The requirements in effect for a job: as `resolveRequirements`, except that a service runs on
 * spot only if it says `preemptable: true` itself (--defaultPreemptable does not reach it). A
 * service is not run again when its node goes (its host's successors hold the value it started
 * with), so a spot reclaim under a service fails the workflow: on-demand is the safe default.
 */
export function resolveJobRequirements(
  spec: Pick<JobSpec, 'service'>,
  declared: DeclaredRequirements,
  defaults: ResolvedRequirements,
): ResolvedRequirements {
  return resolveRequirements(declared, spec.service ? { ...defaults, preemptable: false } : defaults);
}

/** A promised requirement whose value is not one: fails the job (retrying cannot help). */
export class PromisedRequirementError extends Error {}

/**
 * The requirements with each promised one replaced by the producer's value: `cores` a positive
 * number, `memory` and `disk` a size (bytes, or a string like "2Gi"). Throws
 * PromisedRequirementError naming the job, the requirement and the value otherwise.
 */
export function resolvePromisedRequirements(
  declared: DeclaredRequirements,
  returnValueOf: (jobId: string) => Json,
  jobName: string,
  nameOf: JobNameOf = () => undefined,
): DeclaredRequirements {
  const { promised, ...out } = declared;
  if (!promised) return declared;
  const resolved: { -readonly [K in keyof DeclaredRequirements]: DeclaredRequirements[K] } = out;
  for (const key of ['cores', 'memory', 'disk'] as const) {
    const marker = promised[key];
    if (marker === undefined) continue;
    const value = resolvePromises(marker, returnValueOf, nameOf);
    const producer = isPromiseRef(marker) ? jobLabel(marker[PROMISE_MARKER].job, nameOf) : 'unknown';
    const what = `job '${jobName}': its ${key} requirement, the value promised by job ${producer}`;
    if (key === 'cores') {
      const cores = tryParseCores(value);
      if (cores === undefined)
        throw new PromisedRequirementError(
          `${what}, is ${JSON.stringify(value)}, not a positive number of cores`,
        );
      resolved.cores = cores;
    } else {
      const bytes = typeof value === 'string' || typeof value === 'number' ? tryParseBytes(value) : undefined;
      if (bytes === undefined)
        throw new PromisedRequirementError(
          `${what}, is ${JSON.stringify(value)}, not a size (a number of bytes, or a string like "600M" or "2Gi")`,
        );
      resolved[key] = bytes;
    }
  }
  return resolved;
}

export function isPromiseRef(v: unknown): v is { [PROMISE_MARKER]: PromiseRef } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const ref = (v as Record<string, unknown>)[PROMISE_MARKER];
  return typeof ref === 'object' && ref !== null && typeof (ref as PromiseRef).job === 'string';
}

/** Every job id a value's promises refer to. */
export function promisedJobs(value: Json, out: Set<string> = new Set()): Set<string> {
  if (isPromiseRef(value)) {
    out.add(value[PROMISE_MARKER].job);
  } else if (Array.isArray(value)) {
    for (const v of value) promisedJobs(v, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) promisedJobs(v, out);
  }
  return out;
}

/** A job's name, for errors that name the job a promise came from; undefined where unknown. */
export type JobNameOf = (jobId: string) => string | undefined;

/** A job as a user reads it: its name where known (the id alone says nothing), with its id. */
function jobLabel(jobId: string, nameOf: JobNameOf): string {
  const name = nameOf(jobId);
  return name === undefined ? jobId : `'${name}' (${jobId})`;
}

/**
 * Replaces every promise in `value` with the promised value. `returnValueOf` gives a job's raw
 * return value (which may hold promises itself; they are resolved too) or throws if the job has
 * not run.
 */
export function resolvePromises(
  value: Json,
  returnValueOf: (jobId: string) => Json,
  nameOf: JobNameOf = () => undefined,
): Json {
  if (isPromiseRef(value)) {
    const ref = value[PROMISE_MARKER];
    return elementOf(resolvedReturnValue(ref.job, returnValueOf, nameOf), ref, nameOf);
  }
  if (Array.isArray(value)) return value.map((v) => resolvePromises(v, returnValueOf, nameOf));
  if (typeof value === 'object' && value !== null) {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolvePromises(v, returnValueOf, nameOf);
    return out;
  }
  return value;
}

/**
 * A job's return value, its promises resolved. A job that returns its follow-on's promise, whose
 * follow-on returns the next one's (Toil's recursive pattern), makes a chain as long as the
 * workflow is deep: it is followed in a loop, so a chain of any length costs no stack.
 */
function resolvedReturnValue(jobId: string, returnValueOf: (jobId: string) => Json, nameOf: JobNameOf): Json {
  const chain: PromiseRef[] = [];
  const seen = new Set([jobId]);
  let raw = returnValueOf(jobId);
  while (isPromiseRef(raw)) {
    const ref = raw[PROMISE_MARKER];
    if (seen.has(ref.job))
      throw new Error(
        `the return value of job ${jobLabel(jobId, nameOf)} is a promise of itself (through job ${jobLabel(ref.job, nameOf)})`,
      );
    seen.add(ref.job);
    chain.push(ref);
    raw = returnValueOf(ref.job);
  }
  let v = resolvePromises(raw, returnValueOf, nameOf);
  for (let i = chain.length - 1; i >= 0; i--) v = elementOf(v, chain[i]!, nameOf);
  return v;
}

/** The part of a promised job's value that `ref.path` names. */
function elementOf(value: Json, ref: PromiseRef, nameOf: JobNameOf): Json {
  let v = value;
  for (const step of ref.path) {
    // A missing element is the workflow's mistake (Toil's rv(i) raises too), not a null to pass on.
    const element =
      v === null || typeof v !== 'object'
        ? undefined
        : Array.isArray(v)
          ? Number.isInteger(Number(step)) && Number(step) >= 0
            ? v[Number(step)]
            : undefined
          : Object.hasOwn(v, String(step))
            ? v[String(step)]
            : undefined;
    if (element === undefined) {
      const what =
        v === null
          ? 'null'
          : Array.isArray(v)
            ? `an array of ${v.length}`
            : typeof v === 'object'
              ? `an object with keys ${
                  Object.keys(v)
                    .slice(0, 10)
                    .map((k) => JSON.stringify(k))
                    .join(', ') || '(none)'
                }`
              : JSON.stringify(v);
      throw new Error(
        `promised value of job ${jobLabel(ref.job, nameOf)} has no element ${JSON.stringify(step)} (it is ${what})`,
      );
    }
    v = element;
  }
  return v;
}

/**
 * What the leader has issued and where each started attempt runs, as of `at` (`running.json`, for
 * `toil status --printStatus`). Rewritten within seconds of a change and at least once a minute
 * while the run lasts, removed when it ends; like the outcome it belongs to the generation that
 * wrote it, so a record of a leader no longer holding the store describes nothing running.
 */
export interface RunningRecord {
  readonly format: 1;
  readonly generation: number;
  /** When the leader wrote it (ms since the epoch, on the leader's clock). */
  readonly at: number;
  /** The batch system's name (single_machine, mesos, slurm). */
  readonly batchSystem: string;
  /** How many issued attempts run now, and how many wait to start (listed in `jobs` or not). */
  readonly running: number;
  readonly waiting: number;
  /**
   * Jobs ready but issued to no batch system, held back by --maxJobs or a service limit; absent
   * when none is (and in the records of leaders that did not count them).
   */
  readonly held?: number;
  /** The running ones (up to a cluster's worth), then the first of those waiting. */
  readonly jobs: readonly RunningJobRecord[];
  /**
   * Attempts this leader's run lost with their node (a spot reclaim, a node gone), how many and
   * the last of them; absent when none was (and in the records of leaders that did not keep them).
   */
  readonly lostCount?: number;
  readonly lost?: readonly LostAttemptRecord[];
}

/** An attempt lost with its node: where and why, as its batch system said, and what followed. */
export interface LostAttemptRecord {
  readonly jobId: string;
  readonly name: string;
  readonly attempt: number;
  /** When the leader learnt of it (ms since the epoch, on the leader's clock). */
  readonly at: number;
  readonly why: string;
  /** `spot`/`on-demand`: run again there (no retry spent); `committed`: it had, so not run again. */
  readonly next: 'spot' | 'on-demand' | 'moved-to-on-demand' | 'failure' | 'committed';
}

export interface RunningJobRecord {
  readonly jobId: string;
  readonly name: string;
  readonly attempt: number;
  /** `running`: started, where `node` says; `issued`: handed to the batch system, not started yet. */
  readonly state: 'running' | 'issued';
  readonly batchJobId?: string;
  readonly node?: string;
  readonly startedAt?: number;
}

/**
 * How the last leader's run of the workflow ended, written as it ends, so `toil status` can say
 * "failed" (and which jobs) instead of "not finished". Belongs to the generation that wrote it:
 * a later leader (--restart) claims a higher generation, which makes this record stale.
 */
export interface RunOutcomeRecord {
  readonly format: 1;
  readonly generation: number;
  readonly status: 'succeeded' | 'failed';
  readonly at: number;
  /**
   * The jobs that failed for good, each with the first line of its error; `committed` when the
   * failure is in values already committed, which `--restart` does not change.
   */
  readonly failedJobs: readonly {
    readonly jobId: string;
    readonly name: string;
    readonly error: string;
    readonly committed?: true;
  }[];
}

/**
 * The commits of the jobs the workflow's start declared and of those a commit among them
 * declared, and so on: what a leader's replay can reach. The others are orphans: the commits of
 * the jobs a checkpoint's rerun dropped, when its leader was killed after it deleted the
 * checkpoint's commit and before theirs (or could not delete theirs). Their jobs never run again,
 * and the files they name may be gone with the checkpoint's first run.
 */
export function reachableCommits(workflow: WorkflowRecord, commits: readonly JobCommit[]): JobCommit[] {
  const byJob = new Map(commits.map((c) => [c.jobId, c]));
  const reached: JobCommit[] = [];
  const pending = workflow.jobs.map((j) => j.id);
  const seen = new Set(pending);
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    const c = byJob.get(id);
    if (!c) continue;
    reached.push(c);
    for (const j of c.newJobs)
      if (!seen.has(j.id)) {
        seen.add(j.id);
        pending.push(j.id);
      }
  }
  return reached;
}
