import { ToilError, UserInputError } from '../common/errors.js';

/** `--restart` or `toil status` named a job store that does not exist. */
export class JobStoreNotFoundError extends UserInputError {
  /** `hint` says what to do instead, in the words of the command that needed the store. */
  constructor(locator: string, hint?: string) {
    super(
      'JOBSTORE_NOT_FOUND',
      `job store ${locator} does not exist (expected an existing job store${hint ? `; ${hint}` : ''})`,
      { locator },
    );
  }
}

/** A new workflow named a job store that already exists. */
export class JobStoreExistsError extends UserInputError {
  constructor(locator: string) {
    super(
      'JOBSTORE_EXISTS',
      `job store ${locator} already exists (expected a new job store; use --restart to resume it, or 'toil clean ${locator}' to remove it)`,
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
 * The backend refused us in a way only the user can fix: credentials missing or not allowed to
 * use the bucket (or the bucket name belongs to another AWS account), or the bucket is in
 * another region than the locator says.
 */
export class JobStoreAccessError extends UserInputError {
  constructor(locator: string, why: string) {
    super('JOBSTORE_ACCESS', `cannot use job store ${locator}: ${why}`, { locator });
  }
}
