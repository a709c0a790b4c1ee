import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { buildHttp, type HttpDeps } from '../../src/leader/http.js';
import { createLeaderMetrics } from '../../src/leader/metrics.js';
import {
  LEADER_METRIC_FAMILIES,
  parseWithPrometheusClient,
  prometheusWheel,
  PROM_PARSER_MISSING_REASON,
} from '../fixtures/promParser.js';

interface TestDeps extends HttpDeps {
  readonly clock: ManualClock;
  /** Records a completed scaler tick at the clock's current time. */
  tick(): void;
}

function deps(overrides: Partial<Omit<HttpDeps, 'clock'>> = {}): TestDeps {
  const clock = new ManualClock(1_000_000);
  let lastTick: number | undefined;
  return {
    clock,
    log: silentLogger(),
    metrics: createLeaderMetrics({ withProcessMetrics: false }),
    lastTickAt: () => lastTick,
    tick: () => (lastTick = clock.now()),
    startedAt: clock.now(),
    maxTickAgeMs: 180_000,
    readiness: [],
    status: () => ({ nodes: [], queue: { queued: 0 } }),
    planNow: async () => ({ launch: [], reasons: ['dry run'] }),
    ...overrides,
  };
}

t.test('/healthz is 200 while the scaler ticks and 503 once it stops ticking', async (t) => {
  const d = deps();
  const app = buildHttp(d);
  t.teardown(() => app.close());
  t.equal((await app.inject('/healthz')).statusCode, 200, 'healthy during the start grace');
  await d.clock.advance(200_000);
  const stale = await app.inject('/healthz');
  t.equal(stale.statusCode, 503, 'no tick within the limit since start');
  t.match(stale.json(), { reason: /no scaler tick/ });
  d.tick();
  t.equal((await app.inject('/healthz')).statusCode, 200, 'a fresh tick makes it healthy');
  await d.clock.advance(181_000);
  const old = await app.inject('/healthz');
  t.equal(old.statusCode, 503);
  t.match(old.json(), { reason: /not ticked recently/, lastTickAgeSeconds: 181 });
});

t.test('/readyz reports each dependency and is 503 if any is unreachable', async (t) => {
  const app = buildHttp(
    deps({
      readiness: [
        { name: 'jobStore', check: async () => {} },
        {
          name: 'mesosMaster',
          check: async () => {
            throw new Error('connect ECONNREFUSED 127.0.0.1:5050');
          },
        },
      ],
    }),
  );
  t.teardown(() => app.close());
  const res = await app.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.same(res.json(), {
    status: 'not ready',
    checks: [
      { name: 'jobStore', ok: true },
      { name: 'mesosMaster', ok: false, error: 'connect ECONNREFUSED 127.0.0.1:5050' },
    ],
  });
});

t.test('/status and /scaler/plan serve what the leader gives them', async (t) => {
  const app = buildHttp(deps());
  t.teardown(() => app.close());
  t.same((await app.inject('/status')).json(), { nodes: [], queue: { queued: 0 } });
  t.same((await app.inject('/scaler/plan')).json(), { launch: [], reasons: ['dry run'] });
});

t.test('/metrics is valid Prometheus exposition with every leader metric', async (t) => {
  const d = deps();
  d.metrics.nodes.set({ pool: 'spot', instance_type: 'c5.large', state: 'running' }, 3);
  d.metrics.desiredNodes.set({ pool: 'on-demand', instance_type: 'm5.large' }, 2);
  d.metrics.provisionerCalls.inc({ operation: 'launch', result: 'ok' });
  d.metrics.configReloads.inc({ result: 'rejected' });
  d.metrics.planDuration.observe(0.004);
  d.metrics.clusterHourlyCost.set(0.255);
  const app = buildHttp(d);
  t.teardown(() => app.close());
  const res = await app.inject('/metrics');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  if (!prometheusWheel()) {
    t.skip(PROM_PARSER_MISSING_REASON, () => {});
    return;
  }
  const families = parseWithPrometheusClient(res.body);
  const names = families.map((f) => f.name);
  for (const want of LEADER_METRIC_FAMILIES) {
    t.ok(names.includes(want), `${want} is exposed`);
  }
  const nodes = families.find((f) => f.name === 'toil_nodes')!;
  t.same(nodes.samples, [
    { name: 'toil_nodes', labels: { pool: 'spot', instance_type: 'c5.large', state: 'running' }, value: 3 },
  ]);
  const cost = families.find((f) => f.name === 'toil_cluster_hourly_cost_dollars')!;
  t.equal(cost.samples[0]?.value, 0.255);
});
