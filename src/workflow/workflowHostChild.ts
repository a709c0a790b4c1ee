import { ToilError, coerceError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { exitProcess } from './exitTrap.js';
import type { JobStore } from '../jobstore/jobStore.js';
import {
  InProcessWorkflowCode,
  type FinishRequest,
  type StartRequest,
  type StartResult,
} from './workflowCode.js';

/**
 * The protocol between the leader daemon and the process that runs a workflow's own code (one
 * process per call, `toil workflow-host`, over Node's IPC channel). The parent sends one request;
 * the child answers with log lines and then exactly one `result` or `error`, and exits.
 */
export type HostRequest =
  | ({ readonly type: 'start' } & StartRequest)
  | { readonly type: 'jobNames'; readonly modulePath: string }
  | ({ readonly type: 'finish' } & FinishRequest);

export type HostReply =
  /** A line the workflow's code logged (pino JSON), for the daemon's log. */
  | { readonly type: 'log'; readonly line: string }
  /** The module is loaded; the workflow's own `start`/`finish` runs from now on. */
  | { readonly type: 'running' }
  | { readonly type: 'result'; readonly value: StartResult | string[] | null }
  | {
      readonly type: 'error';
      readonly code: string;
      readonly message: string;
      /** The error is the user's to fix (its disposition was 'user'). */
      readonly user: boolean;
      readonly stack?: string;
    };

/**
 * The child side: takes one request from the parent, runs it with the in-process implementation,
 * answers, and exits. A throw anywhere — in a timer, a stray promise — is answered as the
 * call's error before the process exits, so the parent reports what the code did, not "it died".
 */
export function serveWorkflowHost(openStore: (locator: string) => JobStore): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('the workflow host needs an IPC channel to its leader');
  // The leader gone: nothing may run on behind its back. The host's own exits bypass the trap a
  // module's load puts on process.exit (the leader may go while the module loads).
  process.on('disconnect', () => exitProcess(3));
  let answered = false;
  const answer = (reply: HostReply): void => {
    if (answered || !process.connected) return;
    answered = true;
    send(reply, () => exitProcess(reply.type === 'result' ? 0 : 1));
  };
  const fail = (e: unknown): void => {
    const err = coerceError(e);
    answer({
      type: 'error',
      code: e instanceof ToilError ? e.code : 'WORKFLOW_CODE_THREW',
      message: err.message,
      user: e instanceof ToilError ? e.disposition === 'user' : false,
      ...(err.stack ? { stack: err.stack } : {}),
    });
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  const log = createLogger({
    level: 'debug',
    destination: {
      write(line: string): void {
        if (process.connected && !answered) send({ type: 'log', line } satisfies HostReply);
      },
    },
  });
  const code = new InProcessWorkflowCode(openStore, log, () => {
    if (process.connected && !answered) send({ type: 'running' } satisfies HostReply);
  });
  process.once('message', (msg: HostRequest) => {
    const work =
      msg.type === 'start'
        ? code.start(msg)
        : msg.type === 'jobNames'
          ? code.jobNames(msg)
          : code.finish(msg).then(() => null);
    work.then((value) => answer({ type: 'result', value }), fail);
  });
}
