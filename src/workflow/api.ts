/**
 * The workflow author's API: what a workflow module imports from 'toil-ts'.
 *
 * This module is bundled INTO every workflow module (`toil run` bundles the workflow with esbuild
 * and resolves 'toil-ts' to this package's own copy), so the worker that later loads the bundle
 * holds two copies of it: the bundle's and its own. Nothing here may rely on object identity
 * across those copies. Job definitions are found through a registry kept on `globalThis` under a
 * `Symbol.for` key, and values are recognised by `Symbol.for` brands, never by `instanceof`.
 * The runtime (job store, file store, worker) lives in other modules and reaches the user's code
 * only through the context objects it passes in.
 */

/** Identifies a file in the job store's file store. Plain string, safe to return and pass on. */
export type FileID = string & { readonly __toilFileId?: never };

/**
 * What a job asks of the node it runs on. Sizes as in Toil: bytes, "600M" (10^6 B each), "2Gi"
 * (2^30 B each). `cores`, `memory` and `disk` may be a promise of an earlier job's value (Toil's
 * PromisedRequirement, e.g. `disk: download.rv('size')`): the leader reads it before it issues the
 * job, under the same ordering rule as a promised input.
 */
export interface Requirements {
  // Promised<unknown>: `rv(path)` has no static type; the leader checks the value it reads.
  /** A number, or one as a string ("2"), as Toil takes it. */
  readonly cores?: number | string | Promised<unknown>;
  readonly memory?: string | number | Promised<unknown>;
  readonly disk?: string | number | Promised<unknown>;
  readonly preemptable?: boolean;
  /** Toil accepts both spellings. */
  readonly preemptible?: boolean;
  /** Expected run time ("30s", "5m", or seconds); informs scheduling, never kills the job. */
  readonly walltime?: string | number;
  /**
   * Toil's checkpoint job: if a job below it fails for good, the successors it added are dropped
   * and it runs again to add them anew, until its own retries are spent. It may have no
   * successors when it is added: it adds them while it runs.
   */
  readonly checkpoint?: boolean;
}

/**
 * A value a job will return, usable before it exists (Toil's `rv()`). Pass it inside the input of
 * a job that runs after the producer (a follow-on of the producer's parent, or a successor of the
 * producer); the leader replaces it with the real value before that job runs.
 */
export interface Promised<T> {
  readonly [PROMISE_BRAND]: true;
  readonly jobId: string;
  readonly path: readonly (string | number)[];
  /** Phantom type carrier; never set. */
  readonly __type?: T;
}

/** A value, or a promise of it, at any depth of a job's input. */
export type Input<T> =
  | T
  | Promised<T>
  | (T extends readonly (infer E)[]
      ? readonly Input<E>[]
      : T extends object
        ? { [K in keyof T]: Input<T[K]> }
        : T);

/** Lines that reach the leader's log (Toil's `logToMaster`). */
export interface JobLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

/** The job's view of the job store's files, and of local scratch space. */
export interface FileStore {
  /** Uploads a local file; the ID is valid in every later job. */
  writeGlobalFile(localPath: string): Promise<FileID>;
  /** Uploads bytes or text. */
  writeGlobalFileBytes(data: Uint8Array | string): Promise<FileID>;
  /** Uploads whatever the stream yields. */
  writeGlobalFileStream(source: AsyncIterable<Uint8Array | string> | NodeJS.ReadableStream): Promise<FileID>;
  /** Downloads to `localPath` (default: a new file in this job's temp dir); resolves to the path. */
  readGlobalFile(fileId: FileID, localPath?: string): Promise<string>;
  /** The file's bytes, in memory. */
  readGlobalFileBytes(fileId: FileID): Promise<Buffer>;
  /** A stream of the file's bytes. */
  readGlobalFileStream(fileId: FileID): Promise<NodeJS.ReadableStream>;
  /**
   * Toil's `import_file`: copies a local file (a path, or a `file:///abs/path` URL) of the node the
   * job runs on into the job store. Removed again if this attempt fails.
   */
  importFile(source: string): Promise<FileID>;
  /** Toil's `export_file`: copies a job store file to a local path (or `file:` URL) of this node. */
  exportFile(fileId: FileID, destination: string): Promise<void>;
  /**
   * The file's size in bytes (Toil's `getGlobalFileSize`; a FileID here is a plain string, so
   * Toil's `fileID.size` is this call).
   */
  getGlobalFileSize(fileId: FileID): Promise<number>;
  /** Deletes the file when this job commits (so a failed attempt deletes nothing). */
  deleteGlobalFile(fileId: FileID): void;
  /** A new empty directory that is removed when the job ends. */
  getLocalTempDir(): Promise<string>;
  /** A path for a new file in this job's temp dir (not created). */
  getLocalTempFile(): Promise<string>;
}

