import { ToilError, UserInputError } from '../common/errors.js';

/**
 * `--restart` or `toil status` named a job store that does not exist: none is there, or
 * (`deletionCutShort`) only what a deletion of one cut short (a `toil clean` killed) left.
 */
export class JobStoreNotFoundError extends UserInputError {
  /** `hint` says what to do instead, in the words of the command that needed the store. */
  constructor(locator: string, hint?: string, deletionCutShort = false) {
    super(
      'JOBSTORE_NOT_FOUND',
      deletionCutShort
        ? `job store ${locator} does not exist: a deletion of it was cut short and left part of it; 'toil clean ${locator}' finishes deleting it, as does a 'toil run' of a new workflow on it${hint ? `; ${hint}` : ''}`
        : `job store ${locator} does not exist (expected an existing job store${hint ? `; ${hint}` : ''})`,
      { locator, ...(deletionCutShort ? { deletionCutShort } : {}) },
    );
  }
}

/**
 * A `file:` job store another process is deleting right now (a `toil clean`, or a run's `--clean`):
 * no command may use the path until that deletion ends, or a new store made there would be
 * deleted from under its run. What a deletion cut short left is JobStoreNotFoundError instead.
 */
export class JobStoreBeingDeletedError extends UserInputError {
  constructor(locator: string, deleter: string, since: string) {
    super(
      'JOBSTORE_BEING_DELETED',
      `job store ${locator} is being deleted by ${deleter} since ${since} (expected no other command on it while it goes: wait for that deletion to end, then run again)`,
      { locator, deleter, since },
    );
  }
}

/** An `aws:` job store's bucket exists but holds objects no job store wrote: someone else's. */
export class JobStoreNotOursError extends UserInputError {
  constructor(locator: string, bucket: string, key: string) {
    super(
      'JOBSTORE_NOT_OURS',
      `job store ${locator}: bucket ${bucket} exists and holds objects no job store wrote (e.g. '${key}'; no leader.json), so it is not used, written to or deleted (expected a bucket made by toil: name another job store, or empty the bucket yourself)`,
      { locator, bucket },
    );
  }
}

/**
 * An `aws:` job store's bucket is in another region than its locator names: S3 bucket names are
 * global, so it is the store of another locator (or no store of this one), and is not used,
 * written to or deleted under this one, as Toil refuses it (BucketLocationConflictException).
 */
export class JobStoreWrongRegionError extends UserInputError {
  constructor(locator: string, bucket: string, bucketRegion: string, region: string, name: string) {
    super(
      'JOBSTORE_WRONG_REGION',
      `job store ${locator}: bucket ${bucket} is in ${bucketRegion}, not ${region}, so it is not used, written to or deleted (expected the region the bucket was made in: aws:${bucketRegion}:${name}, or another name for a new store in ${region})`,
      { locator, bucket, bucketRegion, region },
    );
  }
}

/**
 * A `file:` job store's path holds something that is not a job store (a file, or a directory of
 * other files): it is not used, written to or deleted.
 */
export class JobStorePathTakenError extends UserInputError {
  readonly locator: string;
  readonly path: string;
  readonly what: string;

  constructor(
    locator: string,
    path: string,
    what: string,
    expected = 'a path that does not exist yet, or an empty directory: name another job store',
  ) {
    super(
      'JOBSTORE_NOT_OURS',
      `job store ${locator}: ${path} ${what}, so it is not used, written to or deleted (expected ${expected})`,
      { locator, path },
    );
    this.locator = locator;
    this.path = path;
    this.what = what;
  }

  /** The same refusal to a command that reads an existing store: no new one is wanted there. */
  forReading(): JobStorePathTakenError {
    return new JobStorePathTakenError(
      this.locator,
      this.path,
      this.what,
      'the job store a workflow ran with: name that one',
    );
  }
}

/**
 * A new workflow named a job store that already exists. Both ways out, in Toil's words
 * (JobStoreExistsException): a store a run kept (a failed job, a job over --maxMemory) is resumed
 * by --restart, and `toil clean` is what starts the workflow anew.
 */
