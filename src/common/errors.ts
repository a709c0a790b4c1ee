/**
 * Typed errors with stable codes. Callers branch on `code` (or the class), never on message text.
 * Adapters translate AWS, Mesos and file-system errors into these once, at the edge.
 */
export type Disposition =
  /** The caller gave bad input: report it in one line, exit 2, no stack trace. */
  | 'user'
  /** Worth trying again after a backoff (throttling, a 5xx, a dropped connection). */
  | 'retry'
  /** The thing asked for cannot be had right now (no spot capacity): mark it and re-plan. */
  | 'unavailable'
  /** Retrying will not help (a limit, a permission, a bug): surface it. */
  | 'fatal';

export class ToilError extends Error {
  readonly code: string;
  readonly disposition: Disposition;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options: { disposition?: Disposition; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.disposition = options.disposition ?? 'fatal';
    this.details = Object.freeze({ ...options.details });
  }
}

/**
 * A mistake in what the user typed or wrote (a flag, a locator, a config file). The CLI prints
 * `toil: <message>` and exits 2. The message names the input and says what was expected.
 */
export class UserInputError extends ToilError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, { disposition: 'user', details: details ?? {} });
  }
}

/** A method called in a state that does not allow it (e.g. launching while shutting down). */
export class IllegalStateError extends ToilError {
  constructor(message: string) {
    super('ILLEGAL_STATE', message);
  }
}

/** Whatever was thrown, as an Error (for logging under `err` and for classification). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

export function isUserError(e: unknown): e is ToilError {
  return e instanceof ToilError && e.disposition === 'user';
}

/** True for the AbortError a Clock.sleep or fetch raises when its signal fires. */
export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/**
 * A job asks for more than any node this cluster may ever provide. Raised up front, naming the
 * job, what it asked for and the largest node available, so the workflow fails fast instead of
 * waiting forever (Toil logs this every scaler cycle and hangs).
 */
export class JobTooBigError extends ToilError {
  readonly jobName: string;
  readonly requested: string;
  readonly largest: string;

  /**
   * The `--default*` flags that set the requirements over the limit, for those the job does not
   * declare: a --restart with them lowered runs it (a default is applied as a job is issued, not
   * stored with it).
   */
  readonly defaultFlags: readonly string[];

  /** `after`: what became of the job store the refused run ends with (storeKept, storeDeleted). */
  constructor(
    jobName: string,
    requested: string,
    largest: string,
    after = '',
    defaultFlags: readonly string[] = [],
  ) {
    super(
      'JOB_TOO_BIG',
      `job '${jobName}' asks for ${requested}, more than the largest node allows (${largest})${after}`,
      {
        disposition: 'user',
        details: { jobName, requested, largest },
      },
    );
    this.jobName = jobName;
    this.requested = requested;
    this.largest = largest;
    this.defaultFlags = defaultFlags;
  }

  /**
   * The same refusal, as the run it stopped ends with its job store kept. A --restart with the
   * workflow file fixed is refused the same way: a job still to run keeps the requirements it was
   * stored with when the job that added it ran (as in Toil), so both ways on are said.
   * `resume`: what resumes the store (a leader daemon's resubmission), --restart by default.
   */
  storeKept(locator: string, resume = 'use --restart to resume the workflow'): JobTooBigError {
    const flags = this.defaultFlags;
    const lowered =
      flags.length === 0
        ? ''
        : ` with ${flags.join(' and ')} lowered (the job declares no such requirement, so ${flags.length === 1 ? 'that default sets it' : 'those defaults set them'}), or`;
    return new JobTooBigError(
      this.jobName,
      this.requested,
      this.largest,
      `; the job store ${locator} is kept: ${resume}${lowered} where the job fits (a larger machine or node type), since the jobs still to run keep the requirements they were stored with, which a changed workflow file does not change; or remove the job store with 'toil clean ${locator}' to start the workflow from scratch`,
      flags,
    );
  }

  /** The same refusal, as the run it stopped ends with its job store deleted (`--clean`). */
  storeDeleted(locator: string, clean: string): JobTooBigError {
    return new JobTooBigError(
      this.jobName,
      this.requested,
      this.largest,
      `; the job store ${locator} was deleted (--clean ${clean})`,
      this.defaultFlags,
    );
  }
}
