import type { Clock } from '../common/clock.js';
import { ToilError } from '../common/errors.js';
import type { Env } from './env.js';

/** IMDSv2's longest token lifetime; a token is renewed a minute before it ends. */
const TOKEN_TTL_SECONDS = 21_600;
const RENEW_BEFORE_MS = 60_000;
/** The metadata service answers at once or not at all (it is on the instance's own link). */
const REQUEST_TIMEOUT_MS = 2_000;

/**
 * The instance's metadata service over IMDSv2 (a PUT for a session token, then GETs carrying it),
 * as launches require it (`HttpTokens=required`). `AWS_EC2_METADATA_SERVICE_ENDPOINT` names it
 * as for the AWS SDK (the local cloud gives each instance its own); 169.254.169.254 otherwise.
 * The token is kept until shortly before it expires, and dropped if the service refuses it.
 */
export class InstanceMetadataClient {
  private readonly base: string;
  private readonly clock: Clock;
  private token: { value: string; expires: number } | undefined;

  constructor(options: { env: Env; clock: Clock }) {
    this.base = (options.env.AWS_EC2_METADATA_SERVICE_ENDPOINT?.trim() || 'http://169.254.169.254').replace(
      /\/$/,
      '',
    );
    this.clock = options.clock;
  }

  /**
   * The item under `latest/` (e.g. `meta-data/instance-id`), or undefined when the service has
   * none (404: a recommendation not given yet). Throws `ToilError` IMDS_UNAVAILABLE (disposition
   * retry) when the service cannot be reached or fails.
   */
  async get(item: string): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.sessionToken();
      const reply = await this.request(`${this.base}/latest/${item}`, {
        headers: { 'x-aws-ec2-metadata-token': token },
      });
      if (reply.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      if (reply.status === 404) return undefined;
      if (!reply.ok) throw unavailable(`GET ${item}: HTTP ${reply.status}`);
      return await reply.text();
    }
  }

  /** The item, which every instance has (its id, its region): its absence is an error too. */
  async require(item: string): Promise<string> {
    const value = await this.get(item);
    if (value === undefined) throw unavailable(`no ${item}`);
    return value.trim();
  }

  private async sessionToken(): Promise<string> {
    if (this.token && this.token.expires - RENEW_BEFORE_MS > this.clock.now()) return this.token.value;
    const reply = await this.request(`${this.base}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) },
    });
    if (!reply.ok) throw unavailable(`token: HTTP ${reply.status}`);
    this.token = { value: await reply.text(), expires: this.clock.now() + TOKEN_TTL_SECONDS * 1000 };
    return this.token.value;
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (e) {
      // fetch says "fetch failed"; its cause says why (ECONNREFUSED, a timeout).
      const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
      const detail = cause?.code ?? cause?.message;
      const why = `${(e as Error).message}${typeof detail === 'string' ? ` (${detail})` : ''}`;
      throw unavailable(`${init.method ?? 'GET'} ${url}: ${why}`, e);
    }
  }
}

function unavailable(message: string, cause?: unknown): ToilError {
  return new ToilError('IMDS_UNAVAILABLE', `instance metadata service: ${message}`, {
    disposition: 'retry',
    ...(cause === undefined ? {} : { cause }),
  });
}
