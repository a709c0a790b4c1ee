import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { everyWorker, startClusterCloud, FAST_SCALING } from '../fixtures/leaderE2e.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';
import type { ClusterStatsFile } from '../../src/leader/clusterStats.js';

/**
 * Toil's `--clusterStats`: an autoscaled run on the local cloud writes its cluster's node history
 * and usage as JSON when it ends, named as Toil names it (`<clusterName>-stats000.json` in the
 * current directory); checked against what EC2 itself says of the run's workers.
 */
const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
// An autoscaled run: workers boot, run the tree's 15 jobs and are released.
t.setTimeout(300_000);
// Each case has its own directory and local cloud (if any): they run side by side.
t.jobs = 3;

t.test(
  '--clusterStats with --provisioner aws: every worker the run launched, with its type, market, life and cost, and the cluster tick by tick',
  async (t) => {
    const dir = testDir(t, { tmp: {} });
    const env = { TMPDIR: join(dir, 'tmp') };
    const cloud = await startClusterCloud(t, 'stats', { env });
    const before = Date.now();
    const r = await runToil(
      [
        ...['run', TREE, 'file:js', '--n', '4', '--sleepMs', '600', '--out', 'o', '--log', 'exec.log'],
        ...['--provisioner', 'aws', '--nodeType', 't2.micro', '--maxNodes', '2', ...FAST_SCALING],
        ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster, '--zone', 'us-west-2a'],
        ...['--clusterName', 'stats', '--maxJobs', '2', '--clusterStats'],
      ],
      { cwd: dir, env: { ...env, AWS_ENDPOINT_URL_EC2: cloud.ec2Url } },
    );
    const after = Date.now();
    t.equal(r.code, 0, r.stderr.slice(-3000));
    const path = join(dir, 'stats-stats000.json');
    t.match(r.stderr, `toil: cluster statistics written to ${path}`);
    const stats = JSON.parse(readFileSync(path, 'utf8')) as ClusterStatsFile;
    t.match(stats, { format: 1, clusterName: 'stats', outcome: 'succeeded' });

    // The nodes: exactly the workers EC2 knows the run launched, each t2.micro on-demand, ended.
    const workers = await everyWorker(cloud.ec2Url);
    t.ok(workers.length >= 1, `${workers.length} worker(s) launched`);
    t.same(
      stats.nodes.map((n) => n.id).sort(),
      workers.map((w) => w.id).sort(),
      'every worker, no other node',
    );
    t.ok(
      workers.every((w) => w.state === 'terminated' || w.state === 'shutting-down'),
      'all released by EC2',
    );
    for (const n of stats.nodes) {
      t.match(n, {
        instanceType: 't2.micro',
        market: 'on-demand',
        zone: 'us-west-2a',
        cores: 1,
        memoryBytes: 2 ** 30,
      });
      t.equal(n.pricePerHour, 0.0116, "t2.micro's on-demand price");
      const launched = Date.parse(n.launchedAt);
      const ended = Date.parse(n.terminatedAt ?? '');
      t.ok(
        before <= launched && launched <= ended && ended <= after,
        `${n.id}: launched, then terminated, within the run`,
      );
      // At least EC2's 60 s billing minimum (dollars rounded to 6 places).
      t.ok((n.costDollars ?? 0) >= (0.0116 * 60) / 3600 - 1e-6, `${n.id}: costs ${n.costDollars}`);
    }
    t.ok(stats.costDollars > 0, `the run's nodes cost $${stats.costDollars}`);

    // The samples: one per tick, the node counts as the node list says, never above --maxNodes.
    t.ok(stats.samples.length >= 3, `${stats.samples.length} samples`);
    const peak = Math.max(...stats.samples.map((s) => s.nodes));
    t.ok(peak >= 1 && peak <= 2, `up to ${peak} node(s) at once (--maxNodes 2)`);
    for (const s of stats.samples) {
      t.same(Object.keys(s.nodesByType), s.nodes > 0 ? ['on-demand/t2.micro'] : [], `${s.time}: by type`);
      t.equal(s.cores.total, s.nodes, `${s.time}: a core per t2.micro`);
      t.equal(s.memoryBytes.total, s.nodes * 2 ** 30, `${s.time}: 1 GiB per t2.micro`);
      t.ok(s.cores.used <= s.cores.total, `${s.time}: used ${s.cores.used} of ${s.cores.total} cores`);
      // --maxJobs 2: the scaler sees only the jobs issued, as Toil's does.
      t.ok(
        s.jobs.queued + s.jobs.running <= 2,
        `${s.time}: ${s.jobs.queued} queued, ${s.jobs.running} running`,
      );
    }
    t.ok(
      stats.samples.some((s) => s.cores.used === 0.5 || s.cores.used === 1),
      'the tree jobs (0.5 cores each) were seen running',
    );
    t.equal(
      Date.parse(stats.samples[0]!.time) >= Date.parse(stats.startedAt),
      true,
      'samples after the start',
    );
  },
);

t.test('--clusterStats where nothing is scaled: said to have no effect, and no file written', async (t) => {
  const dir = testDir(t, {});
  const r = await runToil(
    ['run', TREE, 'file:js', '--n', '2', '--out', 'o', '--log', 'exec.log', '--clusterStats'],
    {
      cwd: dir,
    },
  );
  t.equal(r.code, 0, r.stderr);
  t.match(
    r.stderr,
    /^toil: --clusterStats has no effect here: it applies only to an autoscaled run \(--provisioner aws\); this run scales nothing$/m,
  );
  t.same(
    readdirSync(dir).filter((f) => f.endsWith('.json')),
    [],
  );
});

t.test(
  '--clusterStats into a directory that does not exist is refused before anything is launched (exit 2)',
  async (t) => {
    const dir = testDir(t, {});
    const r = await runToil(
      [
        ...['run', TREE, 'file:js', '--n', '2', '--out', 'o', '--log', 'exec.log'],
        ...['--provisioner', 'aws', '--nodeType', 't2.micro', '--batchSystem', 'mesos'],
        ...['--mesosMaster', '127.0.0.1:1', '--zone', 'us-west-2a', '--clusterName', 'stats'],
        ...['--clusterStats', 'no/such/dir'],
      ],
      { cwd: dir },
    );
    t.equal(r.code, 2, r.stderr);
    t.match(
      r.stderr,
      /^toil: --clusterStats no\/such\/dir: cannot write the statistics file there \(ENOENT\); expected a writable directory, or a path ending in \.json in one$/m,
    );
    t.notOk(existsSync(join(dir, 'js')), 'no job store made');
  },
);
