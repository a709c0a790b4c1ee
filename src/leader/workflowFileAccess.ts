import { constants, type Stats } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { ToilError } from '../common/errors.js';
import {
  FILE_SYSTEM_ANSWER_TIMEOUT_MS,
  answeredWithin,
  notAnsweringMessage,
} from '../common/fileSystemBound.js';
import { sharedWhileRunningFor } from '../common/sharedWhileRunning.js';
import { bundleWorkflowInChild } from '../workflow/bundleInChild.js';

/**
 * How long bundling a submitted workflow may take. esbuild bundles a workflow and its imports in
 * well under a second; this leaves room for a large one on a busy leader, and a file on a hung
 * mount (the workflow's or one it imports) holds the build for good.
 */
export const WORKFLOW_BUNDLE_TIMEOUT_MS = 30_000;

/** What the leader's file system says of a workflow file. */
export type WorkflowFileFacts =
  | { readonly statError: string }
  | { readonly kind: 'file' | 'directory' | 'other'; readonly readError?: string };

/**
 * How the daemon reads a submitted workflow file, and how long each step may take (tests narrow
 * them, and make a file system that never answers).
 */
export interface WorkflowFileAccess {
  /** Its stat and, for a regular file, whether the leader may read it. */
  readonly examine?: (path: string) => Promise<WorkflowFileFacts>;
  /** Bundles it; `signal` aborts when the bundle is given up on, and the build must stop then. */
  readonly bundle?: (path: string, signal: AbortSignal) => Promise<Uint8Array>;
  readonly timeoutMs?: number;
  readonly bundleTimeoutMs?: number;
}

/** A submitted workflow file's file system did not answer in time. */
export class WorkflowFileNotAnsweringError extends ToilError {
  constructor(path: string, timeoutMs: number, bundling: boolean) {
    super(
      'WORKFLOW_FILE_NOT_ANSWERING',
      notAnsweringMessage(
        `workflowFile ${path}`,
        timeoutMs,
        bundling ? 'bundling it, its file system or that of a file it imports' : undefined,
      ),
      { details: { workflowFile: path, timeoutMs } },
    );
  }
}

/** The facts of a submitted workflow file, asked off the event loop and bounded. */
export function examineWorkflowFile(path: string, o: WorkflowFileAccess = {}): Promise<WorkflowFileFacts> {
  return bounded(path, (o.examine ?? sharedExamine)(path), o, false);
}

/**
 * A submitted workflow bundled (bundleWorkflow, in a process of its own), bounded: given up on,
 * the build is stopped, not left to run on in the leader. `stop` aborting stops it too (the run
 * it is for was cancelled, or the leader is stopping); the call rejects with its reason.
 */
export async function bundleSubmittedWorkflow(
  path: string,
  o: WorkflowFileAccess = {},
  stop?: AbortSignal,
): Promise<Uint8Array> {
  const done = new AbortController();
  const stopped = (): void => done.abort(stop?.reason);
  if (stop?.aborted) stopped();
  stop?.addEventListener('abort', stopped, { once: true });
  try {
    return await bounded(
      path,
      (o.bundle ?? ((p, signal) => bundleWorkflowInChild(p, { signal })))(path, done.signal),
      o,
      true,
    );
  } finally {
    stop?.removeEventListener('abort', stopped);
    done.abort();
  }
}

function bounded<T>(path: string, work: Promise<T>, o: WorkflowFileAccess, bundling: boolean): Promise<T> {
  const timeoutMs = bundling
    ? (o.bundleTimeoutMs ?? WORKFLOW_BUNDLE_TIMEOUT_MS)
    : (o.timeoutMs ?? FILE_SYSTEM_ANSWER_TIMEOUT_MS);
  return answeredWithin(work, timeoutMs, () => new WorkflowFileNotAnsweringError(path, timeoutMs, bundling));
}

async function examine(path: string): Promise<WorkflowFileFacts> {
  const s = await stat(path).catch((e: NodeJS.ErrnoException) => e);
  if (s instanceof Error) return { statError: s.code ?? 'error' };
  const kind = kindOf(s);
  if (kind !== 'file') return { kind };
  const readError = await access(path, constants.R_OK).then(
    () => undefined,
    (e: NodeJS.ErrnoException) => e.code ?? 'error',
  );
  return readError === undefined ? { kind } : { kind, readError };
}

const kindOf = (s: Stats): 'file' | 'directory' | 'other' =>
  s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';

const sharedExamine = sharedWhileRunningFor(examine);
