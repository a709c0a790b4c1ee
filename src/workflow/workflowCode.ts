import { fileURLToPath } from 'node:url';
import { createContext, Script, type Context } from 'node:vm';
import { RealClock } from '../common/clock.js';
import { ToilError, UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import {
  PROCESS_MARKS_ENV,
  endLeftProcesses,
  newProcessMark,
  withProcessMark,
} from '../common/processMarks.js';
import type { Json, JobSpec } from '../jobstore/jobRecords.js';
import { JobStoreUnwritableError } from '../jobstore/errors.js';
import type { JobStore } from '../jobstore/jobStore.js';
import { isJobDefinition, isWorkflowDefinition } from './api.js';
import { JobDeclarationError } from './jobBuilder.js';
import { replaceProcessExit, UnhandledRejectionError, WorkflowCalledExitError } from './exitTrap.js';
import { firstLine, hasUserFrame, userStack } from './jobError.js';
import { loadWorkflowFile, type LoadedWorkflow } from './moduleLoader.js';
import { LeaderWorkflowContext } from './workflowContext.js';

/** Start a new workflow: load its bundled module and call its `start`. */
export interface StartRequest {
  /** The bundled module, a local file. */
  readonly modulePath: string;
  /** The job store `ctx.importFile` writes into (its absolute locator). */
  readonly jobStore: string;
  /** The workflow file as the user named it, for messages. */
  readonly workflowFile: string;
  readonly args: readonly string[];
}

/** What `start` declared: the root job and every job declared with it. */
export interface StartResult {
  readonly rootJobId: string;
  readonly jobs: JobSpec[];
  /** The jobs the module defines (its top level registered), by name. */
  readonly jobNames: string[];
}

export interface FinishRequest {
  readonly modulePath: string;
  readonly jobStore: string;
  /** The workflow file as the user named it, for messages. */
  readonly workflowFile: string;
  readonly args: readonly string[];
  readonly restart: boolean;
  /** The root job's return value, promises resolved. */
  readonly returnValue: Json;
}

/**
 * Port: the places a workflow's own code runs outside its jobs — loading the module (its top
 * level), `start` and `finish` (with the files they import and export). The leader calls these
 * and nothing else of the user's module.
 *
 * Contract: each call rejects with the error the workflow's code raised (a ToilError when it is the
 * user's to fix: no default export, no root job, a bad declaration), or, for an implementation that
 * isolates the code, with a WorkflowCodeError when it hung past its time or its process died.
 * A rejection never leaves anything of the call running.
 */
export interface WorkflowCode {
  start(request: StartRequest): Promise<StartResult>;
  /** The names of the jobs the module defines (a restart checks every stored job still exists). */
  jobNames(request: { readonly modulePath: string }): Promise<string[]>;
  finish(request: FinishRequest): Promise<void>;
}

/**
 * The workflow's code in this process: for `toil run`, where the process is the user's own, and
 * inside the isolated host process the daemon starts (src/leader/workflowHost.ts).
 */
export class InProcessWorkflowCode implements WorkflowCode {
  private readonly openStore: (locator: string) => JobStore;
  private readonly log: Logger;
  private readonly onUserCode: () => void;
  private readonly signal: AbortSignal | undefined;
  private readonly leadersOwn: boolean;
  private readonly watch: BlockedCallWatch | undefined;

  /**
   * `onUserCode` is called once the module is loaded, right before the workflow's `start` or
   * `finish` runs: the isolated host tells its leader, whose time limit for that call starts then
   * (a slow process start on a loaded machine is not the workflow's hang).
   *
   * `signal` (a run's Ctrl-C, SIGTERM or `toil kill`) abandons a `start` or `finish` in progress: see start.
   *
   * `leadersOwn`: this process is the leader's own (`toil run`), so a `process.exit` in `start` or
   * `finish` fails the call, and a Ctrl-C stops one that runs without yielding (see
   * failingOnStrays); the isolated host lets such a call end its process, or be killed with it.
   *
   * `watch` (with `leadersOwn`): a `toil kill` seen while a call's synchronous part blocks the
   * event loop stops that part as a Ctrl-C does (see breakableByCtrlC).
   */
  constructor(
    openStore: (locator: string) => JobStore,
    log: Logger,
    onUserCode: () => void = () => {},
    signal?: AbortSignal,
    leadersOwn = false,
    watch?: BlockedCallWatch,
  ) {
    this.leadersOwn = leadersOwn;
    this.watch = watch;
    this.openStore = openStore;
    this.log = log;
    this.onUserCode = onUserCode;
    this.signal = signal;
  }

  /**
   * With a signal, a run stopped while its `start` or `finish` runs (one that imports or exports
   * big files, or never returns) need not wait for it: once the signal is aborted the call rejects
   * with its reason at once. The code it abandons runs on in this process, which the caller then
   * ends (see endAbandonedWorkflowCode); what it started as processes (each carries the call's
   * mark, set in this process's environment while it runs) is ended before the call rejects.
   */
  start(r: StartRequest): Promise<StartResult> {
    return this.running('start', () =>
      this.abandonable(`the start() of workflow ${r.workflowFile}`, () => this.startHere(r)),
    );
  }

  /** As start: abandoned when the signal is aborted. */
  finish(r: FinishRequest): Promise<void> {
    return this.running('finish', () =>
      this.abandonable(`the finish() of workflow ${r.workflowFile}`, () => this.finishHere(r)),
    );
  }

  private async running<T>(call: 'start' | 'finish', body: () => Promise<T>): Promise<T> {
    runningCall = call;
    try {
      return await body();
    } finally {
      runningCall = undefined;
    }
  }

  private async abandonable<T>(who: string, call: () => Promise<T>): Promise<T> {
    const signal = this.signal;
    if (!signal) return call();
    if (signal.aborted) throw signal.reason as Error;
    const mark = newProcessMark();
    const before = process.env[PROCESS_MARKS_ENV];
    process.env[PROCESS_MARKS_ENV] = withProcessMark(process.env, mark)[PROCESS_MARKS_ENV];
    let onAbort = (): void => {};
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([call(), aborted]);
    } catch (e) {
      if (!signal.aborted || e !== signal.reason) throw e;
      const warn = (m: string): void => this.log.warn(m);
      abandoned = { end: () => endLeftProcesses(mark, who, new RealClock(), warn) };
      const ended = await abandoned.end();
      (e as Partial<HearsOfAbandon>).workflowCodeAbandoned?.(ended);
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Abandoned, the mark stays in the environment: what its code starts from now on carries it
      // too, and endAbandonedWorkflowCode ends it.
      if (!abandoned) {
        if (before === undefined) delete process.env[PROCESS_MARKS_ENV];
        else process.env[PROCESS_MARKS_ENV] = before;
      }
    }
  }

  private loadModule(path: string): Promise<LoadedWorkflow> {
    return loadModule(path, this.signal, this.log);
  }

  private async startHere(r: StartRequest): Promise<StartResult> {
    const loaded = await this.loadModule(r.modulePath);
    const workflow = loaded.workflow;
    if (!isWorkflowDefinition(workflow)) {
      throw new UserInputError(
        'WORKFLOW_NO_DEFAULT',
        `workflow ${r.workflowFile} has no workflow as its default export (expected 'export default defineWorkflow({ start(ctx) { ... } })')`,
        { file: r.workflowFile },
      );
    }
    const ctx = new LeaderWorkflowContext(this.openStore(r.jobStore), r.args, false, this.log, loaded.jobs);
    this.onUserCode();
    let root, declared;
    try {
      root = await failingOnStrays(
        'start()',
        () => workflow.start(ctx),
        this.leadersOwn,
        this.signal,
        this.log,
        this.watch,
      );
      // Refuses a promise still taken out of order once start has added every edge.
      declared = ctx.declared();
    } catch (e) {
      throw startFailure(r.workflowFile, r.args, e);
    }
    if (!declared.rootJobId || root?.jobId !== declared.rootJobId) {
      throw new UserInputError(
        'WORKFLOW_NO_ROOT',
        `workflow ${r.workflowFile}: start() must return the job made with ctx.root(job, input)`,
      );
    }
    return { rootJobId: declared.rootJobId, jobs: declared.jobs, jobNames: definedJobs(loaded) };
  }

  async jobNames(r: { readonly modulePath: string }): Promise<string[]> {
    return definedJobs(await this.loadModule(r.modulePath));
  }

  private async finishHere(r: FinishRequest): Promise<void> {
    const wf = (await this.loadModule(r.modulePath)).workflow;
    this.onUserCode();
    if (wf?.finish)
      await failingOnStrays(
        'finish()',
        () =>
          wf.finish!(
            new LeaderWorkflowContext(this.openStore(r.jobStore), r.args, r.restart, this.log),
            r.returnValue,
          ),
        this.leadersOwn,
        this.signal,
        this.log,
        this.watch,
      );
  }
}