/** A job that has been added to the workflow but has not run yet. */
export interface JobHandle<R> {
  readonly jobId: string;
  readonly name: string;
  /** The job's return value (or the part of it at `path`), for jobs that run after it. */
  rv(): Promised<R>;
  rv(...path: readonly (string | number)[]): Promised<unknown>;
  /** Runs after this job, before its follow-ons. */
  addChild<I, R2>(def: JobDefinition<I, R2>, input: Input<I>, requirements?: Requirements): JobHandle<R2>;
  /**
   * Toil's edge to an existing job (`j3.addChild(j4)`): `job`, added by the same job (or `start`),
   * also runs after this one, once, after all its predecessors. A cycle is refused.
   */
  addChild<R2>(job: JobHandle<R2>): JobHandle<R2>;
  /** Runs after this job and every job below its children. */
  addFollowOn<I, R2>(def: JobDefinition<I, R2>, input: Input<I>, requirements?: Requirements): JobHandle<R2>;
  /** As addChild(job), with a follow-on's edge: `job` also runs after every job below this one's children. */
  addFollowOn<R2>(job: JobHandle<R2>): JobHandle<R2>;
  /**
   * Toil's `encapsulate()`: a handle standing for this job and everything below it. What is added
   * to it (addChild, addFollowOn) runs after this job and all its successors, even those it adds
   * while it runs; its rv() is this job's. It takes this job's predecessors as they are now.
   */
  encapsulate(): JobHandle<R>;
  /**
   * Toil's `addService` on a job not run yet: the service starts after this job has run and
   * before any of its successors, and stops after all of them (see Job.addService).
   */
  addService<I, R2>(
    def: ServiceDefinition<I, R2>,
    input: Input<I>,
    requirements?: Requirements,
  ): ServiceHandle<R2>;
}

/**
 * What a service does (Toil's `Job.Service`): `start` brings it up and returns how to reach it
 * (the value the service's `rv()` promises), `check` is polled while it runs (false, or a throw,
 * means it failed), `stop` brings it down, whatever happened.
 */
export interface Service<R> {
  start(job: Job): Promise<R> | R;
  check?(): Promise<boolean> | boolean;
  stop(job: Job): Promise<void> | void;
}

/** A service added to a job: `rv()` promises what its `start` returned. */
export interface ServiceHandle<R> {
  readonly jobId: string;
  readonly name: string;
  rv(): Promised<R>;
  rv(...path: readonly (string | number)[]): Promised<unknown>;
  /**
   * Toil's `Service.addChild`: a sub-service of the same host that starts once this one has
   * started (so its input may take this one's rv(), e.g. a Spark master's address for a worker).
   * The host's successors wait for it too; all the host's services stop together.
   */
  addChild<I, R2>(
    def: ServiceDefinition<I, R2>,
    input: Input<I>,
    requirements?: Requirements,
  ): ServiceHandle<R2>;
}

/** A service declared at the top level of the workflow module (defineService). */
export interface ServiceDefinition<I, R> {
  readonly [SERVICE_BRAND]: true;
  readonly name: string;
  readonly requirements: Requirements;
  /** Makes the service for one run of it (a class's constructor, or a function over `input`). */
  readonly make: (input: I) => Service<R>;
  /** The job that runs it, registered under the service's name. */
  readonly host: JobDefinition<I, R>;
}

/** What a running job gets as its first argument. */
export interface Job {
  readonly jobId: string;
  readonly name: string;
  /** The job's try, from 1, counting the tries before a --restart; 0 in a debug run (`toil debug-job`), which records nothing. */
  readonly attempt: number;
  /** The requirements in effect (declared, else the workflow's defaults), sizes in bytes. */
  readonly requirements: {
    readonly cores: number;
    readonly memory: number;
    readonly disk: number;
    readonly preemptable: boolean;
    readonly walltimeMs?: number;
  };
  readonly fileStore: FileStore;
  /**
   * Toil's `job.tempDir`: a scratch directory of this job's, made when first read (the same one
   * after), removed when the job ends.
   */
  readonly tempDir: string;
  readonly log: JobLogger;
  addChild<I, R2>(def: JobDefinition<I, R2>, input: Input<I>, requirements?: Requirements): JobHandle<R2>;
  /** An edge from this job to a job it added (see JobHandle.addChild(job)). */
  addChild<R2>(job: JobHandle<R2>): JobHandle<R2>;
  addFollowOn<I, R2>(def: JobDefinition<I, R2>, input: Input<I>, requirements?: Requirements): JobHandle<R2>;
  addFollowOn<R2>(job: JobHandle<R2>): JobHandle<R2>;
  /**
   * Toil's `addService`: runs the service while this job's successors run. It starts after this
   * job returns and before any successor runs, and stops once every successor has completed;
   * several run side by side. It occupies a worker (its requirements) all along. Its `rv()`
   * promises what its `start` returned, for the successors.
   */
  addService<I, R2>(
    def: ServiceDefinition<I, R2>,
    input: Input<I>,
    requirements?: Requirements,
  ): ServiceHandle<R2>;
}

