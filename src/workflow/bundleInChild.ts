import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ToilError } from '../common/errors.js';
import { WorkflowBundleError } from './bundle.js';
import type { BundleReply } from './bundleChild.js';

export interface BundleInChildOptions {
  /** Aborting it ends the build: its process and esbuild's are killed, and the call rejects with the reason. */
  readonly signal?: AbortSignal;
  /** The module the process runs (it calls serveBundle); bundleChildMain otherwise. */
  readonly childModule?: string;
}

/** The process bundling a workflow failed, or died before it answered. */
export class WorkflowBundlerFailedError extends ToilError {
  constructor(file: string, why: string) {
    super('WORKFLOW_BUNDLER_FAILED', `cannot bundle workflow ${file}: ${why}`, { details: { file } });
  }
}

/**
 * bundleWorkflow in a process group of its own, killed whole when `signal` aborts. A build given
 * up on cannot be stopped inside the leader: esbuild's cancel() waits for the build's reads, and a
 * read of a file on a hung mount never returns, so the build (its service's threads, the file it
 * waits on, its memory) would stay for the leader's life, one more per submission given up on.
 * Killing the group ends the build and esbuild's service wherever they are.
 */
export function bundleWorkflowInChild(entry: string, o: BundleInChildOptions = {}): Promise<Uint8Array> {
  const { signal } = o;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const module = o.childModule ?? childMain();
  const child = fork(module, [entry], {
    // The leader's own node flags (an --inspect port) are not the bundler's; from source, its
    // TypeScript loader is.
    execArgv: module.endsWith('.ts') ? process.execArgv : [],
    detached: true,
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The whole group has ended already.
    }
  };
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
  });
  return new Promise<Uint8Array>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      killGroup();
      outcome();
    };
    const onAbort = (): void => settle(() => reject(signal?.reason as Error));
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: BundleReply) => {
      if (m.type === 'bundled') settle(() => resolve(Buffer.from(m.bytes)));
      else if (m.type === 'refused') settle(() => reject(new WorkflowBundleError(entry, m.why)));
      else settle(() => reject(new WorkflowBundlerFailedError(entry, m.message)));
    });
    child.on('error', (e) =>
      settle(() => reject(new WorkflowBundlerFailedError(entry, `cannot start its process: ${e.message}`))),
    );
    // 'close', not 'exit': by then every message the child sent has been read.
    child.on('close', (code, sig) => {
      const lastLine = stderrTail.trim().split('\n').at(-1);
      settle(() =>
        reject(
          new WorkflowBundlerFailedError(
            entry,
            `its process died (${sig ? `signal ${sig}` : `exit code ${code}`})${lastLine ? `: ${lastLine}` : ''}`,
          ),
        ),
      );
    });
  });
}

/** The compiled bundleChildMain.js, or bundleChildMain.ts when running from source. */
function childMain(): string {
  const js = fileURLToPath(new URL('./bundleChildMain.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('./bundleChildMain.ts', import.meta.url));
}
