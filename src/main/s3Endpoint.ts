import { UserInputError } from '../common/errors.js';
import type { Env } from './env.js';

/** An S3 endpoint other than S3's own, and the variable(s) that set it, for errors to name. */
export interface S3Endpoint {
  readonly url: string;
  readonly source: string;
}

/** Python's strtobool, which Toil reads TOIL_S3_USE_SSL with. */
const TRUE_WORDS = new Set(['y', 'yes', 't', 'true', 'on', '1']);
const FALSE_WORDS = new Set(['n', 'no', 'f', 'false', 'off', '0']);

/**
 * The S3 endpoint the environment names, if any: `AWS_ENDPOINT_URL_S3` (the SDK's variable), or
 * Toil's `TOIL_S3_HOST`, `TOIL_S3_PORT` and `TOIL_S3_USE_SSL` (`http://HOST:PORT` with
 * `TOIL_S3_USE_SSL=False`), as Toil's docs give them for MinIO and other S3-compatible stores.
 * Both ignored, an `aws:` job store meant for such a store would be made in AWS's S3 of its
 * region instead, with whatever credentials the SDK finds. Both naming different endpoints is
 * refused: which the user meant cannot be told. Toil reads TOIL_S3_PORT and TOIL_S3_USE_SSL only
 * with a host, and so does this.
 */
export function s3EndpointFromEnv(env: Env): S3Endpoint | undefined {
  const sdk = env.AWS_ENDPOINT_URL_S3?.trim() || undefined;
  const toil = toilS3Endpoint(env);
  if (sdk !== undefined && toil !== undefined && sameUrl(sdk, toil.url) === false)
    throw new UserInputError(
      'BAD_S3_ENDPOINT',
      `AWS_ENDPOINT_URL_S3 (${sdk}) and ${toil.source} (${toil.url}) name different S3 endpoints: set one of them`,
      { awsEndpointUrlS3: sdk, toilS3Endpoint: toil.url },
    );
  if (sdk !== undefined) return { url: sdk, source: 'AWS_ENDPOINT_URL_S3' };
  return toil;
}

function toilS3Endpoint(env: Env): S3Endpoint | undefined {
  const host = env.TOIL_S3_HOST?.trim();
  if (!host) return undefined;
  if (/[/\s]/.test(host) || (host.includes(':') && !/^\[[0-9a-fA-F:.]+\]$/.test(host)))
    throw new UserInputError(
      'BAD_S3_ENDPOINT',
      `TOIL_S3_HOST: '${host}' is not a host name or IP address (expected e.g. 127.0.0.1 or minio.example.org, with the port in TOIL_S3_PORT and TOIL_S3_USE_SSL=False for plain http)`,
      { host },
    );
  const sources = ['TOIL_S3_HOST'];
  let protocol = 'https';
  const ssl = env.TOIL_S3_USE_SSL?.trim();
  if (ssl) {
    const word = ssl.toLowerCase();
    if (FALSE_WORDS.has(word)) protocol = 'http';
    else if (!TRUE_WORDS.has(word))
      throw new UserInputError(
        'BAD_S3_ENDPOINT',
        `TOIL_S3_USE_SSL: '${ssl}' is not a boolean (expected True or False)`,
        { useSsl: ssl },
      );
    sources.push('TOIL_S3_USE_SSL');
  }
  let port = '';
  const portText = env.TOIL_S3_PORT?.trim();
  if (portText) {
    const n = Number(portText);
    if (!/^\d+$/.test(portText) || n < 1 || n > 65535)
      throw new UserInputError(
        'BAD_S3_ENDPOINT',
        `TOIL_S3_PORT: '${portText}' is not a port (expected a whole number from 1 to 65535)`,
        { port: portText },
      );
    port = `:${n}`;
    sources.push('TOIL_S3_PORT');
  }
  return { url: `${protocol}://${host}${port}`, source: sources.join(', ') };
}

/** Whether two endpoint URLs are the same (undefined when one does not parse: not comparable). */
function sameUrl(a: string, b: string): boolean | undefined {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return undefined;
  }
}

/**
 * The S3 endpoint a client for `region` talks to, and what sets it (named when nothing answers
 * there): the environment's (s3EndpointFromEnv), else S3's own of the region.
 */
export function s3EndpointOf(region: string, env: Env): { url: string; setBy: string } {
  const chosen = s3EndpointFromEnv(env);
  return chosen
    ? { url: chosen.url, setBy: chosen.source }
    : { url: `https://s3.${region}.amazonaws.com`, setBy: 'AWS_ENDPOINT_URL_S3' };
}
