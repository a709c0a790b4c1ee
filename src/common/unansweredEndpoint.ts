/**
 * A request to an AWS service endpoint that no server answered (refused, no such host, no
 * connection within the client's deadline, or a connection taken and closed before any answer),
 * told apart from one a server answered badly, so the error can name the service, the endpoint and
 * what set it: the SDK's own words ("connect ECONNREFUSED 127.0.0.1:1", "socket hang up") name
 * none of them. Every cloud client's error translation (EC2, IAM, SSM, S3) words it here.
 */

const UNANSWERED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** The connection was made and closed by the other end before an answer came. */
const DROPPED_CODES = new Set(['ECONNRESET', 'EPIPE']);

interface NetworkLikeError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Why nothing answered (the errno, or "timed out" for the SDK's connect deadline), or undefined
 * when a server did answer or the failure is of another kind (a reset mid-request). The SDK sets
 * `$metadata` (its attempts) on connect failures too, so only an HTTP status means an answer.
 */
export function unansweredConnect(e: unknown): string | undefined {
  const err = (e ?? {}) as NetworkLikeError;
  if (err.$metadata?.httpStatusCode !== undefined) return undefined;
  if (typeof err.code === 'string' && UNANSWERED_CODES.has(err.code)) return err.code;
  if (err.name === 'TimeoutError' && /did not establish a connection/i.test(String(err.message)))
    return 'timed out';
  return undefined;
}

/** The errno of a connection the endpoint closed (reset) before answering, else undefined. */
export function droppedConnection(e: unknown): string | undefined {
  const err = (e ?? {}) as NetworkLikeError;
  if (err.$metadata?.httpStatusCode !== undefined) return undefined;
  return typeof err.code === 'string' && DROPPED_CODES.has(err.code) ? err.code : undefined;
}

/** `nothing answers at the S3 endpoint URL (ECONNREFUSED, after retries) (expected S3 there; …)` */
export function nothingAnswersAt(service: string, url: string, why: string, setBy: string): string {
  return `nothing answers at the ${service} endpoint ${url} (${why}, after retries) (expected ${service} there; ${setBy} sets the endpoint)`;
}

/**
 * What became of a request no server answered, naming the service, the endpoint and the cause
 * (refused, no such host, timed out, or reset: taken and closed unanswered); undefined when a
 * server answered (its answer is the error to show) or the failure is not the network's.
 */
export function endpointFailure(service: string, url: string, e: unknown, setBy: string): string | undefined {
  const unanswered = unansweredConnect(e);
  if (unanswered !== undefined) return nothingAnswersAt(service, url, unanswered, setBy);
  const dropped = droppedConnection(e);
  if (dropped !== undefined)
    return `the ${service} endpoint ${url} took the connection and closed it without answering (${dropped}, after retries) (expected ${service} there; ${setBy} sets the endpoint)`;
  return undefined;
}

/** An AWS service endpoint a client sends to and what chose it, named when nothing answers there. */
export interface EndpointInUse {
  readonly url: string;
  /** The variable or setting that chose `url` (`AWS_ENDPOINT_URL_IAM`). */
  readonly setBy: string;
}
