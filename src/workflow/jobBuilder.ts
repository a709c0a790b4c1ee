import { randomUUID } from 'node:crypto';
import { shownValue } from '../common/configErrors.js';
import { suggestNames } from '../common/suggest.js';
import { SIZE_SUFFIXES, tryParseBytes, tryParseCores, tryParseDurationMs } from '../common/units.js';
import {
  ENCAPSULATION_JOB,
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
  isServiceDefinition,
  type ServiceDefinition,
  type ServiceHandle,
  type Input,
  type JobDefinition,
  type JobHandle,
  type Promised,
  type Requirements,
} from './api.js';
import { userStack } from './jobError.js';

/** A job's requirements or input were not what the API accepts. */
export class JobDeclarationError extends Error {}

interface MutableSpec {
  id: string;
  name: string;
  input: Json;
  requirements: DeclaredRequirements;
  children: string[];
  followOns: string[];
  checkpoint?: true;
  service?: true;
  afterService?: string;
  services?: string[];
}

/** What encapsulate()'s own jobs ask for: they run nothing (Toil gives its end 0.1 core, 512M). */
const ENCAPSULATION_REQUIREMENTS: DeclaredRequirements = {
  cores: 0.1,
  memory: 512_000_000,
  disk: 100_000_000,
};

/** Stands for the job that is running (or, in `start`, for none): the parent of the jobs it adds. */
export const ADDING_JOB = '';

/** Where a job was added: under which job, as a child or a follow-on. */
export interface Placement {
  readonly parent: string;
  readonly kind: 'child' | 'followOn';
}

/** The successors declared on one job (or on the adding job), in declaration order. */
interface Successors {
  readonly children: string[];
  readonly followOns: string[];
  services?: string[];
}

