import { writeSync } from 'node:fs';
import { inspect } from 'node:util';
import { procStat } from '../common/processIdentity.js';

/**
 * The process's own exit, taken before any job runs: the worker's exits (its leader gone, its
 * attempt over) go through this, never through a `process.exit` a running job has trapped.
 */
export const exitProcess: (code?: number) => never = process.exit.bind(process);

/**
 * A worker's exit when its leader is gone (its IPC channel closed: the leader was killed with -9):
 * a leader on this machine (single_machine) made the worker a process group of its own, which it
 * kills when it kills the worker, so the processes the worker's job started (a service's server
 * on its port, a tool) go too. The leader cannot any more: the worker kills its group itself, so
 * that a --restart's service finds its port free. A worker that leads no group of its own (run
 * by hand) exits alone.
 */
export function exitWithProcessGroup(code: number): never {
  try {
    if (Number(procStat('self')?.[2]) === process.pid) process.kill(-process.pid, 'SIGKILL');
  } catch {
    // The group is gone: exit alone (without /proc, not Linux, the group is not known: alone too).
  }
  return exitProcess(code);
}

/** A job's code called `process.exit(code)`: the job failed, and says so in its own name. */
export class JobCalledExitError extends Error {
  readonly exitCode: number | undefined;
  constructor(jobName: string, code: number | string | null | undefined) {
    super(
      `job '${jobName}' called process.exit(${code ?? ''}): a job ends by returning (or throwing), not by ending its worker's process, which would leave its result unknown`,
    );
    this.name = 'JobCalledExitError';
    this.exitCode = typeof code === 'number' ? code : undefined;
  }
}

/**
 * A promise the workflow's code rejected with nobody to handle it (one not awaited, nor given a
 * `.catch()`): Node would end the process, and the user would read that a worker (or the leader)
 * died, with a stack of toil-ts's frames. It fails the call that left it instead, naming it, with
 * the rejection's own frames (the user's line that made it).
 */
export class UnhandledRejectionError extends Error {
  constructor(who: string, reason: unknown) {
    const what = reason instanceof Error ? `${reason.name}: ${reason.message}` : inspect(reason);
    super(`${who} left a promise rejected with no handler (not awaited, no .catch()): ${what}`);
    this.name = 'UnhandledRejectionError';
    const frames =
      reason instanceof Error ? reason.stack?.split('\n').filter((l) => /^\s+at /.test(l)) : undefined;
    // Without the reason's frames, this one's would be Node's and toil-ts's only: none is shown.
    this.stack = [`${this.name}: ${this.message}`, ...(frames ?? [])].join('\n');
  }
}

/**
 * The workflow's `start()` or `finish()` called `process.exit`: in `toil run` that is the leader's
 * own process, which would end with no word said, its job store left mid-call. The call fails, as
 * a throw in it does.
 */
export class WorkflowCalledExitError extends Error {
  constructor(who: string, code: number | string | null | undefined) {
    super(
      `${who} called process.exit(${code ?? ''}): it ends by returning (or throwing), not by ending the leader's process, which would leave the job store as the call left it`,
    );
    this.name = 'WorkflowCalledExitError';
  }
}

/**
 * Puts `trap` in the place of `process.exit` until the returned function puts the original back
 * (the process's own exit stays reachable through exitProcess).
 */
export function replaceProcessExit(trap: (code?: number | string | null) => never): () => void {
  const original = Object.getOwnPropertyDescriptor(process, 'exit');
  Object.defineProperty(process, 'exit', { value: trap, writable: true, configurable: true });
  return () => {
    if (original) Object.defineProperty(process, 'exit', original);
    else Reflect.deleteProperty(process, 'exit');
  };
}

/**
 * While a job runs, `process.exit` fails the job instead of killing the worker: the call throws
 * a JobCalledExitError (so the code after it does not run, and the stack points at the call),
 * and `exited` rejects with it (so a call the job's code catches, or makes in a callback of its
 * own, still fails the job). The worker then records the failure as for any error the job
 * throws, and the user reads that their code exited, with what code, instead of "the worker
 * died (exit code 3)". As in Toil, whose worker catches a job's SystemExit and fails the job.
 */
