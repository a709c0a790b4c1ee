import { spawn } from 'node:child_process';
import type { Clock } from '../common/clock.js';
import { ToilError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { endLeftProcesses, newProcessMark, withProcessMark } from '../common/processMarks.js';
import {
  SLOW_LOAD_WARNING,
  type FinishRequest,
  type StartRequest,
  type StartResult,
  type WorkflowCode,
} from '../workflow/workflowCode.js';
import type { HostReply, HostRequest } from '../workflow/workflowHostChild.js';

/**
 * A workflow's own code failed in its isolated process: it threw, it did not return in time, or
 * its process died. The run fails with this; the daemon goes on.
 */
export class WorkflowCodeError extends ToilError {
  constructor(code: string, message: string, user: boolean, details: Record<string, unknown> = {}) {
    super(code, message, { disposition: user ? 'user' : 'fatal', details });
  }
}

export interface WorkflowHostTimeouts {
  /** The workflow's `start` (which may import large files), from when it is called. */
  readonly start: number;
  /** The workflow's `finish` (which may export large files), from when it is called. */
  readonly finish: number;
  /**
   * The host process's start and the module's load (its top level), before any of the calls
   * above; also the whole of a load-only call (a restart checks the stored jobs still exist).
   */
  readonly load: number;
}

export interface IsolatedWorkflowCodeOptions {
  /** The argv that runs `toil workflow-host` (node, bin/toil.js, 'workflow-host'). */
  readonly command: readonly string[];
  readonly clock: Clock;
  /** Where the code's log lines go (as the daemon's, with `component: 'workflow'`). */
  readonly log: Logger;
  readonly timeouts: WorkflowHostTimeouts;
  /** The workflow file, for messages. */
  readonly workflowFile: string;
  /** Aborting it kills a call in progress; the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The environment of the host process (the job store's credentials and endpoint). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Each line the code's host logs that the run's submitter is to see too (its log is the
   * daemon's, not theirs): a module still loading after 10 s.
   */
  readonly onNotice?: (line: string) => void;
}

/** The host's log lines a submitter is shown too (onNotice). */
const FOR_SUBMITTER: ReadonlySet<string> = new Set([SLOW_LOAD_WARNING]);

/** How long a workflow host that has answered gets to exit before it is killed. */
const HOST_EXIT_MS = 10_000;

const PINO_LEVELS: Readonly<Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * The workflow's code in a child process of its own, one per call. Why a process and not a worker
 * thread: a thread shares the daemon's heap, its native crashes and `process.exit`/`process.abort`
 * (which a workflow may call, or a native module may trigger) end the whole daemon, and an
 * out-of-memory in a thread can still take the process down. A child process can do none of that
 * to the daemon, can be killed (SIGKILL) outright when it hangs, and its cost (~0.2 s to start
 * Node, three times per workflow) is nothing next to a workflow's run.
 */
export class IsolatedWorkflowCode implements WorkflowCode {
  private readonly o: IsolatedWorkflowCodeOptions;
  private readonly log: Logger;

  constructor(options: IsolatedWorkflowCodeOptions) {
    this.o = options;
    this.log = options.log.child({ component: 'workflow' });
  }

  start(request: StartRequest): Promise<StartResult> {
    return this.call<StartResult>({ type: 'start', ...request }, 'start()', this.o.timeouts.start);
  }

  jobNames(request: { readonly modulePath: string }): Promise<string[]> {
    return this.call<string[]>({ type: 'jobNames', ...request }, 'loading', this.o.timeouts.load);
  }

  async finish(request: FinishRequest): Promise<void> {
    await this.call<null>({ type: 'finish', ...request }, 'finish()', this.o.timeouts.finish);
  }

  private call<T>(request: HostRequest, what: string, timeoutMs: number): Promise<T> {
    const { signal } = this.o;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const [cmd, ...args] = this.o.command;
    if (!cmd) return Promise.reject(new Error('no workflow host command'));
    const file = this.o.workflowFile;
    // Every process the call's code starts carries the mark: what it left running when its
    // process ended (a server started detached) is ended before the call returns.
    const mark = newProcessMark();
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: withProcessMark(this.o.env ?? process.env, mark),
    });
    const ended = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    }).then(() =>
      endLeftProcesses(mark, `${what} of workflow ${file}`, this.o.clock, (m) => this.log.warn(m)),
    );
    let stderrTail = '';
    const forward = (level: 'info' | 'warn') => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (level === 'warn') stderrTail = (stderrTail + text).slice(-4000);
      for (const line of text.split('\n'))
        if (line.trim()) this.log[level]({ stream: level === 'info' ? 'stdout' : 'stderr' }, line);
    };
    child.stdout?.on('data', forward('info'));
    child.stderr?.on('data', forward('warn'));
    const answered = new Promise<T>((resolve, reject) => {
      let settled = false;
      let timer = new AbortController();
      const settle = (outcome: () => void, kill: boolean): void => {
        if (settled) return;
        settled = true;
        timer.abort();
        signal?.removeEventListener('abort', onAbort);
        if (kill && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        outcome();
      };
      const onAbort = (): void => settle(() => reject(signal?.reason as Error), true);
      signal?.addEventListener('abort', onAbort, { once: true });
      child.on('message', (m: HostReply) => {
        if (m.type === 'log') return this.relay(m.line);
        if (m.type === 'running') {
          // Loaded: the call's own limit starts now.
          timer.abort();
          timer = new AbortController();
          return expireAfter(timeoutMs, `${what} of workflow ${file} did not return within`);
        }
        if (m.type === 'result') return settle(() => resolve(m.value as T), false);
        // A user's mistake (an argument the workflow refuses, a file it cannot read) is said once,
        // where the run's end is said, without a stack; the workflow's own code failing is logged
        // here with its stack, for its author.
        if (m.user)
          this.log.debug(
            { code: m.code, stack: m.stack },
            `${what} of workflow ${file} refused: ${m.message}`,
          );
        else
          this.log.error(
            { code: m.code, stack: m.stack },
            `${what} of workflow ${file} failed: ${m.message}`,
          );
        const message =
          m.code === 'WORKFLOW_CODE_THREW' ? `${what} of workflow ${file} threw: ${m.message}` : m.message;
        settle(() => reject(new WorkflowCodeError(m.code, message, m.user)), true);
      });
      child.on('error', (e) =>
        settle(
          () =>
            reject(
              new WorkflowCodeError(
                'WORKFLOW_HOST_FAILED',
                `cannot start the workflow host: ${e.message}`,
                false,
              ),
            ),
          true,
        ),
      );
      // 'close', not 'exit': by then every message the child sent has been read.
      child.on('close', (code, sig) => {
        const lastLine = stderrTail.trim().split('\n').at(-1);
        settle(
          () =>
            reject(
              new WorkflowCodeError(
                'WORKFLOW_CODE_CRASHED',
                `the process running ${what} of workflow ${file} died (${sig ? `signal ${sig}` : `exit code ${code}`})` +
                  (lastLine ? `: ${lastLine}` : ''),
                false,
                { exitCode: code, signal: sig },
              ),
            ),
          false,
        );
      });
      const expireAfter = (ms: number, message: string): void =>
        void this.o.clock.sleep(ms, timer.signal).then(
          () =>
            settle(
              () =>
                reject(
                  new WorkflowCodeError(
                    'WORKFLOW_CODE_TIMEOUT',
                    `${message} ${Math.round(ms / 1000)} s; its process was killed`,
                    false,
                    { timeoutMs: ms },
                  ),
                ),
              true,
            ),
          () => undefined,
        );
      // Until the module is loaded, the load limit; a load-only call has no other.
      expireAfter(
        request.type === 'jobNames' ? timeoutMs : this.o.timeouts.load,
        request.type === 'jobNames'
          ? `${what} of workflow ${file} did not return within`
          : `the workflow host for ${what} of workflow ${file} did not load the module within`,
      );
      child.send(request, (e) => {
        if (e)
          settle(
            () =>
              reject(
                new WorkflowCodeError(
                  'WORKFLOW_HOST_FAILED',
                  `cannot reach the workflow host: ${e.message}`,
                  false,
                ),
              ),
            true,
          );
      });
    });
    // The call's outcome stands once its process is gone and what it left is ended. The host
    // exits as soon as it has answered; one that does not within HOST_EXIT_MS is killed.
    const exitWait = new AbortController();
    void ended.then(() => exitWait.abort());
    const afterExit = async (): Promise<void> => {
      void this.o.clock.sleep(HOST_EXIT_MS, exitWait.signal).then(
        () => child.kill('SIGKILL'),
        () => undefined,
      );
      await ended;
    };
    return answered.then(
      async (value) => {
        await afterExit();
        return value;
      },
      async (e: unknown) => {
        await afterExit();
        throw e;
      },
    );
  }

  /** A pino line from the host, logged again here at its level. */
  private relay(line: string): void {
    try {
      const { level, msg } = JSON.parse(line) as { level?: number; msg?: string };
      this.log[PINO_LEVELS[level ?? 30] ?? 'info'](msg ?? '');
      if (msg !== undefined && FOR_SUBMITTER.has(msg)) this.o.onNotice?.(msg);
    } catch {
      this.log.info(line);
    }
  }
}