/** How `heldWorkflow` begins its clause for a store whose workflow cannot be read for damage. */
export const DAMAGED_WORKFLOW = 'a damaged workflow';

export class JobStoreExistsError extends UserInputError {
  constructor(
    locator: string,
    /**
     * The leader running in the store now, when one is known to: then neither way out applies
     * (--restart and `toil clean` are both refused while it holds the store).
     */
    holder?: string,
    /** What the store holds, as `heldWorkflow` says it ("a workflow that finished", …), when known. */
    held?: string,
  ) {
    const expected = held ? `expected a new job store; it holds ${held}` : 'expected a new job store';
    super(
      'JOBSTORE_EXISTS',
      holder
        ? `job store ${locator} already exists and is in use by ${holder} (expected a new job store): name another job store for a second run, or wait for that leader to end (if its workflow does not finish, --restart resumes it)`
        : held?.startsWith(DAMAGED_WORKFLOW)
          ? `job store ${locator} already exists (${expected}): run 'toil status ${locator}' to list the damaged objects and restore them before --restart, or remove the job store with 'toil clean ${locator}' to start the workflow from scratch`
          : held === 'a workflow that finished'
            ? `job store ${locator} already exists (${expected}): remove it with 'toil clean ${locator}' to run the workflow again, or use --restart to run only its finish again`
            : `job store ${locator} already exists (${expected}): use --restart to resume the workflow, or remove the job store with 'toil clean ${locator}' to start the workflow from scratch`,
      { locator },
    );
  }
}

/** A locator that is not `file:PATH`, a bare path, or `aws:REGION:NAME`. */
export class InvalidLocatorError extends UserInputError {
  constructor(locator: string, why: string) {
    super('JOBSTORE_BAD_LOCATOR', `invalid job store locator '${locator}': ${why}`, { locator });
  }
}

/** A conditional write lost: another writer changed (or created) the object first. */
export class PreconditionFailedError extends ToilError {
  constructor(key: string) {
    super('JOBSTORE_PRECONDITION_FAILED', `object ${key} was changed by another writer`, {
      details: { key },
    });
  }
}

export class ObjectNotFoundError extends ToilError {
  constructor(key: string) {
    super('JOBSTORE_OBJECT_NOT_FOUND', `no object ${key} in the job store`, { details: { key } });
  }
}

/** The backend failed in a way that may pass (throttling, 5xx, network) after its own retries. */
export class JobStoreUnavailableError extends ToilError {
  constructor(message: string, cause?: unknown) {
    super('JOBSTORE_UNAVAILABLE', message, { disposition: 'retry', cause });
  }
}

/**
 * What the write needed and how to give it, for the refusal the disk made: freeing space is no
 * fix for a read-only file system or a permission, and a user with room to spare would look for
 * the full disk the advice names.
 */
function writeExpected(errno: string): string {
  switch (errno) {
    case 'ENOSPC':
      return 'expected room to write: free space there';
    case 'EDQUOT':
      return 'expected room to write: free space there, or raise the quota';
    case 'EROFS':
      return 'expected a writable file system: remount it read-write';
    default:
      return 'expected permission to write: fix its permissions';
  }
}

/**
 * A `file:` job store's disk refused a write: full, over its quota, read-only, or not ours to
 * write. Neither bad input nor a bug, so one line and exit 1 (not a stack trace), naming the
 * store, the object and why; what the workflow committed before it is kept for `--restart`.
 */
export class JobStoreUnwritableError extends ToilError {
  readonly locator: string;
  readonly what: string;
  readonly why: string;
  readonly errno: string;

  constructor(
    locator: string,
    what: string,
    why: string,
    errno: string,
    /** What to do once there is room; a run says it by what became of its store (afterRun). */
    then = 'then run again; a workflow resumes from what it committed with --restart',
  ) {
    super(
      'JOBSTORE_UNWRITABLE',
      `job store ${locator} could not be written: ${why} (${errno}) ${what} (${writeExpected(errno)}, ${then})`,
      { details: { locator, errno } },
    );
    this.locator = locator;
    this.what = what;
    this.why = why;
    this.errno = errno;
  }