/**
 * A stop (the signal's reason) that is told a call it stopped was abandoned and how many processes
 * the call had started were ended: the run then says so.
 */
export interface HearsOfAbandon {
  workflowCodeAbandoned(processesEnded: number): void;
}

/** The workflow's call this process runs now, if any (what a stop will abandon, not jobs it kills). */
let runningCall: 'start' | 'finish' | undefined;

/** The workflow's `start` or `finish` an InProcessWorkflowCode of this process is running now, if any. */
export function runningWorkflowCall(): 'start' | 'finish' | undefined {
  return runningCall;
}

/** A `start` or `finish` of this process abandoned by its signal, whose code may still be running. */
let abandoned: { readonly end: () => Promise<number> } | undefined;

/**
 * Whether a workflow's code this process ran was abandoned while it ran (InProcessWorkflowCode's
 * start or finish, stopped by its signal); if so, first ends every process it started, since. Its timers and
 * sockets may keep this process up for ever: a command told true exits once it has said how the
 * run ended, rather than waiting for Node's loop to empty.
 */
export async function endAbandonedWorkflowCode(): Promise<boolean> {
  if (!abandoned) return false;
  await abandoned.end();
  return true;
}

/**
 * A module whose top level throws (two jobs of one name, a missing setting) is the workflow's
 * mistake, reported in one line with where in the user's source it was thrown. A `process.exit`
 * at its top level throws so too, in the leader's own process and in the daemon's isolated host
 * alike: it ended `toil run` with the module's exit code and no word said, and on a daemon it
 * read as the host process's crash, not as the module's mistake that it is.
 */
