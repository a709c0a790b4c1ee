import { realpath as fsRealpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ToilError } from '../common/errors.js';
import {
  FILE_SYSTEM_ANSWER_TIMEOUT_MS,
  answeredWithin,
  notAnsweringMessage,
} from '../common/fileSystemBound.js';
import { sharedWhileRunningFor } from '../common/sharedWhileRunning.js';
import { parseLocator } from './locator.js';

/** How long a job store's file system has to resolve its path (see FILE_SYSTEM_ANSWER_TIMEOUT_MS). */
export const STORE_IDENTITY_TIMEOUT_MS = FILE_SYSTEM_ANSWER_TIMEOUT_MS;

/** How the identity is resolved: the file system's realpath and how long it may take (tests narrow both). */
export interface StoreIdentityResolver {
  readonly realpath?: (path: string) => Promise<string>;
  readonly timeoutMs?: number;
}

/** A `file:` job store's file system did not resolve its path in time. */
export class JobStoreNotAnsweringError extends ToilError {
  constructor(locator: string, timeoutMs: number) {
    super('JOB_STORE_NOT_ANSWERING', notAnsweringMessage(`jobStore ${locator}`, timeoutMs), {
      details: { jobStore: locator, timeoutMs },
    });
  }
}

/**
 * The job store a locator names, the same for every spelling of it: `file:/data/js`,
 * `file:/data/js/`, `file:/data/x/../js` and `file:/link-to-js` are one store (its real path, as
 * far as it exists; the rest as written), `aws:` ones its region and name. A locator that does not
 * parse is its own text. Resolved off the event loop and bounded: a store on a hung mount rejects
 * with JobStoreNotAnsweringError instead of stalling whoever asked.
 */
export async function jobStoreIdentity(
  locator: string,
  resolver: StoreIdentityResolver = {},
): Promise<string> {
  let parsed;
  try {
    parsed = parseLocator(locator);
  } catch {
    return locator;
  }
  if (parsed.kind === 'aws') return `aws:${parsed.region}:${parsed.name}`;
  const timeoutMs = resolver.timeoutMs ?? STORE_IDENTITY_TIMEOUT_MS;
  const real = await answeredWithin(
    realPath(parsed.path, resolver.realpath ?? sharedRealpath),
    timeoutMs,
    () => new JobStoreNotAnsweringError(locator, timeoutMs),
  );
  return `file:${real}`;
}

/** `path` with its symbolic links resolved, as far as it exists. */
async function realPath(path: string, realpath: (path: string) => Promise<string>): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realPath(parent, realpath), basename(path));
  }
}

/** A path's realpath, one call at a time per path (see sharedWhileRunningFor). */
const sharedRealpath = sharedWhileRunningFor((path: string) => fsRealpath(path));
