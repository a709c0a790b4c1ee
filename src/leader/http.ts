import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../common/log.js';
import type { Clock } from '../common/clock.js';
import type { LeaderMetrics } from './metrics.js';

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
