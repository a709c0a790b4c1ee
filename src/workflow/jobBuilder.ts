import { randomUUID } from 'node:crypto';
import { suggestNames } from '../common/suggest.js';
import { SIZE_SUFFIXES, tryParseBytes, tryParseDurationMs } from '../common/units.js';
import {
  PROMISE_MARKER,
  promisedJobs,
  type DeclaredRequirements,
  type JobSpec,
  type Json,
} from '../jobstore/jobRecords.js';
import {
  PROMISE_BRAND,
  isJobDefinition,
  isPromised,
  type Input,
  type JobDefinition,
  type JobHandle,
  type Promised,
  type Requirements,
} from './api.js';

/** A job's requirements or input were not what the API accepts. */
export class JobDeclarationError extends Error {}

interface MutableSpec {
  id: string;
  name: string;
  input: Json;
  requirements: DeclaredRequirements;
  children: string[];
  followOns: string[];
}

/** Stands for the job that is running (or, in `start`, for none): the parent of the jobs it adds. */
export const ADDING_JOB = '';

/** Where a job was added: under which job, as a child or a follow-on. */
export interface Placement {
  readonly parent: string;
  readonly kind: 'child' | 'followOn';
}

/**
 * Collects the jobs a running job (or a workflow's `start`) declares, as job specs ready to be
 * committed. Handles returned to the user are plain objects over this collector.
 */
export class JobCollector {
  private readonly created = new Map<string, MutableSpec>();
  private readonly placed = new Map<string, Placement>();
  private readonly topLevelJobs: () => ReadonlyMap<string, JobDefinition<unknown, unknown>> | undefined;

  /**
   * `topLevelJobs`: the jobs the workflow module defined as it loaded, which are all a worker can
   * find by name; a job added that is not one of them is refused (none given: not checked).
   */
  constructor(
    topLevelJobs: () => ReadonlyMap<string, JobDefinition<unknown, unknown>> | undefined = () => undefined,
  ) {
    this.topLevelJobs = topLevelJobs;
  }

  /** The specs declared so far, in declaration order. */
  specs(): JobSpec[] {
    return [...this.created.values()].map((s) => ({
      ...s,
      children: [...s.children],
      followOns: [...s.followOns],
    }));
  }

  /** Declares a new job, added at `at` (default: a child of the adding job), and returns its handle. */
  declare<I, R>(
    def: JobDefinition<I, R>,
    input: Input<I>,
    overrides?: Requirements,
    at: Placement = { parent: ADDING_JOB, kind: 'child' },
  ): JobHandle<R> {
    if (!isJobDefinition(def)) {
      const handle = def as { jobId?: unknown; name?: unknown } | null;
      if (typeof handle === 'object' && handle !== null && typeof handle.jobId === 'string')
        // Toil's `j3.addChild(j4)` of a job that already has a parent, for a DAG.
        throw new JobDeclarationError(
          `addChild/addFollowOn: job '${String(handle.name)}' was already added; a job has one parent here, so Toil's edges to an existing job are not supported (to run a job after several, make it a follow-on of their common parent: it runs after their whole subtrees)`,
        );
      throw new JobDeclarationError('addChild/addFollowOn: expected a job made with defineJob(name, fn)');
    }
    const known = this.topLevelJobs();
    if (known && known.get(def.name) !== (def as JobDefinition<unknown, unknown>)) {
      throw new JobDeclarationError(
        `job '${def.name}' is not defined at the top level of the workflow module (its defineJob ran inside a function, which a worker that loads the module never calls): move defineJob('${def.name}', ...) to the top level`,
      );
    }
    const spec: MutableSpec = {
      id: randomUUID(),
      name: def.name,
      input: encodeValue(input, `input of job '${def.name}'`),
      requirements: parseRequirements({ ...def.requirements, ...overrides }, def.name),
      children: [],
      followOns: [],
    };
    this.refuseUnfinishedProducers(spec, at);
    this.created.set(spec.id, spec);
    this.placed.set(spec.id, at);
    return this.handle<R>(spec);
  }

  private handle<R>(spec: MutableSpec): JobHandle<R> {
    const rv = (...path: (string | number)[]): Promised<never> => makePromise(spec.id, path);
    return {
      jobId: spec.id,
      name: spec.name,
      rv: rv,
      addChild: (def, input, req) => {
        const h = this.declare(def, input, req, { parent: spec.id, kind: 'child' });
        spec.children.push(h.jobId);
        return h;
      },
      addFollowOn: (def, input, req) => {
        const h = this.declare(def, input, req, { parent: spec.id, kind: 'followOn' });
        spec.followOns.push(h.jobId);
        return h;
      },
    };
  }

