import { ToilError, UserInputError, type Disposition } from '../common/errors.js';

/**
 * Errors the Provisioner port raises, with stable codes. The disposition tells the caller what to
 * do: 'retry' (after a backoff), 'unavailable' (mark the offering and re-plan), 'fatal' (surface it).
 */
export type ProvisionerErrorCode =
  | 'NO_CAPACITY'
  | 'SPOT_PRICE_TOO_LOW'
  | 'THROTTLED'
  | 'EC2_UNAVAILABLE'
  | 'LIMIT_EXCEEDED'
  | 'NOT_FOUND'
  | 'NOT_AUTHORISED'
  | 'DEPENDENCY_VIOLATION'
  | 'ALREADY_EXISTS'
  | 'CLUSTER_NOT_FOUND'
  | 'REQUEST_REJECTED'
  /** IAM answered a call of the cluster's roles and profiles with a refusal (its message says why). */
  | 'IAM_REJECTED'
  /** No answer came from IAM's endpoint (refused, reset, timed out): the endpoint and cause named. */
  | 'IAM_UNREACHABLE'
  /** SSM answered a call on a Slurm cluster's munge key with a refusal (its message says why). */
  | 'SSM_REJECTED'
  /** No answer came from SSM's endpoint (refused, reset, timed out): the endpoint and cause named. */
  | 'SSM_UNREACHABLE'
  /** The SDK found no credentials (it fails before sending anything). */
  | 'NO_CREDENTIALS'
  /** The SDK was given no region. */
  | 'NO_REGION';

/** The disposition of each provisioner code (docs/errors.md lists them with every other code). */
export const DISPOSITIONS: Readonly<Record<ProvisionerErrorCode, Disposition>> = {
  NO_CAPACITY: 'unavailable',
  SPOT_PRICE_TOO_LOW: 'unavailable',
  THROTTLED: 'retry',
  EC2_UNAVAILABLE: 'retry',
  LIMIT_EXCEEDED: 'fatal',
  NOT_FOUND: 'fatal',
  NOT_AUTHORISED: 'fatal',
  DEPENDENCY_VIOLATION: 'retry',
  ALREADY_EXISTS: 'fatal',
  CLUSTER_NOT_FOUND: 'fatal',
  REQUEST_REJECTED: 'fatal',
  IAM_REJECTED: 'fatal',
  IAM_UNREACHABLE: 'fatal',
  SSM_REJECTED: 'fatal',
  SSM_UNREACHABLE: 'fatal',
  // The user's setup, not the cloud: one line and exit 2 from the CLI, like any bad input.
  NO_CREDENTIALS: 'user',
  NO_REGION: 'user',
};

export class ProvisionerError extends ToilError {
  declare readonly code: ProvisionerErrorCode;
  /** The cloud's own error name (e.g. 'InsufficientInstanceCapacity'), for logs. */
  readonly cloudCode: string | undefined;

  constructor(
    code: ProvisionerErrorCode,
    message: string,
    options: { cause?: unknown; cloudCode?: string; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, {
      disposition: DISPOSITIONS[code],
      cause: options.cause,
      details: { ...options.details, cloudCode: options.cloudCode },
    });
    this.cloudCode = options.cloudCode;
  }
}

export function isProvisionerError(e: unknown, code?: ProvisionerErrorCode): e is ProvisionerError {
  return e instanceof ProvisionerError && (code === undefined || e.code === code);
}

/** A user named an instance type the cloud does not offer; says which names are close. */
export class UnknownInstanceTypeError extends UserInputError {
  constructor(name: string, suggestions: readonly string[]) {
    const hint =
      suggestions.length > 0 ? ` (did you mean ${suggestions.map((s) => `'${s}'`).join(' or ')}?)` : '';
    super('UNKNOWN_INSTANCE_TYPE', `unknown instance type '${name}'${hint}`, {
      name,
      suggestions: [...suggestions],
    });
  }
}