export type JobFunction<I, R> = (job: Job, input: I) => Promise<R | Input<R>> | R | Input<R>;

export interface JobDefinition<I, R> {
  readonly [JOB_BRAND]: true;
  /** Unique within the workflow module; how a worker finds the function. */
  readonly name: string;
  readonly requirements: Requirements;
  readonly fn: JobFunction<I, R>;
}

/** What the leader's side of a workflow can do (in `toil run`, on this machine). */
export interface WorkflowContext {
  /** The workflow's own arguments: everything on the `toil run` line that is not a toil option. */
  readonly args: readonly string[];
  /** Whether this run resumes an existing workflow (`--restart`). */
  readonly restart: boolean;
  readonly log: JobLogger;
  /** Copies a local file (a path, or a `file:///abs/path` URL) into the job store. */
  importFile(source: string): Promise<FileID>;
  /** Copies a job store file to a local path (or `file:` URL), replacing it whole once written. */
  exportFile(fileId: FileID, destination: string): Promise<void>;
  /** The workflow's first job. Call once, from `start`. */
  root<I, R>(def: JobDefinition<I, R>, input: Input<I>, requirements?: Requirements): JobHandle<R>;
}

export interface WorkflowDefinition<R> {
  readonly [WORKFLOW_BRAND]: true;
  /** Builds the root job of a new workflow (not called on --restart). */
  start(ctx: WorkflowContext): Promise<JobHandle<R>> | JobHandle<R>;
  /** Called with the root job's return value once the workflow succeeds (also after --restart). */
  finish?(ctx: WorkflowContext, result: R): Promise<void> | void;
}

export const JOB_BRAND: unique symbol = Symbol.for('toil-ts.job-definition') as never;
export const SERVICE_BRAND: unique symbol = Symbol.for('toil-ts.service-definition') as never;
/**
 * Where the worker puts a service's link to the leader on the `job` it passes to a service's
 * host function: the service's host loop (defineService) is bundled with the workflow, the link
 * is the worker's.
 */
export const SERVICE_CONTROL: unique symbol = Symbol.for('toil-ts.service-control') as never;

/** A running service's link to the leader, through the job store. */
export interface ServiceControl {
  /** Publishes what `start` returned: the leader then runs the host's successors. */
  started(value: unknown): Promise<void>;
  /** Whether the leader has asked the service to stop. */
  stopRequested(): Promise<boolean>;
  /** Waits until the next check (Toil's --servicePollingInterval). */
  pause(): Promise<void>;
}
export const PROMISE_BRAND: unique symbol = Symbol.for('toil-ts.promised') as never;
export const WORKFLOW_BRAND: unique symbol = Symbol.for('toil-ts.workflow') as never;
const REGISTRY_KEY = Symbol.for('toil-ts.job-registry');

/** Where `defineJob` records definitions while a workflow module is being loaded. */
export interface JobRegistry {
  current: Map<string, JobDefinition<unknown, unknown>>;
  /**
   * Workflow modules being loaded now. Set once a process has loaded one (a worker, a leader):
   * at 0, a defineJob runs inside a function after the load, and registers nothing (the worker
   * refuses such a job by name when it is added; registering it would make the next run of that
   * function in a warm worker a duplicate name).
   */
  loading?: number;
  /**
   * Of `current`, the jobs that run a service (defineService's): `--defaultPreemptable` does not
   * reach them, which the autoscaled run's check before launching must know.
   */
  services?: Set<string>;
}

/** The registry shared by every copy of this module in the process. */
export function jobRegistry(): JobRegistry {
  const g = globalThis as Record<symbol, JobRegistry | undefined>;
  let reg = g[REGISTRY_KEY];
  if (!reg) {
    reg = { current: new Map() };
    g[REGISTRY_KEY] = reg;
  }
  return reg;
}

/**
 * Declares a job function. Call at the top level of the workflow module so that every process
 * that loads the module knows the name. Names must be unique within the module.
 */