/** How a late addition names what it added (whatever the user passed: a definition, a handle). */
function nameOf(def: unknown): string {
  const name = (def as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : String(def);
}

/** A promise a job was given whose producer may not have finished when it starts, yet. */
interface PendingRefusal {
  readonly job: string;
  readonly producer: string;
  /** Made where the job was added, so its stack points there when it is thrown at the end. */
  readonly error: JobDeclarationError;
}

/**
 * Collects the jobs a running job (or a workflow's `start`) declares, as job specs ready to be
 * committed. Handles returned to the user are plain objects over this collector. The jobs form a
 * DAG (Toil's `j3.addChild(j4)` of an existing job): a job runs after every job with an edge to it.
 */
export class JobCollector {
  private readonly created = new Map<string, MutableSpec>();
  /** The edges into each job declared here (one per predecessor). */
  private readonly preds = new Map<string, Placement[]>();
  private readonly adding: Successors = { children: [], followOns: [] };
  private pending: PendingRefusal[] = [];
  private readonly encapsulatedBy = new Map<string, string>();
  /** The job each service declared here was added to (ADDING_JOB: the running job). */
  private readonly serviceHost = new Map<string, string>();
  private readonly topLevelJobs: () => ReadonlyMap<string, JobDefinition<unknown, unknown>> | undefined;
  private readonly addingJobName: string;
  private sealed = false;
  private late: JobDeclarationError | undefined;
  private readonly lateErrors = new WeakSet<object>();

  /**
   * `topLevelJobs`: the jobs the workflow module defined as it loaded, which are all a worker can
   * find by name; a job added that is not one of them is refused (none given: not checked).
   * `addingJobName`: how messages name the job that adds the jobs (the running job's name).
   */
  constructor(
    topLevelJobs: () => ReadonlyMap<string, JobDefinition<unknown, unknown>> | undefined = () => undefined,
    addingJobName = 'the adding job',
  ) {
    this.topLevelJobs = topLevelJobs;
    this.addingJobName = addingJobName;
  }

  /**
   * The adding job (or `start`) has returned: what it adds from now on (from a callback, or a
   * promise it did not await: `items.forEach(async (x) => { await ...; job.addChild(...) })`)
   * would never run, since its successors are taken as it returns. Such a call throws, and is
   * kept (lateAddition) so that the attempt fails if it came before the commit was written.
   */
  seal(): void {
    this.sealed = true;
  }

  /** The first addition refused because it came after seal(), if any. */
  lateAddition(): JobDeclarationError | undefined {
    return this.late;
  }

  /** Whether `e` is one of the refusals of lateAddition (each late call throws one). */
  isLateAddition(e: unknown): boolean {
    return typeof e === 'object' && e !== null && this.lateErrors.has(e);
  }

  private refuseLate(verb: string, added: string): void {
    if (!this.sealed) return;
    const adder = this.addingJobName === 'start' ? 'start()' : `job '${this.addingJobName}'`;
    const e = new JobDeclarationError(
      `${adder} called ${verb}('${added}') after it had returned (from a callback, or a promise it did not await), so '${added}' would never run: its successors are taken when it returns; await what adds them (items.forEach(async ...) does not wait: use for...of with await, or await Promise.all(items.map(async ...)))`,
    );
    // The user's line that made the call, not toil-ts's frames below it.
    e.stack = userStack(e);
    this.late ??= e;
    this.lateErrors.add(e);
    throw e;
  }

  /** The specs declared so far, in declaration order. */
  specs(): JobSpec[] {
    return [...this.created.values()].map((s) => ({
      ...s,
      children: [...s.children],
      followOns: [...s.followOns],
      ...(s.services ? { services: [...s.services] } : {}),
    }));
  }

  /** The adding job's own successors (the running job's addChild / addFollowOn). */
  addingJobSuccessors(): { children: string[]; followOns: string[]; services?: string[] } {
    return {
      children: [...this.adding.children],
      followOns: [...this.adding.followOns],
      ...(this.adding.services ? { services: [...this.adding.services] } : {}),
    };
  }

  /**
   * Toil's `addService`: a service job hosted by `host` (the running job, or a job added here).
   * Its rv() is what the service's start returns, which the host's successors may take.
   */
  declareService<I, R>(
    def: ServiceDefinition<I, R>,
    input: Input<I>,
    overrides?: Requirements,
    host: string = ADDING_JOB,
    after?: string,
  ): ServiceHandle<R> {
    this.refuseLate(after === undefined ? 'addService' : 'addChild', nameOf(def));
    if (!isServiceDefinition(def))
      throw new JobDeclarationError(
        `${after === undefined ? 'addService' : 'addChild'}: expected a service made with defineService(name, make)`,
      );
    const hostSpec = host === ADDING_JOB ? undefined : this.created.get(host);
    if (hostSpec?.checkpoint)
      throw new JobDeclarationError(
        `addService: job '${hostSpec.name}' is a checkpoint job, which may have no successors or services when it is added (as in Toil: a rerun must define them anew), so service '${def.name}' cannot be added to it here: add it from inside '${hostSpec.name}' (job.addService) while it runs`,
      );
    const known = this.topLevelJobs();
    if (known && known.get(def.name) !== (def.host as JobDefinition<unknown, unknown>))
      throw new JobDeclarationError(
        `service '${def.name}' is not defined at the top level of the workflow module (its defineService ran inside a function, which a worker that loads the module never calls): move defineService('${def.name}', ...) to the top level`,
      );
    const spec: MutableSpec = {
      id: randomUUID(),
      name: def.name,
      input: encodeValue(input, `input of service '${def.name}'`),
      requirements: parseRequirements({ ...def.requirements, ...overrides }, def.name),
      children: [],
      followOns: [],
      service: true,
      ...(after !== undefined ? { afterService: after } : {}),
    };
    // It starts once its host has run, as a child of the host would.
    const refusals = this.unfinishedProducers(spec, { parent: host, kind: 'child' });
    this.created.set(spec.id, spec);
    this.preds.set(spec.id, []);
    this.serviceHost.set(spec.id, host);
    const hostSuccessors = this.successorsOf(host);
    (hostSuccessors.services ??= []).push(spec.id);
    this.pending.push(...refusals);
    const rv = (...path: (string | number)[]): Promised<never> => makePromise(spec.id, path, spec.name);
    return {
      jobId: spec.id,
      name: spec.name,
      rv,
      addChild: ((d: ServiceDefinition<unknown, unknown>, i: unknown, req?: Requirements) =>
        this.declareService(d, i, req, host, spec.id)) as ServiceHandle<R>['addChild'],
    };
  }

  /** Whether the service `service` starts only once `producer` (a service) has started. */
  private startsAfterService(service: MutableSpec, producer: string): boolean {
    for (let s = service.afterService; s !== undefined; s = this.created.get(s)?.afterService)
      if (s === producer) return true;
    return false;
  }

  /**
   * Throws the first promise still taken by a job that may start before its producer finished:
   * called when the adding job (or `start`) ends, since an edge added after the job (Toil's
   * `j3.addChild(j4)`) may yet order it.
   */
  checkComplete(): void {
    const first = this.pending[0];
    if (first) throw first.error;
  }

  /**
   * Declares a new job, added at `at` (default: a child of the adding job), and returns its
   * handle; or, given the handle of a job added here, adds an edge to it (a DAG).
   */
  declare<I, R>(
    def: JobDefinition<I, R> | JobHandle<R>,
    input?: Input<I>,
    overrides?: Requirements,
    at: Placement = { parent: ADDING_JOB, kind: 'child' },
  ): JobHandle<R> {
    this.refuseLate(at.kind === 'child' ? 'addChild' : 'addFollowOn', nameOf(def));
    if (!isJobDefinition(def)) {
      if (isHandle(def)) return this.addEdge(def, at);
      throw new JobDeclarationError('addChild/addFollowOn: expected a job made with defineJob(name, fn)');
    }
    const known = this.topLevelJobs();
    if (known && known.get(def.name) !== (def as JobDefinition<unknown, unknown>)) {
      throw new JobDeclarationError(
        `job '${def.name}' is not defined at the top level of the workflow module (its defineJob ran inside a function, which a worker that loads the module never calls): move defineJob('${def.name}', ...) to the top level`,
      );
    }
    this.refuseCheckpointSuccessor(at, def.name);
    const requirements = { ...def.requirements, ...overrides };
    const spec: MutableSpec = {
      id: randomUUID(),
      name: def.name,
      input: encodeValue(input, `input of job '${def.name}'`),
      requirements: parseRequirements(requirements, def.name),
      children: [],
      followOns: [],
      ...(parseCheckpoint(requirements.checkpoint, def.name) ? { checkpoint: true as const } : {}),
    };
    // Judged when the adding job ends: an edge added later may still order the producer first.
    const refusals = this.unfinishedProducers(spec, at);
    this.created.set(spec.id, spec);
    this.preds.set(spec.id, [at]);
    this.successorsOf(at.parent)[at.kind === 'child' ? 'children' : 'followOns'].push(spec.id);
    this.pending.push(...refusals);
    return this.handle<R>(spec);
  }

  private successorsOf(id: string): Successors {
    return id === ADDING_JOB ? this.adding : this.created.get(id)!;
  }

  /**
   * Toil's rule: a checkpoint job has no successors when it is added, so that all it leads to
   * comes from its own run, which a rerun replaces whole.
   */
  private refuseCheckpointSuccessor(at: Placement, successor: string): void {
    const parent = at.parent === ADDING_JOB ? undefined : this.created.get(at.parent);
    if (!parent?.checkpoint) return;
    throw new JobDeclarationError(
      `${at.kind === 'child' ? 'addChild' : 'addFollowOn'}: job '${parent.name}' is a checkpoint job, which may have no successors when it is added (as in Toil: a rerun must define them anew), so '${successor}' cannot be added to it here: add '${successor}' from inside '${parent.name}' (job.${at.kind === 'child' ? 'addChild' : 'addFollowOn'}) while it runs`,
    );
  }

  private nameOf(id: string): string {
    return id === ADDING_JOB ? this.addingJobName : this.created.get(id)!.name;
  }

  /** Toil's edge to an existing job: `to` then runs after `at.parent` too, by the edge's rule. */
  private addEdge<R>(to: JobHandle<R>, at: Placement): JobHandle<R> {
    const verb = at.kind === 'child' ? 'addChild' : 'addFollowOn';
    const role = at.kind === 'child' ? 'a child' : 'a follow-on';
    const from = this.nameOf(at.parent);
    const target = this.created.get(to.jobId);
    if (target?.service)
      throw new JobDeclarationError(
        `${verb}: '${to.name}' is a service, not a job: pass its value on with rv() to the jobs below the job it was added to`,
      );
    if (target) this.refuseCheckpointSuccessor(at, to.name);
    if (!target)
      throw new JobDeclarationError(
        `${verb}: job '${to.name}' was added by another job (or another run of start), and an edge may only join jobs the same job added: add the job again where it is wanted, or pass its value on with rv()`,
      );
    const existing = this.preds.get(to.jobId)!.find((p) => p.parent === at.parent);
    if (existing?.kind === at.kind) return to; // Toil keeps successors in a set: adding twice is once.
    if (existing)
      throw new JobDeclarationError(
        `${verb}: job '${to.name}' is already ${existing.kind === 'child' ? 'a child' : 'a follow-on'} of '${from}', so it cannot also be ${role} of it: keep one of the two edges`,
      );
    const cycle = this.cycleWith(at, to.jobId);
    if (cycle)
      throw new JobDeclarationError(
        `${verb}: making job '${to.name}' ${role} of '${from}' would close a cycle (${cycle.map((id) => `'${this.nameOf(id)}'`).join(' → ')}), so none of them could ever start (Toil refuses this graph too): '${to.name}' already runs before '${from}'${this.viaFollowOnRule(cycle, at, to.jobId) ? " (a follow-on runs after its parent's children's whole subtrees)" : ''}; add a new job after '${from}' instead of reusing '${to.name}'`,
      );
    this.preds.get(to.jobId)!.push(at);
    this.successorsOf(at.parent)[at.kind === 'child' ? 'children' : 'followOns'].push(to.jobId);
    this.pending = this.pending.filter((r) => !this.finishedBefore(r.producer, r.job));
    return to;
  }

  /**
   * The jobs of a cycle the edge `at` → `to` would make in Toil's augmented graph (each edge, plus
   * one from every job reachable from a job's children to each of its follow-ons), or undefined.
   * Only edges to existing jobs can close one, so only they pay for this walk.
   */
  private cycleWith(at: Placement, to: string): string[] | undefined {
    const succ = (id: string, kind: 'children' | 'followOns'): string[] => {
      const list = [...this.successorsOf(id)[kind]];
      if (id === at.parent && kind === (at.kind === 'child' ? 'children' : 'followOns')) list.push(to);
      return list;
    };
    const nodes = [ADDING_JOB, ...this.created.keys()];
    const next = new Map<string, string[]>(
      nodes.map((id) => [id, [...succ(id, 'children'), ...succ(id, 'followOns')]]),
    );
    for (const id of nodes) {
      const followOns = succ(id, 'followOns');
      if (followOns.length === 0) continue;
      for (const below of this.reachable(succ(id, 'children'), next)) next.get(below)!.push(...followOns);
    }
    // Iterative DFS (a chain may be thousands deep); a grey node met again closes a cycle.
    const colour = new Map<string, 'grey' | 'black'>();
    for (const root of nodes) {
      if (colour.has(root)) continue;
      const stack: { id: string; i: number }[] = [{ id: root, i: 0 }];
      colour.set(root, 'grey');
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const out = next.get(top.id)!;
        if (top.i >= out.length) {
          colour.set(top.id, 'black');
          stack.pop();
          continue;
        }
        const n = out[top.i++]!;
        if (colour.get(n) === 'grey')
          return [...stack.slice(stack.findIndex((f) => f.id === n)).map((f) => f.id), n];
        if (!colour.has(n)) {
          colour.set(n, 'grey');
          stack.push({ id: n, i: 0 });
        }
      }
    }
    return undefined;
  }

  /** Whether the cycle takes an edge Toil's follow-on rule implies rather than one declared. */
  private viaFollowOnRule(cycle: readonly string[], at: Placement, to: string): boolean {
    return cycle.slice(1).some((id, i) => {
      const from = cycle[i]!;
      const s = this.successorsOf(from);
      return !(s.children.includes(id) || s.followOns.includes(id) || (from === at.parent && id === to));
    });
  }

  /** Every job reachable from `starts` (themselves included) along `next`. */
  private reachable(starts: readonly string[], next: ReadonlyMap<string, readonly string[]>): Set<string> {
    const seen = new Set<string>(starts);
    const todo = [...starts];
    for (let id = todo.pop(); id !== undefined; id = todo.pop())
      for (const n of next.get(id) ?? [])
        if (!seen.has(n)) {
          seen.add(n);
          todo.push(n);
        }
    return seen;
  }

  /**
   * `successorsOf`: where the handle's addChild / addFollowOn add (an encapsulation's end);
   * `valueOf`: whose value rv() promises (the encapsulated job's).
   */
  private handle<R>(spec: MutableSpec, successorsOf = spec.id, valueOf = spec.id): JobHandle<R> {
    const rv = (...path: (string | number)[]): Promised<never> => makePromise(valueOf, path, spec.name);
    return {
      jobId: spec.id,
      name: spec.name,
      rv: rv,
      addChild: ((def: JobDefinition<unknown, unknown>, input: unknown, req?: Requirements) =>
        this.declare(def, input, req, { parent: successorsOf, kind: 'child' })) as JobHandle<R>['addChild'],
      addFollowOn: ((def: JobDefinition<unknown, unknown>, input: unknown, req?: Requirements) =>
        this.declare(def, input, req, {
          parent: successorsOf,
          kind: 'followOn',
        })) as JobHandle<R>['addFollowOn'],
      encapsulate: () => this.encapsulate<R>(spec.id, valueOf),
      addService: ((def: ServiceDefinition<unknown, unknown>, input: unknown, req?: Requirements) =>
        this.declareService(def, input, req, successorsOf)) as JobHandle<R>['addService'],
    };
  }

  /**
   * Toil's `encapsulate()`: a job E with `job` as its child and an end job F as its follow-on, E
   * taking `job`'s edges in (so it runs where `job` would have), so that what is added to E's
   * handle (to F) runs after `job` and everything below it. Its rv() is `job`'s.
   */
  private encapsulate<R>(job: string, valueOf: string): JobHandle<R> {
    this.refuseLate('encapsulate', this.nameOf(job));
    const made = (input: Json): MutableSpec => {
      const spec: MutableSpec = {
        id: randomUUID(),
        name: ENCAPSULATION_JOB,
        input,
        requirements: ENCAPSULATION_REQUIREMENTS,
        children: [],
        followOns: [],
      };
      this.created.set(spec.id, spec);
      this.preds.set(spec.id, []);
      return spec;
    };
    const e = made({ encapsulates: valueOf });
    const f = made(null);
    const link = (from: string, to: string, kind: Placement['kind']): void => {
      this.preds.get(to)!.push({ parent: from, kind });
      this.successorsOf(from)[kind === 'child' ? 'children' : 'followOns'].push(to);
    };
    for (const p of this.preds.get(job) ?? []) link(p.parent, e.id, p.kind);
    link(e.id, job, 'child');
    link(e.id, f.id, 'followOn');
    this.encapsulatedBy.set(job, e.id);
    return this.handle<R>(e, f.id, valueOf);
  }

  /** The job that encapsulates `job` (and so on outwards), or `job` itself: the workflow's root. */
  outermost(job: string): string {
    let id = job;
    for (let e = this.encapsulatedBy.get(id); e !== undefined; e = this.encapsulatedBy.get(id)) id = e;
    return id;
  }

  /**
   * The promises in a new job's input whose producer, a job added here, may not have finished
   * when the new job starts: the value would be there or not by timing. Jobs added elsewhere are
   * the leader's to resolve (a running job only holds promises of the jobs it added).
   */
  private unfinishedProducers(spec: MutableSpec, at: Placement): PendingRefusal[] {
    const out: PendingRefusal[] = [];
    // A promised requirement is read before the job is issued: the same rule as its input.
    for (const producerId of promisedJobs([spec.input, spec.requirements.promised ?? null])) {
      const producer = this.created.get(producerId);
      if (!producer) continue;
      // Services of one host start side by side: one waits for another only as its sub-service.
      if (
        spec.service && producer.service
          ? this.startsAfterService(spec, producerId)
          : this.finishedBeforeAt(producerId, [at])
      )
        continue;
      const host = this.serviceHost.get(producerId);
      if (host !== undefined) {
        out.push({
          job: spec.id,
          producer: producerId,
          error: new JobDeclarationError(
            spec.service
              ? `service '${spec.name}' is given the value of service '${producer.name}' (its rv()), but may start before '${producer.name}' has started (a job's services start side by side): add '${spec.name}' as a sub-service of '${producer.name}' (its handle's addChild), which starts after it`
              : `job '${spec.name}' is given the value of service '${producer.name}' (its rv()), but may start before '${producer.name}' has started: add '${spec.name}' below '${this.nameOf(host)}', the job the service was added to (its successors run while the service does)`,
          ),
        });
        continue;
      }
      const where =
        this.preds.get(producerId)?.[0]?.kind === 'child'
          ? `a follow-on of the job that added '${producer.name}' (addFollowOn: it runs after every child's whole subtree), or a child of '${producer.name}' (its handle's addChild)`
          : `a child or a follow-on of '${producer.name}' (its handle's addChild or addFollowOn)`;
      out.push({
        job: spec.id,
        producer: producerId,
        error: new JobDeclarationError(
          `job '${spec.name}' is given the value of job '${producer.name}' (its rv()), but may start before '${producer.name}' has finished, so the value would be there or not by timing: add '${spec.name}' as ${where}, or give it an edge from '${producer.name}' as well (its handle's addChild(handle of '${spec.name}'))`,
        ),
      });
    }
    return out;
  }

  /** Whether `producer` has surely finished when the job `job` added here starts. */
  private finishedBefore(producer: string, job: string): boolean {
    return this.finishedBeforeAt(producer, this.preds.get(job) ?? []);
  }

  /**
   * Whether `producer` has surely finished when a job with the edges `edges` into it starts
   * (Toil's ordering): a job runs after each predecessor and their own predecessors, and a
   * follow-on also after everything reachable from each of its parent's children.
   */
  private finishedBeforeAt(job: string, edges: readonly Placement[]): boolean {
    // A service's value is there from its start, before any successor of its host runs.
    const producer = this.serviceHost.get(job) ?? job;
    const todo = [...edges];
    const seen = new Set<string>();
    for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
      if (p.parent === producer) return true;
      if (p.kind === 'followOn' && this.belowChildOf(producer, p.parent)) return true;
      if (seen.has(p.parent)) continue;
      seen.add(p.parent);
      todo.push(...(this.preds.get(p.parent) ?? []));
    }
    return false;
  }

  /** Whether `job` is reachable from a child of `parent` (the child, or below it by any edge). */
  private belowChildOf(job: string, parent: string): boolean {
    const todo = [...this.successorsOf(parent).children];
    const seen = new Set<string>(todo);
    for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
      if (id === job) return true;
      const s = this.successorsOf(id);
      for (const n of [...s.children, ...s.followOns])
        if (!seen.has(n)) {
          seen.add(n);
          todo.push(n);
        }
    }
    return false;
  }
}

