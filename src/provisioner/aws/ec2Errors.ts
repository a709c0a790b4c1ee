import { ProvisionerError, type ProvisionerErrorCode } from '../errors.js';
import { endpointFailure, type EndpointInUse } from '../../common/unansweredEndpoint.js';

/**
 * AWS EC2 error names → the port's typed errors. This is the one place EC2's names are known; the
 * SDK exposes the `<Code>` as `name` whatever the HTTP status, so classification is by name first
 * (an InsufficientInstanceCapacity sent with a 500 is still "no capacity", not "try again").
 */
const BY_NAME: Readonly<Record<string, ProvisionerErrorCode>> = {
  InsufficientInstanceCapacity: 'NO_CAPACITY',
  InsufficientHostCapacity: 'NO_CAPACITY',
  InsufficientReservedInstanceCapacity: 'NO_CAPACITY',
  InsufficientCapacity: 'NO_CAPACITY',
  UnfulfillableCapacity: 'NO_CAPACITY',
  InsufficientFreeAddressesInSubnet: 'NO_CAPACITY',
  SpotMaxPriceTooLow: 'SPOT_PRICE_TOO_LOW',
  RequestLimitExceeded: 'THROTTLED',
  Throttling: 'THROTTLED',
  ThrottlingException: 'THROTTLED',
  RequestThrottled: 'THROTTLED',
  EC2ThrottledException: 'THROTTLED',
  TooManyRequestsException: 'THROTTLED',
  SlowDown: 'THROTTLED',
  InternalError: 'EC2_UNAVAILABLE',
  InternalFailure: 'EC2_UNAVAILABLE',
  Unavailable: 'EC2_UNAVAILABLE',
  ServiceUnavailable: 'EC2_UNAVAILABLE',
  TimeoutError: 'EC2_UNAVAILABLE',
  RequestTimeout: 'EC2_UNAVAILABLE',
  InstanceLimitExceeded: 'LIMIT_EXCEEDED',
  VcpuLimitExceeded: 'LIMIT_EXCEEDED',
  MaxSpotInstanceCountExceeded: 'LIMIT_EXCEEDED',
  ResourceLimitExceeded: 'LIMIT_EXCEEDED',
  SecurityGroupLimitExceeded: 'LIMIT_EXCEEDED',
  RulesPerSecurityGroupLimitExceeded: 'LIMIT_EXCEEDED',
  UnauthorizedOperation: 'NOT_AUTHORISED',
  AuthFailure: 'NOT_AUTHORISED',
  InvalidClientTokenId: 'NOT_AUTHORISED',
  SignatureDoesNotMatch: 'NOT_AUTHORISED',
  OptInRequired: 'NOT_AUTHORISED',
  Blocked: 'NOT_AUTHORISED',
  DependencyViolation: 'DEPENDENCY_VIOLATION',
};

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

interface SdkLikeError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

export function classifyEc2ErrorName(name: string, status?: number): ProvisionerErrorCode {
  const known = BY_NAME[name];
  if (known) return known;
  if (name.endsWith('.NotFound') || name === 'NotFound') return 'NOT_FOUND';
  if (name.endsWith('.Duplicate') || name.endsWith('AlreadyExists')) return 'ALREADY_EXISTS';
  if (name.startsWith('AccessDenied')) return 'NOT_AUTHORISED';
  if (status === 429) return 'THROTTLED';
  if (status !== undefined && status >= 500) return 'EC2_UNAVAILABLE';
  return 'REQUEST_REJECTED';
}

/**
 * What to say when the SDK could not even send the request: the setup is missing something. One
 * line naming what is missing and where it comes from (the SDK's own message lists its providers
 * over several lines and reads like a crash).
 */
export const NO_CREDENTIALS_MESSAGE =
  'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or run where an instance profile provides them';
export const NO_REGION_MESSAGE =
  'no AWS region: give --zone (or TOIL_AWS_ZONE; the region is the zone without its letter) or set AWS_REGION';

/** The EC2 endpoint a client sends to and what set it (`AWS_ENDPOINT_URL_EC2`). */
export type Ec2EndpointInUse = EndpointInUse;

/** Translates whatever the SDK threw for `operation` into a ProvisionerError (once, here). */
export function translateEc2Error(
  thrown: unknown,
  operation: string,
  endpoint?: Ec2EndpointInUse,
): ProvisionerError {
  if (thrown instanceof ProvisionerError) return thrown;
  const e = (thrown ?? {}) as SdkLikeError;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(thrown);
  if (e.$metadata === undefined || e.$metadata.httpStatusCode === undefined) {
    if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message))
      return new ProvisionerError('NO_CREDENTIALS', `EC2 ${operation}: ${NO_CREDENTIALS_MESSAGE}`, {
        cause: thrown,
        cloudCode: name,
        details: { operation },
      });
    if (/^Region is missing/i.test(message))
      return new ProvisionerError('NO_REGION', `EC2 ${operation}: ${NO_REGION_MESSAGE}`, {
        cause: thrown,
        cloudCode: name,
        details: { operation },
      });
  }
  const status = e.$metadata?.httpStatusCode;
  const sysCode = typeof e.code === 'string' ? e.code : undefined;
  let code: ProvisionerErrorCode;
  // No HTTP status: no answer came. The SDK still sets `$metadata` (its attempts) on such errors.
  if (status === undefined && sysCode && NETWORK_CODES.has(sysCode)) code = 'EC2_UNAVAILABLE';
  else if (status === undefined && (name === 'TimeoutError' || name === 'AbortError'))
    code = 'EC2_UNAVAILABLE';
  else code = classifyEc2ErrorName(name, status);
  const unanswered = endpoint && endpointFailure('EC2', endpoint.url, thrown, endpoint.setBy);
  if (unanswered)
    return new ProvisionerError(code, `EC2 ${operation}: ${unanswered}`, {
      cause: thrown,
      cloudCode: name,
      details: { operation },
    });
  return new ProvisionerError(code, `EC2 ${operation} failed: ${name}: ${message}`, {
    cause: thrown,
    cloudCode: name,
    details: { operation, httpStatus: status, requestId: e.$metadata?.requestId },
  });
}