  /**
   * Refuses an input holding the promise of a job added here that may not have finished when the
   * new job starts: the value would be there or not by timing. Jobs added elsewhere are the
   * leader's to resolve (a running job only holds promises of the jobs it added).
   */
  private refuseUnfinishedProducers(spec: MutableSpec, at: Placement): void {
    for (const producerId of promisedJobs(spec.input)) {
      const producer = this.created.get(producerId);
      if (!producer || this.finishedBefore(producerId, at)) continue;
      const where =
        this.placed.get(producerId)?.kind === 'child'
          ? `a follow-on of the job that added '${producer.name}' (addFollowOn: it runs after every child's whole subtree), or a child of '${producer.name}' (its handle's addChild)`
          : `a child or a follow-on of '${producer.name}' (its handle's addChild or addFollowOn)`;
      throw new JobDeclarationError(
        `job '${spec.name}' is given the value of job '${producer.name}' (its rv()), but may start before '${producer.name}' has finished, so the value would be there or not by timing: add '${spec.name}' as ${where}`,
      );
    }
  }

  /**
   * Whether `producer` has surely finished when a job added at `at` starts (Toil's ordering): a
   * job runs after its parent and the parent's own predecessors, and a follow-on also after the
   * whole subtree of each of its parent's children.
   */
  private finishedBefore(producer: string, at: Placement): boolean {
    for (let p: Placement | undefined = at; p !== undefined; p = this.placed.get(p.parent)) {
      if (p.parent === producer) return true;
      if (p.kind === 'followOn' && this.isBelowChildOf(producer, p.parent)) return true;
    }
    return false;
  }

  /** Whether `job` is a child of `parent` or anywhere in such a child's subtree. */
  private isBelowChildOf(job: string, parent: string): boolean {
    for (let id = job, p = this.placed.get(id); p !== undefined; id = p.parent, p = this.placed.get(id))
      if (p.parent === parent) return p.kind === 'child';
    return false;
  }
}

export function makePromise<T>(jobId: string, path: readonly (string | number)[]): Promised<T> {
  return Object.freeze({ [PROMISE_BRAND]: true as const, jobId, path: [...path] });
}

/**
 * The most a job's value (its input, its return value) may take as JSON. Every such value is
 * kept in the job store's records and held in the leader's memory while the jobs that read it
 * wait (measured: a 300 MiB string returned took the leader from 76 MiB to 1 GiB); big data
 * belongs in files, as Toil's docs advise: `job.fileStore.writeGlobalFile` and its file id.
 */
export const MAX_VALUE_BYTES = 64 * 2 ** 20;

/**
 * A value as JSON, with promises written as markers. Throws JobDeclarationError for what JSON
 * cannot carry faithfully (functions, bigints, symbols, cycles, and what JSON.stringify would
 * silently change: a Map or Set into `{}`, bytes into an object of numbers, NaN and Infinity into
 * null), and for a value larger than MAX_VALUE_BYTES, naming `what`.
 */
export function encodeValue(value: unknown, what: string): Json {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
      if (isPromised(v)) return { [PROMISE_MARKER]: { job: v.jobId, path: [...v.path] } };
      if (isHandle(v))
        throw new JobDeclarationError(
          `${what} holds the job '${v.name}' itself, which cannot be stored (use its promise, ${'`'}.rv()${'`'}, for the value it returns)`,
        );
      if (typeof v === 'function' || typeof v === 'symbol') {
        throw new JobDeclarationError(`${what} holds a ${typeof v}, which cannot be stored (use plain data)`);
      }
      // `v` is after toJSON (a Buffer's is already an object of numbers): judge the value as given.
      const lost = silentlyChanged((this as Record<string, unknown>)[key] ?? v);
      if (lost) throw new JobDeclarationError(`${what} holds ${lost}`);
      return v;
    });
  } catch (e) {
    if (e instanceof JobDeclarationError) throw e;
    throw new JobDeclarationError(`${what} cannot be stored as JSON: ${(e as Error).message}`);
  }
  if (text === undefined) return null;
  // A character is at most 3 bytes of UTF-8 (4 for a pair of 2 characters): short text is under.
  const bytes = text.length * 3 <= MAX_VALUE_BYTES ? 0 : Buffer.byteLength(text);
  if (bytes > MAX_VALUE_BYTES)
    throw new JobDeclarationError(
      `${what} is ${(bytes / 2 ** 20).toFixed(1)} MiB as JSON, more than the ${MAX_VALUE_BYTES / 2 ** 20} MiB a job's value may be (values are kept in the job store's records and in the leader's memory): write big data to a file (job.fileStore.writeGlobalFile, or writeGlobalFileBytes) and pass or return its file id`,
    );
  return JSON.parse(text) as Json;
}

