import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseWithPrometheusClient, prometheusWheel } from '../fixtures/promParser.js';
import { REPO_ROOT, startToil } from '../fixtures/workflowCli.js';

/**
 * The daemon as a person runs it: `toil leader --config` on the embedded local cloud (EC2 endpoint,
 * Mesos master, agents as processes), a sort workflow submitted over HTTP, scale up from 0 and
 * back to 0, config reload, /metrics, SIGTERM.
 */
const config = (dir: string, maxNodes: number): string =>
  readFileSync(join(REPO_ROOT, 'config/leader.yaml'), 'utf8')
    .replace('port: 8080', 'port: 0')
    .replace('file:./toil-leader-state', `file:${dir}/state`)
    .replace('bootDelay: 2s', 'bootDelay: 300ms')
    .replace('scaleInterval: 10s', 'scaleInterval: 2s')
    .replace('idleGrace: 20s', 'idleGrace: 3s')
    .replace('maxNodes: 4', `maxNodes: ${maxNodes}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test(
  'toil leader on the local cloud: healthz, a submitted sort scales 0 → n → 0, reload, metrics, SIGTERM',
  { todo: 'the daemon does not yet retire its nodes to 0 after the workflow ends within 100 s (open)' },
  async (t) => {
    const dir = t.testdir({});
    const cfgPath = join(dir, 'leader.yaml');
    writeFileSync(cfgPath, config(dir, 4));
    const started = Date.now();
    const { child, done } = startToil(['leader', '--config', cfgPath], { cwd: dir });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    // pino writes to stdout; the banner goes to stderr.
    child.stdout?.on('data', (d: Buffer) => (stderr += d.toString()));
    t.teardown(() => void child.kill('SIGKILL'));
    let base = '';
    for (let i = 0; i < 300 && !base; i++) {
      base = /status at (http:\/\/[0-9.:]+)\/status/.exec(stderr)?.[1] ?? '';
      if (!base) await sleep(100);
    }
    t.ok(base, 'the daemon printed where its status is served');
    let healthyAt = 0;
    for (let i = 0; i < 300 && !healthyAt; i++) {
      const r = await fetch(`${base}/healthz`).catch(() => undefined);
      if (r?.status === 200) healthyAt = Date.now();
      else await sleep(100);
    }
    t.ok(healthyAt > 0 && healthyAt - started < 30_000, `/healthz 200 after ${healthyAt - started} ms`);
    t.equal((await fetch(`${base}/readyz`)).status, 200, 'job store and Mesos master reachable');

    const submittedAt = Date.now();
    const sub = await fetch(`${base}/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        workflowFile: join(REPO_ROOT, 'examples/sort.ts'),
        jobStore: `file:${dir}/js`,
        args: [
          '--numLines',
          '2000',
          '--N',
          '10000',
          '--fileToSort',
          `${dir}/in.txt`,
          '--outputFile',
          `${dir}/out.txt`,
        ],
        defaultPreemptable: true,
      }),
    });
    t.equal(sub.status, 202);
    const { id } = (await sub.json()) as { id: string };
    const status = async () =>
      (await (await fetch(`${base}/status`)).json()) as {
        nodes: { owned: string[] };
        workflows: { id: string; status: string }[];
        costDollars: number;
      };
    let firstLaunchMs = 0;
    let peak = 0;
    const timeline: string[] = [];
    for (let i = 0; i < 400; i++) {
      const s = await status();
      const n = s.nodes.owned.length;
      if (n > 0 && !firstLaunchMs) firstLaunchMs = Date.now() - submittedAt;
      peak = Math.max(peak, n);
      if (timeline.at(-1)?.split(':')[1] !== String(n))
        timeline.push(`${((Date.now() - submittedAt) / 1000).toFixed(1)}s:${n}`);
      if (s.workflows.find((w) => w.id === id)?.status !== 'running' && n === 0) break;
      await sleep(250);
    }
    const s = await status();
    t.equal(s.workflows.find((w) => w.id === id)?.status, 'succeeded', 'the workflow succeeded');
    const input = readFileSync(`${dir}/in.txt`, 'utf8').split('\n').filter(Boolean);
    const output = readFileSync(`${dir}/out.txt`, 'utf8').split('\n').filter(Boolean);
    t.same(
      output,
      [...input].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      'sorted correctly',
    );
    t.ok(firstLaunchMs > 0 && firstLaunchMs < 2500, `first node owned ${firstLaunchMs} ms after submission`);
    t.ok(peak >= 1, `scaled up to ${peak} node(s); timeline ${timeline.join(' ')}`);
    t.equal(s.nodes.owned.length, 0, 'back to 0 nodes');
    t.ok(s.costDollars > 0, `the run's cost: $${s.costDollars}`);

    // Reload: a valid change applies; an invalid file is rejected and counted.
    writeFileSync(cfgPath, config(dir, 2));
    await sleep(1500);
    writeFileSync(cfgPath, 'scaler: { nodeTypes: t2.mediun }\n');
    await sleep(1500);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    t.match(metrics, /toil_config_reloads_total\{result="applied"\} 1/);
    t.match(metrics, /toil_config_reloads_total\{result="rejected"\} 1/);
    t.match(stderr, /config reload rejected; keeping the current config/);
    if (prometheusWheel()) {
      const names = parseWithPrometheusClient(metrics).map((f) => f.name);
      for (const want of [
        'toil_nodes',
        'toil_desired_nodes',
        'toil_queued_jobs',
        'toil_running_jobs',
        'toil_plan_duration_seconds',
        'toil_provisioner_calls',
        'toil_cluster_hourly_cost_dollars',
        'toil_spot_interruptions',
        'toil_config_reloads',
      ])
        t.ok(names.includes(want), `${want} exposed`);
    }
    child.kill('SIGTERM');
    const r = await done;
    t.equal(r.code, 0, 'SIGTERM stops it cleanly');
    t.match(stderr, /"to":"stopped"/);
  },
);
