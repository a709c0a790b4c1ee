import type { Readable } from 'node:stream';

/**
 * The storage a job store is built on: named objects in one flat, '/'-separated key space, with
 * compare-and-swap writes. The job store's semantics (workflows, jobs, files, commits) are written
 * once on top of this port; each backend (`file:` directory, `aws:` S3 bucket) only moves bytes.
 *
 * Keys are relative ('jobs/abc', 'files/x/y'); they never start with '/', never contain '..' or
 * empty segments. Bodies are opaque bytes.
 *
 * Integrity: every object carries the length and SHA-256 of its bytes, recorded by `put` and
 * `putStream` and checked by every read (`get`, `getStream`). Bytes that do not match (a file
 * truncated or rewritten behind the store's back, an S3 object overwritten by another tool) are
 * never returned: `get` throws `CorruptJobStoreError` (code JOBSTORE_CORRUPT) naming the key, and
 * a `getStream` stream fails with it before it ends. `head` and `list` report what was recorded
 * and do not read bodies.
 *
 * Errors every method may raise (from ./errors.js): `JobStoreNotFoundError` when the store itself
 * is gone, `JobStoreUnavailableError` (disposition 'retry') for transient backend failures that
 * survived the backend's own retries. Anything else is a bug.
 */
export interface ObjectStore {
  /** The locator as the user wrote it (for messages), e.g. `file:./js` or `aws:us-west-2:name`. */
  readonly locator: string;

  /**
   * The same locator with any relative path made absolute, for processes that run somewhere else
   * (a worker in a Mesos task sandbox) and must find the same store.
   */
  readonly absoluteLocator: string;

  /**
   * Whether `put`'s `ifNoneMatch`/`ifMatch` are enforced. True for the file backend, S3 and
   * moto; false for S3 emulators that ignore conditional headers (s3rver), where the job store
   * still works but cannot detect two writers racing. A method, not a field, because on S3 the
   * only honest answer is a probe of the server (a conditional write that must fail), made once
   * per store object and cached; the store must exist. The probe writes and deletes a key under
   * `PROBE_PREFIX`, the one prefix callers must not use.
   */
  enforcesConditions(): Promise<boolean>;

  /** Creates the empty store. Throws `JobStoreExistsError` if it already exists. */
  create(): Promise<void>;

  /** Whether the store exists. */
  exists(): Promise<boolean>;

  /**
   * Throws (JobStoreNotOursError, JobStorePathTakenError) when what the locator names is there but
   * is no job store, nor what a create or destroy of one cut short: no command may write into it
   * or delete it. Resolves when nothing is there, or a store (or its remains). Throws
   * JobStoreBeingDeletedError while another live process is deleting the store (see
   * finishCutShortDestroy).
   */
  assertOurs(): Promise<void>;

  /** Deletes the store and everything in it. Resolves if it does not exist. */
  destroy(): Promise<void>;

  /**
   * Deletes what a destroy cut short left (which no longer exists() as a store); true if there
   * was any. A create on such remains finishes them first. Remains whose deleter is still at
   * work (a `toil clean` or a run's `--clean` deleting now) are no such thing: this throws
   * JobStoreBeingDeletedError, so no command deletes them, or makes a store there, from under it.
   */
  finishCutShortDestroy(): Promise<boolean>;

  /**
   * Deletes the empty place the locator names where no store is (an empty directory, or what a
   * create cut short left before its marker), as Toil's `toil clean` deletes the directory it is
   * named; true if there was one. A store, what a destroy left, and what is not ours are left.
   */
  removeEmpty(): Promise<boolean>;

  /** Whether what is here is what a destroy cut short left (which finishCutShortDestroy deletes). */
  isCutShortDestroy(): Promise<boolean>;

  /**
   * Deletes the partial bodies of writes whose writer is gone (killed mid-write), never one a live
   * writer is filling; says how many and their bytes. Only a `file:` store keeps such bodies
   * (see temporaryFiles.ts): an S3 object appears whole or not at all.
   */
  removeAbandonedTemporaries(): Promise<{ count: number; bytes: number }>;

  /**
   * The object's bytes and etag, or undefined if there is no such object. Throws
   * `CorruptJobStoreError` if the bytes do not match their recorded length and SHA-256.
   */
  get(key: string): Promise<StoredObject | undefined>;

  /**
   * The object's size and etag without its body, or undefined if there is no such object.
   * (S3 answers a HEAD in a missing bucket with a bare 404, so there this may report undefined
   * where the other methods would raise `JobStoreNotFoundError`.)
   */
  head(key: string): Promise<ObjectInfo | undefined>;

  /**
   * Writes the whole object atomically: a reader sees the old bytes or the new, never a mix.
   * `ifNoneMatch: '*'` writes only if no object has that key; `ifMatch: etag` only if the current
   * object has that etag. A failed condition throws `PreconditionFailedError` and writes nothing.
   */
  put(key: string, body: Uint8Array | string, conditions?: PutConditions): Promise<ObjectInfo>;

  /**
   * Streams a body of any size into the object (multipart on S3 above the part size). The object
   * appears whole when the returned promise resolves, and not at all if it rejects.
   */
  putStream(key: string, body: Readable): Promise<ObjectInfo>;

  /**
   * A stream of the object's bytes. Throws `ObjectNotFoundError` if there is no such object. The
   * stream fails with `CorruptJobStoreError` (before its end) if the bytes do not match their
   * recorded length and SHA-256, so a consumer never sees a clean end of damaged data.
   */
  getStream(key: string): Promise<Readable>;

  /**
   * Where the object's bytes are, for a user to act on by hand: a file's path (`file:`), or an
   * `s3://BUCKET/KEY` URI (`aws:`). Whether it is there is not asked.
   */
  whereIs(key: string): string;

  /** Deletes the object. Resolves if it does not exist. */
  delete(key: string): Promise<void>;

  /** Deletes many objects, in batches where the backend allows. Missing keys are fine. */
  deleteMany(keys: readonly string[]): Promise<void>;

  /**
   * Every object whose key starts with `prefix`, in ascending key order, paginated internally.
   * `startAfter` skips keys up to and including it (for reading logs incrementally).
   */
  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo>;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** Opaque version tag; changes whenever the bytes change. (As recorded: not a check of the bytes.) */
  readonly etag: string;
}

export interface StoredObject extends ObjectInfo {
  readonly body: Buffer;
}

export interface PutConditions {
  readonly ifNoneMatch?: '*';
  readonly ifMatch?: string;
}

/** Keys under this prefix belong to the backend (its conditional-write probe); callers' keys never start with it. */
export const PROBE_PREFIX = '.toil-probe/';

const KEY_RE = /^(?!\/)(?!.*\/\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[^\0]+(?<!\/)$/;

/** Throws if `key` is not a valid relative object key (see the port's contract). */
export function assertValidKey(key: string): void {
  if (!KEY_RE.test(key)) throw new TypeError(`invalid object key ${JSON.stringify(key)}`);
}