  /**
   * The same refusal, as the run it stopped ends: a store kept holds what the workflow committed,
   * and only `--restart` (`resume`, for a leader daemon) takes it up again; a store removed (the
   * workflow's start() never finished) leaves nothing to resume, and the same command (the same
   * submission, for a daemon: its `resume`) runs it anew.
   */
  afterRun(storeKept: boolean, resume?: string): JobStoreUnwritableError {
    const then = storeKept
      ? `then ${resume ?? "resume it with 'toil run WORKFLOW JOBSTORE --restart'"}: its job store is kept with what the workflow committed`
      : `then ${resume ?? 'run the same command again (without --restart)'}: the job store was removed, so the workflow starts anew`;
    return new JobStoreUnwritableError(this.locator, this.what, this.why, this.errno, then);
  }
}

/**
 * The backend refused us in a way only the user can fix: credentials missing or not allowed to
 * use the bucket (or the bucket name belongs to another AWS account), or the bucket is in
 * another region than the locator says.
 */
export class JobStoreAccessError extends UserInputError {
  constructor(locator: string, why: string) {
    super('JOBSTORE_ACCESS', `cannot use job store ${locator}: ${why}`, { locator });
  }
}

/**
 * Something in the job store is damaged: an object's bytes do not match the length and SHA-256
 * recorded when it was written (truncated, overwritten, bit rot), or a record does not parse.
 * Never retried and never papered over: the job or command that read it fails, naming the object.
 * A user-facing error (one line, exit 2): the fix is the user's (restore the object, or clean the
 * store and run again), not a bug in toil-ts.
 */
export class CorruptJobStoreError extends UserInputError {
  /** The damaged object, when one object is to blame. */
  readonly key: string | undefined;
  /** What is wrong with it, without the advice (for listings). */
  readonly reason: string;
  /**
   * `why` completes "object KEY ..." when `key` is given (e.g. "holds 3 bytes, expected 9");
   * `advice`, what to do, when the usual (list, restore or clean) is not all there is to say.
   */
  constructor(locator: string, why: string, key?: string, advice?: string) {
    super(
      'JOBSTORE_CORRUPT',
      `job store ${locator} is damaged: ${key === undefined ? why : `object ${key} ${why}`} (${advice ?? `run 'toil status ${locator}' to list every damaged object; restore them, or run 'toil clean ${locator}' and start the workflow again`})`,
      { locator, ...(key === undefined ? {} : { key }) },
    );
    this.key = key;
    this.reason = why;
  }
}

/**
 * Another leader holds the job store's lease: a second leader refuses to run the same workflow.
 * Names the holder and when its lease runs out, so the user knows whom to stop or how long to wait.
 */
export class JobStoreLeasedError extends UserInputError {
  constructor(
    locator: string,
    holder: string,
    until: string,
    expected = 'expected no other leader on it; stop that leader, or wait for its lease to expire if it died, then run again with --restart',
  ) {
    super('JOBSTORE_LEASED', `job store ${locator} is in use by ${holder} until ${until} (${expected})`, {
      locator,
      holder,
      until,
    });
  }
}

/**
 * This leader's lease on the job store is gone (another leader took the store over after the lease
 * expired, or a renewal found it changed): its writes are refused and its run stops.
 */
/**
 * This leader may no longer write to its job store. `storeTrouble`: its lease lapsed because the
 * store did not answer its renewals (an outage, not another leader and not a mistake): exit 1, and
 * the message says its committed work is kept for `--restart`.
 */
export class LeaseLostError extends ToilError {
  constructor(locator: string, why: string, storeTrouble = false) {
    super(
      'JOBSTORE_LEASE_LOST',
      storeTrouble
        ? `this leader lost its lease on job store ${locator}: ${why}; it stops without writing more; what it committed is kept: run again with --restart once the store answers`
        : `this leader lost its lease on job store ${locator}: ${why}; it stops without writing more (another leader runs the workflow now)`,
      storeTrouble
        ? { disposition: 'retry', details: { locator } }
        : { disposition: 'user', details: { locator } },
    );
  }
}
