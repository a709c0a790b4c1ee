import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { UserInputError } from '../common/errors.js';
import { parseLocator } from '../jobstore/locator.js';

/**
 * The leader's bearer token: who holds it may submit and cancel workflows, which run code as the
 * leader. Created on first start (32 random bytes, base64url) in a file only its owner can read.
 */
export async function loadOrCreateToken(path: string): Promise<{
  token: string;
  created: boolean;
  /** The mode it had, when others could read it (it is 0600 now). */
  exposedMode?: number;
}> {
  const existing = await readFile(path, 'utf8').then(
    (t) => t.trim(),
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new UserInputError(
        'TOKEN_UNREADABLE',
        `leader token file ${path}: cannot read it (${e.code ?? e.message})`,
      );
    },
  );
  if (existing !== undefined) {
    if (existing.length < 16)
      throw new UserInputError(
        'TOKEN_TOO_SHORT',
        `leader token file ${path}: the token is ${existing.length} characters; expected at least 16 (delete the file and a new one is made)`,
      );
    // Whoever can read it can run code as the leader: keep it to the owner, and say so, since
    // whoever could read it until now may hold the token (rotating it is the operator's call).
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o077) === 0) return { token: existing, created: false };
    await chmod(path, 0o600);
    return { token: existing, created: false, exposedMode: mode };
  }
  const token = randomBytes(32).toString('base64url');
  await mkdir(dirname(path), { recursive: true });
  try {
    // 'wx': two leaders starting at once agree on the first one's token.
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateToken(path);
    throw e;
  }
  return { token, created: true };
}

/**
 * Where the token is kept when the config names no file: beside a `file:` state directory
 * (`STATE.token`), or in ~/.toil for state kept in S3 (a secret is not kept in a bucket).
 */
export function defaultTokenFile(stateLocator: string, cwd?: string): string {
  const locator = parseLocator(stateLocator, cwd);
  return locator.kind === 'file'
    ? `${locator.path.replace(/\/+$/, '')}.token`
    : join(homedir(), '.toil', `leader-${locator.name}.token`);
}

/** Which read-only routes need the token too. Mutations always do; /healthz and /readyz never. */
export interface AuthPolicy {
  readonly token: string;
  /** `token`: GET /metrics needs it. */
  readonly metrics: 'open' | 'token';
  /** `token`: GET /status, the status page, /scaler/plan and GET /workflows/:id need it. */
  readonly status: 'open' | 'token';
}

const ALWAYS_OPEN = new Set(['/healthz', '/readyz']);

/**
 * An onRequest hook that refuses a request without the bearer token (401, before its body is
 * read). The comparison is over digests of equal length, in constant time. A request is judged by
 * the route that takes it, not by its path as sent: `/%6Detrics` is routed to /metrics, and judged
 * by its raw path it was served without the token /metrics needs. The 401 names no file: the
 * client has no token, and the leader's log says where it is.
 */
export function requireBearerToken(app: FastifyInstance, policy: AuthPolicy): void {
  const expected = digest(policy.token);
  app.addHook('onRequest', async (req, reply) => {
    // No route takes it (a 404): judged by the path as sent, which no open route matches.
    const path = req.routeOptions.url ?? req.url.split('?')[0] ?? '';
    if (!needsToken(req.method, path, policy)) return;
    const header = req.headers.authorization;
    const m = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m?.[1] && timingSafeEqual(digest(m[1]), expected)) return;
    // A header in another form (a token with a space in it, another scheme) is told apart from none
    // at all: its sender likely has the token and needs the form to send it in.
    const what =
      header === undefined
        ? "missing bearer token: send 'Authorization: Bearer TOKEN'"
        : m
          ? "wrong bearer token: send 'Authorization: Bearer TOKEN'"
          : `malformed Authorization header (${headerShape(header)}): expected 'Bearer <token>', the token alone after 'Bearer'`;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="toil leader"')
      .send({
        error: `${what} (the token is in the leader's token file, which its log names at start; toil run --leaderToken or TOIL_LEADER_TOKEN)`,
      });
  });
}

/** The shape of a header that is not `Bearer <token>`, without a word of what may be a secret. */
function headerShape(header: string): string {
  const words = header
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length === 0) return 'empty';
  const scheme = /^bearer$/i.test(words[0]!) ? 'Bearer' : 'another scheme';
  return `${scheme}, then ${words.length - 1} word${words.length === 2 ? '' : 's'}`;
}

function needsToken(method: string, path: string, policy: AuthPolicy): boolean {
  if (ALWAYS_OPEN.has(path)) return false;
  if (method !== 'GET' && method !== 'HEAD') return true;
  if (path === '/metrics') return policy.metrics === 'token';
  return policy.status === 'token';
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