async function loadModule(
  path: string,
  signal: AbortSignal | undefined,
  log: Logger,
): Promise<LoadedWorkflow> {
  const trap = (code?: number | string | null): never => {
    const e = new WorkflowCalledExitError('the workflow module', code);
    Error.captureStackTrace(e, trap);
    throw e;
  };
  const restoreExit = replaceProcessExit(trap);
  // A top level that awaits what never settles keeps the run waiting without a word: say so once.
  const slow = setTimeout(() => log.warn(SLOW_LOAD_WARNING), SLOW_LOAD_MS);
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // read by the race below; a load that settled first leaves it unread
  try {
    if (signal?.aborted) throw signal.reason as Error;
    return await Promise.race([loadWorkflowFile(path), aborted]);
  } catch (e) {
    if (signal?.aborted && e === signal.reason) throw e;
    throw new UserInputError('WORKFLOW_LOAD', `the workflow module failed to load: ${located(e)}`);
  } finally {
    clearTimeout(slow);
    signal?.removeEventListener('abort', onAbort);
    // Also when a stop abandoned a load that never settles: the process's own exit (toil run's,
    // once it has said how the run ended) must not read as the module's call.
    restoreExit();
  }
}

/** How long a module's load may take before the run says it is still loading. */
const SLOW_LOAD_MS = 10_000;

/**
 * What the run says of a load still going after SLOW_LOAD_MS. A leader daemon's workflow host
 * logs it to the daemon, which also shows it to the run's submitter (IsolatedWorkflowCode's onNotice).
 */
export const SLOW_LOAD_WARNING = `the workflow module has not finished loading after ${SLOW_LOAD_MS / 1000} s: its top level is still running or awaiting something (an await at the top level of the module, or of a module it imports, that never settles keeps the run here; Ctrl-C stops it)`;

/** The error's message and the first frame of the user's source that threw it, on one line. */
function located(e: unknown): string {
  const text = userStack(e);
  const where = /^\s+at (?:.*\()?(\/[^)]*?:\d+:\d+)\)?$/m.exec(text)?.[1];
  return `${firstLine(text).replace(/^Error: /, '')}${where !== undefined ? ` (at ${where})` : ''}`;
}

/**
 * The workflow's `start` threw: the user's workflow refused its arguments, or has a bug. One line
 * naming the workflow, the error's message and where in the user's source it was thrown; the
 * flags of `args` that the message names are kept in `details.flags` (for a "did you mean").
 */
export class WorkflowStartError extends UserInputError {
  constructor(file: string, message: string, flags: readonly string[]) {
    super('WORKFLOW_START', `workflow ${file} did not start: ${message}`, { file, flags: [...flags] });
  }
}