export function trapProcessExit(jobName: string): {
  readonly exited: Promise<never>;
  /** Every call made while trapped, in order. */
  readonly calls: readonly JobCalledExitError[];
  /** What callbacks of the job threw, uncaught, after `settle()`, in order. */
  readonly threw: readonly unknown[];
  /** Whether a callback of the job threw, uncaught, before `settle()` (the job failed of it). */
  readonly threwWhileRunning: () => boolean;
  /** The job has returned or thrown: from now on an uncaught throw is the job's leftover's. */
  settle(): void;
  /**
   * Drops the leftovers' throws that `known` tells (those the attempt's failure already names),
   * past and to come, so they are not named again as strays.
   */
  ignore(known: (e: unknown) => boolean): void;
  release(): void;
} {
  let fail: (e: unknown) => void = () => {};
  const exited = new Promise<never>((_resolve, reject) => (fail = reject));
  exited.catch(() => {}); // read by the job's race; a job that returned first leaves it unread
  const thrown = new WeakSet<JobCalledExitError>();
  const calls: JobCalledExitError[] = [];
  // A promise the job left rejected, unhandled, fails the job as a throw would (without this
  // listener Node ends the worker: "exit code 1"). Once it has settled, it is kept and named as
  // a leftover callback's throw is.
  const onRejection = (reason: unknown): void => {
    if (settled) {
      if (!ignored(reason)) threw.push(reason);
    } else fail(new UnhandledRejectionError(`job '${jobName}'`, reason));
  };
  const trap = (code?: number | string | null): never => {
    const e = new JobCalledExitError(jobName, code);
    Error.captureStackTrace(e, trap);
    thrown.add(e);
    calls.push(e);
    fail(e);
    throw e;
  };
  const threw: unknown[] = [];
  let ignored: (e: unknown) => boolean = () => false;
  let settled = false;
  let threwWhileRunning = false;
  // A call from a callback of the job's own (a timer it left running) throws where nothing catches
  // it: the job has failed through `exited` already, so that throw must not end the worker, which
  // would say only "exit code 1". Once the job has settled, a throw from a callback it left is
  // kept and named, not fatal: it must not cut short the saving of a result the job returned
  // (which would fail the job, or charge a retry, for how fast the machine saved it). While the
  // job runs, any other uncaught error (a timer of the job's that throws) fails the job with that
  // error, as a throw in the job's function does: the worker records it in the job store before
  // it exits, so the summary (single_machine, Mesos, Slurm alike) names it. Ending the worker as
  // Node would left only "exit code 1", the error in the output's tail alone.
  const onUncaught = (e: unknown): void => {
    if (e instanceof JobCalledExitError && thrown.has(e)) return;
    if (settled) {
      if (!ignored(e)) threw.push(e);
      return;
    }
    threwWhileRunning = true;
    fail(e);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const restoreExit = replaceProcessExit(trap);
  return {
    exited,
    calls,
    threw,
    threwWhileRunning: () => threwWhileRunning,
    settle: () => {
      settled = true;
    },
    ignore: (known) => {
      ignored = known;
      for (let i = threw.length - 1; i >= 0; i--) if (known(threw[i])) threw.splice(i, 1);
    },
    release: () => {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onRejection);
      restoreExit();
    },
  };
}

/**
 * What a job's call of `process.exit` made after the job had settled says: a callback the job
 * left running (a timer) called it while its worker saved the job's result. The trap was still
 * armed, so the call changed nothing: the result stands, and the call is named here.
 */
export function strayExitWarning(jobName: string, call: JobCalledExitError): string {
  const where = call.stack
    ?.split('\n')
    .find((l) => /^\s+at /.test(l))
    ?.trim();
  return (
    `job '${jobName}' called process.exit(${call.exitCode ?? ''}) after it had returned (from a callback it left running${where ? `, ${where}` : ''}): ` +
    "the call was ignored and the job's result stands; a job ends by returning, and clears its timers"
  );
}

/**
 * What a throw from a callback the job left running (a timer) says when it went off after the job
 * had settled, while its worker saved the result: the throw was caught, the result stands, and the
 * worker takes no other job (a process that had an uncaught throw is in no known state).
 */
export function strayThrowWarning(jobName: string, error: unknown): string {
  const first = inspect(error).split('\n');
  const where = first.find((l) => /^\s+at /.test(l))?.trim();
  return (
    `job '${jobName}' left a callback that threw after it had returned (${first[0]}${where ? `, ${where}` : ''}): ` +
    "the throw was caught and the job's result stands; its worker is retired after it; a job ends by returning, and clears its timers"
  );
}

/**
 * For a worker about to exit once it has reported its attempt: a callback the job left that goes
 * off meanwhile is written to stderr, not allowed to end the process with exit code 1 before its
 * report is out (which would read as the job's failure).
 */
export function ignoreStrayThrowsUntilExit(): void {
  process.on('uncaughtException', (e) => writeSync(2, `${inspect(e)}\n`));
}
