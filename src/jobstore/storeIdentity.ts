import { realpath as fsRealpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ToilError } from '../common/errors.js';
import { untilAborted } from '../common/untilAborted.js';
import { parseLocator } from './locator.js';

/**
 * How long a job store's file system has to resolve its path. A local or healthy network disk
 * answers in milliseconds; one on a hung mount never does, and a submission waiting on it longer
 * than this would sit past the point a user takes the leader for hung too.
 */
export const STORE_IDENTITY_TIMEOUT_MS = 5_000;

/** How the identity is resolved: the file system's realpath and how long it may take (tests narrow both). */
export interface StoreIdentityResolver {
  readonly realpath?: (path: string) => Promise<string>;
  readonly timeoutMs?: number;
}

/** A `file:` job store's file system did not resolve its path in time. */
export class JobStoreNotAnsweringError extends ToilError {
  constructor(locator: string, timeoutMs: number) {
    super(
      'JOB_STORE_NOT_ANSWERING',
      `jobStore ${locator}: its file system did not answer within ${timeoutMs / 1000} s ` +
        `(a hung or unreachable mount?); check the mount, then submit again`,
      { details: { jobStore: locator, timeoutMs } },
    );
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
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return `file:${await untilAborted(realPath(parsed.path, resolver.realpath ?? sharedRealpath), timeout)}`;
  } catch (e) {
    if (timeout.aborted) throw new JobStoreNotAnsweringError(locator, timeoutMs);
    throw e;
  }
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

/**
 * A path's realpath, one call at a time per path: a call on a hung mount holds a thread of the
 * pool every file operation of the process shares until the mount answers, so submissions retried
 * on one hung store wait on the call already made rather than taking the pool thread by thread.
 */
function sharedRealpath(path: string): Promise<string> {
  let pending = realpathsUnderWay.get(path);
  if (!pending) {
    pending = fsRealpath(path).finally(() => realpathsUnderWay.delete(path));
    realpathsUnderWay.set(path, pending);
  }
  return pending;
}

const realpathsUnderWay = new Map<string, Promise<string>>();