/**
 * The workflow's `finish` threw (an export to a path that cannot be written, a bug): every job ran
 * and their results are in the job store, so a `--restart` runs `finish` again and no job. The
 * error is the user's, with the frames of their source; not bad input (exit 1).
 */
export class WorkflowFinishError extends ToilError {
  constructor(file: string, error: unknown) {
    // toil-ts's own errors (an export that cannot be written) say what failed without their class.
    const text = error instanceof ToilError ? userStack(error).replace(/^\w+: /, '') : userStack(error);
    super('WORKFLOW_FINISH', `the finish() of workflow ${file} failed: ${text}`, {
      cause: error,
      details: { file },
    });
  }
}

/**
 * Runs the workflow's `start` or `finish` so that a promise it leaves rejected with no handler, or
 * a throw from a callback of its own (a timer), fails that call as a throw in it would: without
 * these listeners Node ends the leader (`toil run` runs this code in its own process) with a stack
 * of toil-ts's frames, the job store still leased and its scratch left behind. With `leadersOwn`,
 * its `process.exit` throws a WorkflowCalledExitError, which fails the call so too (that process
 * is the leader's, which would end with no word said). `signal` ends the trap with the call's
 * abandonment (see abandonable): the code left running is then no longer the call's. In the
 * leader's own process the call's synchronous part also yields to a Ctrl-C (breakableByCtrlC).
 */
