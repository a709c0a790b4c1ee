import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  LEADER_METRIC_FAMILIES,
  parseWithPrometheusClient,
  prometheusWheel,
} from '../fixtures/promParser.js';
import {
  byteSorted,
  embeddedLeaderConfig,
  leaderStatus,
  type LeaderStatus,
  liveWorkers,
  nonEmptyLines,
  sleep,
  startToilProcess,
  Timeline,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The daemon as a person runs it: `toil leader --config` on the embedded local cloud (EC2 endpoint,
 * Mesos master, agents as processes), a sort workflow submitted over HTTP, scale up from 0 and
 * back to minNodes (0), config reload, /metrics, SIGTERM.
 */
const config = (dir: string, maxNodes: number): string =>
  embeddedLeaderConfig(dir, [
    ['idleGrace: 20s', 'idleGrace: 2s'],
    ['maxNodes: 4', `maxNodes: ${maxNodes}`],
  ]);

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

t.test(
  'toil leader on the local cloud: healthz, a submitted sort scales 0 → n → minNodes, reload, metrics, SIGTERM',
  async (t) => {
    const dir = testDir(t, {});
    const cfgPath = join(dir, 'leader.yaml');
    writeFileSync(cfgPath, config(dir, 4));
    const started = Date.now();
    const leader = startToilProcess(['leader', '--config', cfgPath], { cwd: dir });
    t.teardown(() => void leader.child.kill('SIGKILL'));
    const banner = await leader.waitFor(/status at (http:\/\/[0-9.:]+)\/status.*EC2 (http:\/\/[0-9.:]+)/);
    const [, base = '', ec2Url = ''] = banner;
    let healthyAt = 0;
    for (let i = 0; i < 300 && !healthyAt; i++) {
      const r = await fetch(`${base}/healthz`).catch(() => undefined);
      if (r?.status === 200) healthyAt = Date.now();
      else await sleep(100);
    }
    t.ok(healthyAt > 0 && healthyAt - started < 30_000, `/healthz 200 after ${healthyAt - started} ms`);
    t.equal((await fetch(`${base}/readyz`)).status, 200, 'job store and Mesos master reachable');

    // A file the daemon cannot read is refused at submission, naming it (exit 2).
    const refused = await runToil(
      ['run', join(dir, 'nowhere.ts'), `file:${dir}/js-refused`, '--leader', base],
      { cwd: dir, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } },
    );
    t.equal(refused.code, 2, 'an unreadable workflow file: exit 2');
    t.match(refused.stderr, /nowhere\.ts: the leader cannot read it \(ENOENT\)/);

    // `toil run … --leader URL`: submitted to the daemon, followed there, exit code of a local run.
    const client = startToilProcess(
      [
        'run',
        join(REPO_ROOT, 'examples/sort.ts'),
        'file:js',
        '--numLines',
        '1200',
        '--N',
        '8000',
        '--fileToSort',
        `${dir}/in.txt`,
        '--outputFile',
        `${dir}/out.txt`,
        '--defaultPreemptable',
        '--leader',
        base,
      ],
      { cwd: dir, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } },
    );
    t.teardown(() => void client.child.kill('SIGKILL'));
    let timeline: Timeline | undefined;
    let endedAt = 0;
    let nodeWhileRunning = false;
    let spotNodeSeen:
      { node: NonNullable<LeaderStatus['nodes']['list']>[number]; status: LeaderStatus } | undefined;
    let s = await leaderStatus(base);
    for (let i = 0; i < 240; i++) {
      s = await leaderStatus(base);
      // From when the daemon took the workflow (its clock is the real one).
      const accepted = s.workflows[0] as { submittedAt?: string } | undefined;
      if (!timeline && accepted?.submittedAt) timeline = new Timeline(Date.parse(accepted.submittedAt));
      timeline?.record(s.nodes.owned.length);
      const running = s.workflows.some((w) => w.status === 'running');
      if (running && s.nodes.owned.length > 0) nodeWhileRunning = true;
      for (const n of s.nodes.list ?? []) if (n.market === 'spot') spotNodeSeen ??= { node: n, status: s };
      if (!running && s.workflows.length > 0 && !endedAt) endedAt = Date.now();
      if (endedAt && s.nodes.owned.length === 0) break;
      await sleep(250);
    }
    const result = await client.done;
    t.equal(result.code, 0, 'toil run --leader exits 0 when the workflow succeeds on the leader');
    t.match(result.stderr, /toil: submitted workflow \S+ to the leader/);
    t.match(result.stderr, /toil: \d+\/\d+ jobs, \d+ running/, 'progress is shown');
    t.match(result.stderr, /workflow succeeded on the leader: \d+ jobs run/);
    const id = /submitted workflow (\S+)/.exec(result.stderr)?.[1];
    t.equal(s.workflows.find((w) => w.id === id)?.status, 'succeeded', 'the workflow succeeded');
    t.same(nonEmptyLines(`${dir}/out.txt`), byteSorted(nonEmptyLines(`${dir}/in.txt`)), 'sorted correctly');
    if (!timeline) throw new Error('the workflow never appeared in /status');
    // A node's price per hour is the observed spot price to the hundredth of a cent, not cents
    // (the local cloud's t2.medium spot is $0.0155/h, which cents would show as $0.02/h).
    if (!spotNodeSeen) throw new Error('no spot node was listed in /status');
    const { node, status } = spotNodeSeen;
    const observed = status.spot?.prices.find((p) => p.offering === `${node.instanceType}/${node.zone}/spot`);
    t.ok(
      observed && observed.price !== Math.round(observed.price * 100) / 100,
      `a price cents would round (${observed?.price})`,
    );
    t.equal(node.dollarsPerHour, observed?.price, "the node's $/h is its spot price, unrounded to cents");
    // How soon a queued job wakes the scaler (tick.queueDebounce, not scaleInterval) is proven on a
    // ManualClock in test/leader/daemonQueueWake.test.ts; here only that the workflow got nodes.
    t.ok(
      nodeWhileRunning,
      `a node was launched while the workflow ran (first owned ${timeline.firstNodeMs} ms after submission; timeline ${timeline.toString()})`,
    );
    t.ok(timeline.peak >= 1, `scaled up to ${timeline.peak} nodes; timeline ${timeline.toString()}`);
    t.equal(
      s.nodes.owned.length,
      0,
      `back to minNodes (0) ${((Date.now() - endedAt) / 1000).toFixed(1)} s after the workflow ended`,
    );
    // Counted through the EC2 API, not the leader's own view: nothing left running.
    await sleep(500);
    t.same(await liveWorkers(ec2Url), [], 'no worker instance left pending or running');
    // /status rounds money to cents; /metrics has the unrounded figure.
    const cost = Number(
      /^toil_cluster_cost_dollars (\S+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1],
    );
    t.ok(cost > 0, `the run's cost: $${cost}`);
    t.equal(s.costDollars, Math.round(cost * 100) / 100, '/status shows it in cents');
    t.notMatch(leader.output(), /scaler tick failed/, 'no scaler tick failed');

    // Reload: a valid change applies; an invalid file is rejected and counted.
    writeFileSync(cfgPath, config(dir, 2));
    await leader.waitFor(/"msg":"config reloaded"/, 10_000);
    writeFileSync(cfgPath, 'scaler: { nodeTypes: t2.mediun }\n');
    await leader.waitFor(/config reload rejected; keeping the current config/, 10_000);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    t.match(metrics, /toil_config_reloads_total\{result="applied"\} 1/);
    t.match(metrics, /toil_config_reloads_total\{result="rejected"\} 1/);
    if (prometheusWheel()) {
      const names = parseWithPrometheusClient(metrics).map((f) => f.name);
      for (const want of LEADER_METRIC_FAMILIES) t.ok(names.includes(want), `${want} exposed`);
    }
    leader.child.kill('SIGTERM');
    const r = await leader.done;
    t.equal(r.code, 0, 'SIGTERM stops it cleanly');
    t.match(leader.output(), /"to":"stopped"/);
  },
);
