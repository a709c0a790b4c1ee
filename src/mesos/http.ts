/**
 * HTTP to a Mesos master, with the master's rules applied once, here:
 * - `Content-Type` is exactly `application/json` (Mesos compares it byte for byte: any
 *   `; charset=…` gives 415), and `Accept: application/json` (never `application/recordio`: 406);
 * - a non-leading master answers 307 with a protocol-relative `Location` (`//host:port/path`):
 *   resolve it against our scheme, re-send the same method and body, follow a few hops, and
 *   remember the leader for the next call;
 * - errors come back as text/plain, never JSON; they are translated to `MesosHttpError` with a
 *   stable code and a disposition (5xx and connection failures retry, 4xx do not).
 */
import http from 'node:http';
import https from 'node:https';
import { ToilError, UserInputError, type Disposition } from '../common/errors.js';

export class MesosHttpError extends ToilError {
  readonly status: number | undefined;
  readonly body: string;

  constructor(
    code: string,
    message: string,
    options: { status?: number; body?: string; disposition: Disposition; cause?: unknown },
  ) {
    super(code, message, {
      disposition: options.disposition,
      cause: options.cause,
      details: { status: options.status, body: options.body },
    });
    this.status = options.status;
    this.body = options.body ?? '';
  }
}

/** A master address as users write it (`10.0.0.2:5050`, `http://host:5050`) → a base URL. */
export function masterBaseUrl(address: string): URL {
  const withScheme = /^[a-z]+:\/\//i.test(address) ? address : `http://${address}`;
  // A typo (":5050", a port past 65535) is the user's to fix, not the leader's internal error.
  const url = URL.canParse(withScheme) ? new URL(withScheme) : undefined;
  if (url === undefined || url.hostname === '')
    throw new UserInputError(
      'MESOS_ADDRESS',
      `Mesos master address '${address}' is not host:port (expected e.g. 127.0.0.1:5050)`,
    );
  if (!url.port && url.protocol === 'http:' && !/:\d+/.test(address)) url.port = '5050';
  url.pathname = '/';
  return url;
}

export interface MesosResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface MesosRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Milliseconds before the request (not a stream's body) is abandoned. */
  timeoutMs?: number;
}

const MAX_REDIRECTS = 3;

/**
 * One master, reached through whichever master currently leads. `leader` is the base URL calls
 * go to; it moves when a 307 names another master.
 */
export class MesosEndpoint {
  private leaderUrl: URL;

  constructor(address: string) {
    this.leaderUrl = masterBaseUrl(address);
  }

  get leader(): URL {
    return new URL(this.leaderUrl.href);
  }

  /** Sends a request and reads the whole body; throws MesosHttpError for any status ≥ 300. */
  async request(req: MesosRequest): Promise<MesosResponse> {
    const res = await this.open(req);
    const body = await readBody(res);
    if (res.statusCode !== undefined && res.statusCode >= 300) throw statusError(req, res.statusCode, body);
    return { status: res.statusCode ?? 0, headers: res.headers, body };
  }

  /**
   * Opens a request and returns the response once its status is 200; the caller reads the body
   * as a stream (SUBSCRIBE). Any other status is read and thrown as a MesosHttpError.
   */
  async stream(req: MesosRequest): Promise<http.IncomingMessage> {
    const res = await this.open(req);
    if (res.statusCode !== 200) {
      const body = await readBody(res);
      throw statusError(req, res.statusCode ?? 0, body);
    }
    return res;
  }

  private async open(req: MesosRequest): Promise<http.IncomingMessage> {
    let url = new URL(req.path, this.leaderUrl);
    for (let hop = 0; ; hop++) {
      const res = await send(url, req);
      if (res.statusCode !== 307 && res.statusCode !== 302 && res.statusCode !== 301) return res;
      const location = res.headers.location;
      res.resume();
      if (!location || hop >= MAX_REDIRECTS) {
        throw new MesosHttpError(
          'MESOS_REDIRECT',
          `Mesos master at ${url.host} redirected too often (last: ${location ?? 'no Location'})`,
          {
            status: res.statusCode,
            disposition: 'retry',
          },
        );
      }
      // `//host:port/master/api/v1`: protocol-relative, resolved against the current scheme.
      const next = new URL(location, url);
      this.leaderUrl = new URL(`${next.protocol}//${next.host}/`);
      url = next;
    }
  }
}

function send(url: URL, req: MesosRequest): Promise<http.IncomingMessage> {
  const lib = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
  if (req.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(req.body));
  }
  return new Promise((resolve, reject) => {
    const r = lib.request(url, { method: req.method, headers, signal: req.signal, agent: false }, resolve);
    if (req.timeoutMs !== undefined) {
      r.setTimeout(req.timeoutMs, () =>
        r.destroy(
          new MesosHttpError(
            'MESOS_TIMEOUT',
            `Mesos master at ${url.host} did not answer within ${req.timeoutMs} ms`,
            {
              disposition: 'retry',
            },
          ),
        ),
      );
    }
    r.on('error', (e: unknown) => {
      if (e instanceof MesosHttpError || (e instanceof Error && e.name === 'AbortError')) reject(e);
      else
        reject(
          new MesosHttpError(
            'MESOS_UNREACHABLE',
            `cannot reach the Mesos master at ${url.host}: ${(e as Error).message}`,
            {
              disposition: 'retry',
              cause: e,
            },
          ),
        );
    });
    r.end(req.body);
  });
}

async function readBody(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function statusError(req: MesosRequest, status: number, body: Buffer): MesosHttpError {
  const text = body.toString('utf8').slice(0, 500);
  const retryable = status >= 500 || status === 409;
  const code = status === 503 ? 'MESOS_UNAVAILABLE' : status >= 500 ? 'MESOS_SERVER_ERROR' : 'MESOS_REJECTED';
  return new MesosHttpError(code, `Mesos ${req.method} ${req.path} → ${status}${text ? `: ${text}` : ''}`, {
    status,
    body: text,
    disposition: retryable ? 'retry' : 'fatal',
  });
}
