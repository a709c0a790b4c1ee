/**
 * A request to an AWS service endpoint that no server answered (refused, no such host, no
 * connection within the client's deadline), told apart from one a server answered badly, so the
 * error can name the endpoint and what set it: the SDK's own words ("connect ECONNREFUSED
 * 127.0.0.1:1") name neither.
 */

const UNANSWERED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * Why nothing answered (the errno, or "timed out" for the SDK's connect deadline), or undefined
 * when a server did answer or the failure is of another kind (a reset mid-request). The SDK sets
 * `$metadata` (its attempts) on connect failures too, so only an HTTP status means an answer.
 */
export function unansweredConnect(e: unknown): string | undefined {
  const err = (e ?? {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (err.$metadata?.httpStatusCode !== undefined) return undefined;
  if (typeof err.code === 'string' && UNANSWERED_CODES.has(err.code)) return err.code;
  if (err.name === 'TimeoutError' && /did not establish a connection/i.test(String(err.message)))
    return 'timed out';
  return undefined;
}

/** `nothing answers at the S3 endpoint URL (ECONNREFUSED, after retries) (expected S3 there; …)` */
export function nothingAnswersAt(service: string, url: string, why: string, setBy: string): string {
  return `nothing answers at the ${service} endpoint ${url} (${why}, after retries) (expected ${service} there; ${setBy} sets the endpoint)`;
}