async function failingOnStrays<T>(
  who: string,
  call: () => T | Promise<T>,
  leadersOwn: boolean,
  signal: AbortSignal | undefined,
  log: Logger,
  watch?: BlockedCallWatch,
): Promise<T> {
  let fail: (e: unknown) => void = () => {};
  const stray = new Promise<never>((_resolve, reject) => (fail = reject));
  stray.catch(() => {}); // read by the race below; a call that settled first leaves it unread
  const onRejection = (reason: unknown): void => fail(new UnhandledRejectionError(who, reason));
  const onAbort = (): void => fail(signal?.reason);
  const trap = (code?: number | string | null): never => {
    const e = new WorkflowCalledExitError(who, code);
    Error.captureStackTrace(e, trap);
    fail(e);
    throw e;
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', fail);
  trapsRunning++;
  signal?.addEventListener('abort', onAbort, { once: true });
  const restoreExit = leadersOwn ? replaceProcessExit(trap) : undefined;
  const run = leadersOwn ? () => breakableByCtrlC(call, signal, watch) : call;
  try {
    if (signal?.aborted) throw signal.reason as Error;
    return await Promise.race([Promise.resolve().then(run), stray]);
  } finally {
    restoreExit?.();
    signal?.removeEventListener('abort', onAbort);
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', fail);
    trapsRunning--;
    if (leadersOwn) catchLateStrays(who, log);
  }
}

/** Calls of workflow code running under failingOnStrays now: a stray while one runs is its call's. */
let trapsRunning = 0;
/** The leader's last call of workflow code, and the log to name its late strays in. */
let lastCall: { who: string; log: Logger } | undefined;

/**
 * A stray of the workflow's code can come after its call returned (a timer it set, a promise it
 * left to reject, which Node reports once the microtasks drain): in the leader's own process Node
 * would end the run with a stack of toil-ts's frames, its job store half written, or half deleted
 * after a finish() that succeeded. The call was done and judged when it returned, so the stray is
 * said, naming the call, and the run goes on, as a job's stray after it returned is (its result
 * stands). Only an error with a frame of the workflow's own code is taken so: any other (toil-ts's
 * own) ends the process as Node would, the listeners gone. Installed once, for the process's life.
 */
function catchLateStrays(who: string, log: Logger): void {
  const installed = lastCall !== undefined;
  lastCall = { who, log };
  if (installed) return;
  const late =
    (what: string) =>
    (e: unknown): void => {
      if (trapsRunning > 0 || !lastCall) return; // the running call's listener has it
      if (!hasUserFrame(e)) {
        process.off('unhandledRejection', onRejection);
        process.off('uncaughtException', onException);
        process.nextTick(() => {
          throw e;
        });
        return;
      }
      lastCall.log.warn(
        `the workflow's ${lastCall.who} left ${what} after it returned (a timer or a promise it did not await); ignored, the run goes on: ${firstLine(userStack(e))}`,
      );
    };
  const onRejection = late('a promise rejected with no handler');
  const onException = late('an uncaught error');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
}

type Called<T> = { value: T; threw?: undefined } | { error: unknown; threw: true };

/**
 * Watches, from outside the event loop, for a stop only the loop would otherwise see (a `toil
 * kill`, which the leader looks for on a timer) while a call's synchronous part blocks it.
 */
export interface BlockedCallWatch {
  /** Starts watching a call's synchronous part; undefined when there is nothing to watch for yet. */
  begin(): WatchedCall | undefined;
}

export interface WatchedCall {
  /**
   * The call's synchronous part ended (or was interrupted): the watch stops. True if it had
   * interrupted the call, with a SIGINT sent before this returns.
   */
  end(): boolean;
  /** The watch interrupted the call: the run is to see the stop it saw now, not at its next look. */
  interrupted(): void;
}

/** Calls the function the script's context holds as `call` (see breakableByCtrlC). */
// Named as this module, so a frame of it reads as toil-ts's own (userStack leaves it out).
const CALL_IN_CONTEXT = new Script('call()', { filename: fileURLToPath(import.meta.url) });
let callContext: Context | undefined;

/**
 * Calls `call` so that a SIGINT that comes while its synchronous part runs ends that part. A
 * `start()` that loops without yielding (a bug, or a graph built job by job in one loop) never
 * lets the event loop run the run's SIGINT handler, so a Ctrl-C, and the second one that should
 * exit at once, would do nothing. Run as a script with breakOnSigint, V8 stops it at the signal,
 * as Node's REPL stops a `while (true)`; the signal then goes to this process's own handlers (a
 * run's stops the workflow as for any Ctrl-C) and the call fails with the run's stop. What runs
 * after the call's first `await` is not covered: it runs outside the script. A `watch` that saw a
 * `toil kill` stops the part the same way, with a SIGINT of its own that is no Ctrl-C: the call
 * then waits for the run's stop, which the watch has the run see at once.
 */
function breakableByCtrlC<T>(
  call: () => T,
  signal: AbortSignal | undefined,
  watch: BlockedCallWatch | undefined,
): T | Promise<never> {
  callContext ??= createContext({ call: undefined });
  const watched = watch?.begin();
  let byWatch = false;
  // The call's own throw is caught inside: one that left the script would get the line it came
  // from written into its stack by Node, as for a script's error. The watch ends inside too, so
  // that a SIGINT it sends comes while V8's watchdog still takes it.
  callContext.call = (): Called<T> => {
    try {
      return { value: call() };
    } catch (error) {
      return { error, threw: true };
    } finally {
      byWatch = watched?.end() ?? false;
    }
  };
  try {
    const called = CALL_IN_CONTEXT.runInContext(callContext, { breakOnSigint: true }) as Called<T>;
    if (byWatch) watched?.interrupted();
    if (called.threw) throw called.error;
    return called.value;
  } catch (e) {
    if ((e as { code?: unknown } | undefined)?.code !== 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw e;
    // Interrupted where the call's finally did not run: the watch is ended here.
    byWatch ||= watched?.end() ?? false;
    if (byWatch) {
      watched?.interrupted();
      // The signal was the watch's, not a Ctrl-C: the run's stop for the kill ends the call.
      return new Promise<never>(() => {});
    }
    // breakOnSigint kept the signal from the process's handlers while the script ran.
    if (process.listenerCount('SIGINT') > 0) process.emit('SIGINT', 'SIGINT');
    else process.kill(process.pid, 'SIGINT');
    throw signal?.aborted ? signal.reason : e;
  } finally {
    callContext.call = undefined;
  }
}

function startFailure(file: string, args: readonly string[], e: unknown): Error {
  if (e instanceof UserInputError) return e;
  // The job store's disk, not the workflow, refused an import: said as the store's trouble (exit 1).
  if (e instanceof JobStoreUnwritableError) return e;
  if (e instanceof JobDeclarationError)
    return new UserInputError('WORKFLOW_START', `workflow ${file}: ${e.message}`);
  const text = userStack(e);
  const first = firstLine(text);
  const flags = args.map((a) => a.split('=')[0]!).filter((a) => /^--?[A-Za-z]/.test(a) && first.includes(a));
  // An argument error names the flag and needs neither the error's class nor a location; a bug
  // in start() needs both.
  const message = flags.length > 0 ? first.replace(/^\w*Error(?: \[\w+\])?: /, '') : located(e);
  return new WorkflowStartError(file, message, flags);
}

function definedJobs(loaded: LoadedWorkflow): string[] {
  return [...loaded.jobs].filter(([, def]) => isJobDefinition(def)).map(([name]) => name);
}