/** A job handle (what addChild returns), passed or returned where its `.rv()` was meant. */
function isHandle(v: unknown): v is JobHandle<unknown> {
  const h = v as Partial<JobHandle<unknown>> | null;
  return typeof h === 'object' && h !== null && typeof h.jobId === 'string' && typeof h.rv === 'function';
}

/** What JSON.stringify would store as something else without a word, said with the way out. */
function silentlyChanged(v: unknown): string | undefined {
  if (typeof v === 'number' && !Number.isFinite(v))
    return `${String(v)}, which JSON stores as null (use null, or a string)`;
  if (v instanceof Map || v instanceof WeakMap)
    return `a ${v.constructor.name}, which JSON stores as {} (use a plain object, or an array of [key, value] pairs)`;
  if (v instanceof Set || v instanceof WeakSet)
    return `a ${v.constructor.name}, which JSON stores as {} (use an array)`;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer)
    return `a ${v.constructor.name}, which JSON stores as an object of numbers (write bytes with job.fileStore.writeGlobalFileBytes and pass the FileID, or pass a string)`;
  return undefined;
}

const REQUIREMENTS: readonly string[] = ['cores', 'memory', 'disk', 'preemptable', 'preemptible', 'walltime'];

/** Other names people give a requirement, and what Toil jobs take that toil-ts does not do. */
const MEANT: Readonly<Record<string, string>> = {
  mem: 'did you mean memory?',
  cpu: 'did you mean cores?',
  cpus: 'did you mean cores?',
  threads: 'did you mean cores?',
  storage: 'did you mean disk?',
  accelerators: 'toil-ts schedules no accelerators (GPUs), so the job would run without them',
  checkpoint: 'toil-ts has no checkpoint jobs (a successor that fails for good does not run this job again)',
};

/**
 * Requirements as written by the user, sizes parsed to bytes; throws JobDeclarationError. A name
 * it does not know is refused rather than ignored: `mem: '8G'` would run with the default memory.
 */
export function parseRequirements(req: Requirements, jobName: string): DeclaredRequirements {
  const out: { -readonly [K in keyof DeclaredRequirements]: DeclaredRequirements[K] } = {};
  for (const [key, value] of Object.entries(req)) {
    if (REQUIREMENTS.includes(key) || value === undefined) continue;
    const hint = MEANT[key] ?? suggestNames(key, REQUIREMENTS).map((k) => `did you mean ${k}?`)[0];
    throw new JobDeclarationError(
      `job '${jobName}': unknown requirement '${key}' (expected cores, memory, disk, preemptable or walltime${hint ? `; ${hint}` : ''})`,
    );
  }
  if (req.cores !== undefined) {
    if (typeof req.cores !== 'number' || !(req.cores > 0) || !Number.isFinite(req.cores)) {
      throw new JobDeclarationError(
        `job '${jobName}': cores must be a positive number, got ${JSON.stringify(req.cores) ?? String(req.cores)}`,
      );
    }
    out.cores = req.cores;
  }
  for (const key of ['memory', 'disk'] as const) {
    const v = req[key];
    if (v === undefined) continue;
    const bytes = tryParseBytes(v);
    if (bytes === undefined) {
      throw new JobDeclarationError(
        `job '${jobName}': ${key} must be a size like "600M" or "2Gi" (${SIZE_SUFFIXES}), got ${JSON.stringify(v)}`,
      );
    }
    out[key] = bytes;
  }
  const preemptable = parsePreemptable(req.preemptable ?? req.preemptible);
  if (preemptable === null)
    throw new JobDeclarationError(
      `job '${jobName}': preemptable must be true or false, got ${JSON.stringify(req.preemptable ?? req.preemptible)}`,
    );
  if (preemptable !== undefined) out.preemptable = preemptable;
  if (req.walltime !== undefined) {
    const ms = tryParseDurationMs(req.walltime);
    if (ms === undefined) {
      throw new JobDeclarationError(
        `job '${jobName}': walltime must be a duration like "30s" or "5m", got ${JSON.stringify(req.walltime)}`,
      );
    }
    out.walltimeMs = ms;
  }
  return out;
}

/** As Toil takes it: a boolean, 'true'/'false' in any case, or 1/0; null for anything else. */
function parsePreemptable(v: unknown): boolean | undefined | null {
  if (v === undefined || typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  if (v === 1 || v === 0) return v === 1;
  return null;
}