export function defineJob<I, R>(
  name: string,
  requirements: Requirements,
  fn: JobFunction<I, R>,
): JobDefinition<I, R>;
export function defineJob<I, R>(name: string, fn: JobFunction<I, R>): JobDefinition<I, R>;
export function defineJob<I, R>(
  name: string,
  a: Requirements | JobFunction<I, R>,
  b?: JobFunction<I, R>,
): JobDefinition<I, R> {
  const fn = typeof a === 'function' ? a : b;
  const requirements = typeof a === 'function' ? {} : a;
  if (typeof name !== 'string' || name === '') throw new TypeError('defineJob: a job needs a non-empty name');
  if (typeof fn !== 'function') throw new TypeError(`defineJob('${name}'): expected a job function`);
  const def: JobDefinition<I, R> = Object.freeze({ [JOB_BRAND]: true as const, name, requirements, fn });
  if (jobRegistry().loading === 0) return def;
  const registry = jobRegistry().current;
  if (registry.has(name))
    throw new TypeError(
      `defineJob('${name}'): a job with this name is already defined in this workflow (each job needs a name of its own: it is how a worker finds the function)`,
    );
  registry.set(name, def as JobDefinition<unknown, unknown>);
  return def;
}

/**
 * Declares a service (Toil's `Job.Service` subclass): `make(input)` gives the service object of
 * one run, with `start`, `check` and `stop`. Call at the top level of the workflow module, as
 * defineJob; add it to a job with `job.addService(def, input)`. It runs as a job of its own
 * (named as the service) that starts the service, checks it until the leader says stop, and
 * stops it; a failed check, or a throw, fails it.
 */
export function defineService<I, R>(
  name: string,
  requirements: Requirements,
  make: (input: I) => Service<R>,
): ServiceDefinition<I, R>;
export function defineService<I, R>(name: string, make: (input: I) => Service<R>): ServiceDefinition<I, R>;
export function defineService<I, R>(
  name: string,
  a: Requirements | ((input: I) => Service<R>),
  b?: (input: I) => Service<R>,
): ServiceDefinition<I, R> {
  const make = typeof a === 'function' ? a : b;
  const requirements = typeof a === 'function' ? {} : a;
  if (typeof make !== 'function')
    throw new TypeError(
      `defineService('${name}'): expected a function that makes the service from its input`,
    );
  const host = defineJob<I, R>(name, requirements, async (job, input) => {
    const control = (job as unknown as Record<symbol, ServiceControl | undefined>)[SERVICE_CONTROL];
    if (!control)
      throw new Error(`service '${name}' runs only as a service: add it with addService, not addChild`);
    const service = make(input);
    if (typeof service?.start !== 'function' || typeof service.stop !== 'function')
      throw new TypeError(`service '${name}': its make function must return an object with start and stop`);
    let failure: Error | undefined;
    let value: R;
    try {
      value = await service.start(job);
      await control.started(value);
      while (!(await control.stopRequested())) {
        let ok = true;
        try {
          ok = service.check ? await service.check() : true;
        } catch (e) {
          failure = asError(e);
          break;
        }
        if (!ok) {
          failure = new Error(`service '${name}' failed: its check() returned false`);
          break;
        }
        await control.pause();
      }
    } finally {
      // Toil calls stop whatever happened; a throw from stop counts only when all else went well.
      try {
        await service.stop(job);
      } catch (e) {
        failure ??= asError(e);
      }
    }
    if (failure !== undefined) throw failure;
    return value;
  });
  if (jobRegistry().loading) jobRegistry().services?.add(host.name);
  return Object.freeze({ [SERVICE_BRAND]: true as const, name: host.name, requirements, make, host });
}

/** What a service threw, as an Error (a service may throw anything). */
function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(typeof e === 'string' ? e : (JSON.stringify(e) ?? 'undefined'));
}

const shape = (given: string): string =>
  `expected defineWorkflow({ start(ctx) { ... }, finish?(ctx, result) { ... } }), given ${given}`;

/** Declares the workflow; make it the module's default export. */
export function defineWorkflow<R>(
  def: Omit<WorkflowDefinition<R>, typeof WORKFLOW_BRAND>,
): WorkflowDefinition<R> {
  // A workflow file is bundled, not type-checked: a wrong shape would otherwise surface only when
  // the leader calls it ('workflow.start is not a function').
  const given = typeof def === 'object' && def !== null ? `{ ${Object.keys(def).join(', ')} }` : typeof def;
  if (typeof def !== 'object' || def === null || typeof def.start !== 'function')
    throw new TypeError(`defineWorkflow: no start function: ${shape(given)}`);
  if (def.finish !== undefined && typeof def.finish !== 'function')
    throw new TypeError(`defineWorkflow: finish is not a function: ${shape(given)}`);
  return Object.freeze({ ...def, [WORKFLOW_BRAND]: true as const });
}

export function isJobDefinition(v: unknown): v is JobDefinition<unknown, unknown> {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[JOB_BRAND] === true;
}

export function isServiceDefinition(v: unknown): v is ServiceDefinition<unknown, unknown> {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[SERVICE_BRAND] === true;
}

export function isPromised(v: unknown): v is Promised<unknown> {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[PROMISE_BRAND] === true;
}

export function isWorkflowDefinition(v: unknown): v is WorkflowDefinition<unknown> {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[WORKFLOW_BRAND] === true;
}
