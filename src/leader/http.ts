import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from '../common/log.js';
import type { Clock } from '../common/clock.js';
import { ToilError, coerceError } from '../common/errors.js';
import { formatBytes } from '../common/units.js';
import type { LeaderMetrics } from './metrics.js';
import { parseJsonRefusingPrototypeKeys } from './jsonBody.js';
import { shownInError, shownPath } from './shownText.js';

/** A dependency /readyz checks (job store, Mesos master, EC2 endpoint). Throws when unreachable. */
export interface ReadinessCheck {
  readonly name: string;
  check(signal: AbortSignal): Promise<void>;
}

export interface HttpDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: LeaderMetrics;
  /** When the scaler loop last completed a tick (ms since epoch), or undefined before the first. */
  lastTickAt(): number | undefined;
  /** When the leader started; /healthz is lenient until the first tick could have happened. */
  readonly startedAt: number;
  /** A tick older than this means the loop is stuck (cluster-autoscaler's health check does this). */
  readonly maxTickAgeMs: number;
  readonly readiness: readonly ReadinessCheck[];
  /** The status document: nodes, queue, the last plan with its reasons. */
  status(): unknown;
  /** Brings gauges that are read live (job counts) up to date just before a scrape. */
  refreshMetrics?(): Promise<void>;
  /** A dry-run plan computed now, acting on nothing. */
  planNow(): Promise<unknown>;
  /** Optional HTML status page. */
  statusPage?(): string;
}

/**
 * The leader's HTTP surface as a fastify factory. Only the composition root calls `listen`;
 * tests use `inject`.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    // fastify infers its logger generic from pino's Logger; widen it so the app is a plain FastifyInstance.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds; a log line per request would drown the decisions.
    logController: new LogController({ disableRequestLogging: true }),
    // A workflow id of any length reaches its route (which says there is no such workflow), not
    // fastify's own 414 for a path part over 100 characters, which repeated the whole path.
    routerOptions: { maxParamLength: MAX_PATH_PART },
    // A path that does not decode (`/workflows/%E0%A4%A`): fastify's own answer repeats the path.
    frameworkErrors: answerBadPath,
  });
  // The API takes JSON only: with fastify's text/plain parser, a JSON body sent as text/plain
  // reached its route as a string and was refused as "expected a mapping, got a string".
  app.removeContentTypeParser('text/plain');
  parseJsonRefusingPrototypeKeys(app);
  // Every answer the API gives is `{ error }` with a message of bounded length, as its routes give.
  const noRoute = (req: FastifyRequest, reply: FastifyReply): FastifyReply =>
    reply.code(404).send({ error: `no route ${req.method} ${shownPath(req.url)} on this leader` });
  app.setNotFoundHandler(noRoute);
  // A path no route takes is answered so before its body is read (after the Host and token
  // checks, which are onRequest hooks): its body was parsed for no route, and a bad one was
  // refused ("not valid JSON", 413, a refused key) as if a route had been there to take it.
  app.addHook('preParsing', async (req, reply, payload) => (req.is404 ? noRoute(req, reply) : payload));
  // A body fastify refuses before a route sees it (not JSON, another content type, too large):
  // fastify's own answer is `{ statusCode, code, error, message }`.
  app.setErrorHandler((error: FastifyError, req, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500)
      deps.log.error({ err: coerceError(error) }, `${req.method} ${shownPath(req.url)} failed`);
    const what = `${req.method} ${shownPath(req.url)}`;
    const why =
      status >= 500
        ? 'the leader failed to answer (its log says why)'
        : (bodyRefusal(error, req, app.initialConfig.bodyLimit ?? DEFAULT_BODY_LIMIT) ?? error.message);
    // A refusal of the API's own (a body key it does not take) carries its stable code.
    const code = error instanceof ToilError ? { code: error.code } : {};
    return reply.code(status).send({ error: `${what}: ${why}`, ...code });
  });

  app.get('/healthz', async (_req, reply) => {
    const now = deps.clock.now();
    const last = deps.lastTickAt();
    const since = last ?? deps.startedAt;
    const age = now - since;
    if (age > deps.maxTickAgeMs) {
      return reply.code(503).send({
        status: 'unhealthy',
        reason:
          last === undefined
            ? 'no scaler tick has completed since start'
            : 'the scaler loop has not ticked recently',
        lastTickAgeSeconds: age / 1000,
        limitSeconds: deps.maxTickAgeMs / 1000,
      });
    }
    return { status: 'ok', lastTickAgeSeconds: last === undefined ? null : age / 1000 };
  });

  app.get('/readyz', async (_req, reply) => {
    const results = await Promise.all(
      deps.readiness.map(async (c) => {
        try {
          await c.check(AbortSignal.timeout(5000));
          return { name: c.name, ok: true as const };
        } catch (e) {
          return { name: c.name, ok: false as const, error: (e as Error).message };
        }
      }),
    );
    const ready = results.every((r) => r.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: results });
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    await deps.refreshMetrics?.();
    return deps.metrics.registry.metrics();
  });

  app.get('/status', async () => deps.status());
  app.get('/scaler/plan', async () => deps.planNow());
  if (deps.statusPage) {
    app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(deps.statusPage?.()));
  }
  return app;
}

function answerBadPath(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const why = error.code === 'FST_ERR_BAD_URL' ? 'not a valid path' : 'a path this leader cannot route';
  void reply.code(error.statusCode ?? 400).send({ error: `${req.method} ${shownPath(req.url)}: ${why}` });
}

/** fastify's bodyLimit when none is given. */
const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Why fastify's body parser refused a request's body, in the API's words; undefined for another error. */
function bodyRefusal(error: FastifyError, req: FastifyRequest, limit: number): string | undefined {
  const sent = (name: string): string => shownInError(String(req.headers[name] ?? 'none'));
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'the body is not valid JSON (expected a JSON object)';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty (expected a JSON object)';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `content-type ${sent('content-type')} is not taken (expected application/json)`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the body (content-length ${sent('content-length')}) is over this leader's limit of ${formatBytes(limit)}`;
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return `the body's size differs from its content-length (${sent('content-length')})`;
    default:
      return undefined;
  }
}

/**
 * The router's limit on one part of a path (`:id`): every path Node's HTTP parser lets through
 * (its header limit, 16 KiB, bounds the request line).
 */
const MAX_PATH_PART = 16 * 1024;