/** What a promise was converted to, by Symbol.toPrimitive's hint (`+` asks for either). */
const USED_AS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  default: 'a string or a number',
};

export function makePromise<T>(
  jobId: string,
  path: readonly (string | number)[],
  jobName = jobId,
): Promised<T> {
  const promise = { [PROMISE_BRAND]: true as const, jobId, path: [...path] };
  // Used as a string or a number (`value=${a.rv()}`, `a.rv() + 1`) it became "[object Object]"
  // or NaN in the next job's input, a wrong result or a failure far from the cause: said here,
  // at the line that did it. Not enumerable, so the stored promise is its jobId and path alone.
  Object.defineProperty(promise, Symbol.toPrimitive, {
    value: (hint: string): never => {
      throw new TypeError(
        `the promise of job '${jobName}' (its rv()) has no value yet, so it cannot be used as ${USED_AS[hint] ?? 'a string'}: ` +
          `pass it whole in the input of a job that runs after '${jobName}' (a follow-on), which receives its value`,
      );
    },
  });
  return Object.freeze(promise);
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
 * cannot carry faithfully (functions, BigInts, symbols, cycles, and what JSON.stringify would
 * silently change: a Map or Set into `{}`, bytes into an object of numbers, NaN and Infinity into
 * null), naming `what` and where in it (`.a[1].b`), and for a value larger than MAX_VALUE_BYTES.
 */
export function encodeValue(value: unknown, what: string): Json {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    // Most values are fine: written once, checked, with no record of where each part sits.
    text = stringifyChecked(value, what, undefined);
  } catch {
    // A refusal, or JSON.stringify's own (a cycle): written again, each object's place kept, so the
    // message names where in the value it is. The second pass throws the error to show.
    try {
      text = stringifyChecked(value, what, new WeakMap());
    } catch (e) {
      if (e instanceof JobDeclarationError) throw e;
      throw new JobDeclarationError(`${what} cannot be stored as JSON: ${(e as Error).message}`);
    }
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

/** A BigInt as a message shows it: a huge one by its first digits and its length. */
function bigintShown(v: bigint): string {
  const digits = String(v);
  return digits.length <= 40 ? digits : `${digits.slice(0, 20)}… (${digits.length} digits)`;
}

/** A job handle (what addChild returns), passed or returned where its `.rv()` was meant. */
function isHandle(v: unknown): v is JobHandle<unknown> {
  const h = v as Partial<JobHandle<unknown>> | null;
  return typeof h === 'object' && h !== null && typeof h.jobId === 'string' && typeof h.rv === 'function';
}

/**
 * Why a value cannot be a job's value, if it cannot: what it is, and why, with the way out. `v` is
 * as JSON.stringify writes it (after toJSON), `given` as the job gave it.
 */
function refusal(v: unknown, given: unknown): { thing: string; why: string } | undefined {
  if (isHandle(v))
    return {
      thing: `the job '${v.name}' itself`,
      why: `which cannot be stored (use its promise, ${'`'}.rv()${'`'}, for the value it returns)`,
    };
  if (typeof v === 'function' || typeof v === 'symbol')
    return { thing: `a ${typeof v}`, why: 'which cannot be stored (use plain data)' };
  // Values are plain JSON in the job store's records, read as such by the leader, other jobs,
  // finish() and the utilities; JSON has no BigInt, and a number would lose its digits past 2^53.
  if (typeof v === 'bigint')
    return {
      thing: `the BigInt ${bigintShown(v)}n`,
      why: 'which cannot be stored: JSON has no BigInt (store it as a string, String(n), and read it back with BigInt(s))',
    };
  return silentlyChanged(given);
}

/** Thrown by the first, unrecorded pass of encodeValue: the value is refused, where is not known. */
const REFUSED = new Error('refused');

/**
 * `value` as JSON, each part checked (refusal); with `placed`, each object's place is recorded as
 * it is written, so a refusal names where it sits and a cycle is found (backReference). Without,
 * a refusal throws REFUSED and a cycle JSON.stringify's own TypeError.
 */
function stringifyChecked(
  value: unknown,
  what: string,
  placed: WeakMap<object, WrittenAt> | undefined,
): string | undefined {
  return JSON.stringify(value, function (this: object, key: string, v: unknown) {
    if (isPromised(v)) return { [PROMISE_MARKER]: { job: v.jobId, path: [...v.path] } };
    // `v` is after toJSON (a Buffer's is already an object of numbers): judge the value as given.
    const refused =
      refusal(v, (this as Record<string, unknown>)[key] ?? v) ?? (placed && backReference(v, this, placed));
    if (refused) {
      if (!placed) throw REFUSED;
      const path = pathOf(this, key, placed);
      throw new JobDeclarationError(
        `${what} holds ${refused.thing}${path && ` (at ${path})`}, ${refused.why}`,
      );
    }
    // JSON.stringify goes depth first, so a later visit of a shared object overwrites its place.
    if (placed && typeof v === 'object' && v !== null) placed.set(v, { holder: this, key });
    return v;
  });
}

/** Where an object is being written: its holder (the object or array holding it) and its key there. */
interface WrittenAt {
  readonly holder: object;
  readonly key: string;
}

/**
 * Where `holder[key]` sits in the value being written, as JavaScript would reach it (`.a[1].b`);
 * '' for the value itself. The holder JSON.stringify starts from (`{ '': value }`) is placed nowhere.
 */
function pathOf(holder: object, key: string, placed: WeakMap<object, WrittenAt>): string {
  const steps: string[] = [];
  for (let at: WrittenAt | undefined = { holder, key }; at !== undefined; at = placed.get(at.holder)) {
    if (!placed.has(at.holder)) break;
    steps.push(pathStep(at.holder, at.key));
  }
  return steps.reverse().join('');
}

/**
 * If `v` is one of the objects open around `holder` (a cycle, which JSON.stringify would refuse
 * in a message of several lines naming constructors, not where): which one, and the way out.
 * Only an object already seen can close a cycle, so a tree costs no walk.
 */
function backReference(
  v: unknown,
  holder: object,
  placed: WeakMap<object, WrittenAt>,
): { thing: string; why: string } | undefined {
  if (typeof v !== 'object' || v === null || !placed.has(v)) return undefined;
  for (let open: object | undefined = holder; open !== undefined; open = placed.get(open)?.holder) {
    if (open !== v) continue;
    const at = placed.get(v)!;
    const target = pathOf(at.holder, at.key, placed);
    return {
      thing: `a reference back to ${target ? target : 'the value itself'}`,
      why: 'a cycle, which JSON cannot store (hold ids in place of back-references, or a copy without them)',
    };
  }
  return undefined;
}

/** What JSON.stringify would store as something else without a word: the thing, and why, with the way out. */
function silentlyChanged(v: unknown): { thing: string; why: string } | undefined {
  if (typeof v === 'number' && !Number.isFinite(v))
    return { thing: String(v), why: 'which JSON stores as null (use null, or a string)' };
  if (v instanceof Map || v instanceof WeakMap)
    return {
      thing: `a ${v.constructor.name}`,
      why: 'which JSON stores as {} (use a plain object, or an array of [key, value] pairs)',
    };
  if (v instanceof Set || v instanceof WeakSet)
    return { thing: `a ${v.constructor.name}`, why: 'which JSON stores as {} (use an array)' };
  // A job that returns its error (for `throw`) would succeed with {}: the message and stack lost.
  if (v instanceof Error)
    return {
      thing: `${/^[AEIOU]/.test(v.constructor.name) ? 'an' : 'a'} ${v.constructor.name} ('${v.message.slice(0, 80)}')`,
      why: 'which JSON stores as {} (throw it to fail the job, or return its message, a string)',
    };
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer)
    return {
      thing: `a ${v.constructor.name}`,
      why: 'which JSON stores as an object of numbers (write bytes with job.fileStore.writeGlobalFileBytes and pass the FileID, or pass a string)',
    };
  return undefined;
}

/** Longer keys are cut in a path: the message stays one short line. */
const PATH_KEY_SHOWN = 40;

/**
 * The step from `holder` to its `key` as JavaScript would write it: `[1]` in an array, `.name`
 * for a name, `["a b"]` for any other key.
 */
function pathStep(holder: object, key: string): string {
  if (Array.isArray(holder)) return `[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key) && key.length <= PATH_KEY_SHOWN) return `.${key}`;
  const shown = key.length <= PATH_KEY_SHOWN ? key : `${key.slice(0, PATH_KEY_SHOWN)}…`;
  return `[${JSON.stringify(shown)}]`;
}

const REQUIREMENTS: readonly string[] = [
  'cores',
  'memory',
  'disk',
  'preemptable',
  'preemptible',
  'walltime',
  'checkpoint',
];

/** Other names people give a requirement, and what Toil jobs take that toil-ts does not do. */
const MEANT: Readonly<Record<string, string>> = {
  mem: 'did you mean memory?',
  cpu: 'did you mean cores?',
  cpus: 'did you mean cores?',
  threads: 'did you mean cores?',
  storage: 'did you mean disk?',
  accelerators: 'toil-ts schedules no accelerators (GPUs), so the job would run without them',
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
      `job '${jobName}': unknown requirement '${key}' (expected cores, memory, disk, preemptable, walltime or checkpoint${hint ? `; ${hint}` : ''})`,
    );
  }
  const promised: Record<string, Json> = {};
  for (const key of ['cores', 'memory', 'disk'] as const) {
    const v: unknown = req[key];
    if (isPromised(v)) promised[key] = { [PROMISE_MARKER]: { job: v.jobId, path: [...v.path] } };
    // Toil's PromisedRequirement(fn, promise) ported as a function: the leader, which reads the
    // requirement, never runs workflow code, so the computation belongs in a job.
    if (typeof v === 'function')
      throw new JobDeclarationError(
        `job '${jobName}': ${key} is a function; a requirement computed from another job's value (Toil's PromisedRequirement over a function) is given as the rv() of a job that returns the computed value, e.g. ${key}: sizeJob.rv()`,
      );
  }
  if (Object.keys(promised).length > 0) out.promised = promised;
  if (req.cores !== undefined && !isPromised(req.cores)) {
    const cores = tryParseCores(req.cores);
    if (cores === undefined) {
      throw new JobDeclarationError(
        `job '${jobName}': cores must be a positive number (or one as a string, e.g. "2"), got ${shownValue(req.cores)}`,
      );
    }
    out.cores = cores;
  }
  for (const key of ['memory', 'disk'] as const) {
    const v = req[key];
    if (v === undefined || isPromised(v)) continue;
    const bytes = tryParseBytes(v);
    if (bytes === undefined) {
      throw new JobDeclarationError(
        `job '${jobName}': ${key} must be a size like "600M" or "2Gi" (${SIZE_SUFFIXES}), got ${shownValue(v)}`,
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
        `job '${jobName}': walltime must be a duration like "30s" or "5m", got ${shownValue(req.walltime)}`,
      );
    }
    out.walltimeMs = ms;
  }
  return out;
}

/** Whether a job is a checkpoint (Toil's `checkpoint=True`): a boolean, as Toil takes it. */
function parseCheckpoint(v: unknown, jobName: string): boolean {
  if (v === undefined || typeof v === 'boolean') return v === true;
  throw new JobDeclarationError(
    `job '${jobName}': checkpoint must be true or false, got ${JSON.stringify(v)}`,
  );
}

/** As Toil takes it: a boolean, 'true'/'false' in any case, or 1/0; null for anything else. */
function parsePreemptable(v: unknown): boolean | undefined | null {
  if (v === undefined || typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  if (v === 1 || v === 0) return v === 1;
  return null;
}
