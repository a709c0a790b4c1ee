import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { REPO_ROOT, runToil, sortedLikeCSort, scratchDir } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

t.test(
  'toil run examples/sort.ts --batchSystem slurm on a real 3-node Slurm: sorted, and non-preemptable merges only on ondemand nodes',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([
      { features: ['ondemand'], memoryMb: 4000 },
      { features: ['spot'], memoryMb: 4000 },
      { features: ['spot'], memoryMb: 4000 },
    ]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-sort-');

    const t0 = Date.now();
    const sort = await runToil(
      [
        'run',
        path.join(REPO_ROOT, 'examples/sort.ts'),
        'file:./js-sort',
        '--batchSystem',
        'slurm',
        '--logLevel',
        'warning',
        '--numLines',
        '10000',
        '--N',
        '70000',
        '--mergeOnDemand',
      ],
      { cwd: dir, env: { SLURM_CONF: cluster.controller.conf } },
    );
    const sortMs = Date.now() - t0;
    t.equal(sort.code, 0, `toil run exits 0\n${sort.stderr.slice(-2000)}`);
    t.match(sort.stderr, /workflow succeeded/);
    t.ok(sortedLikeCSort(dir), "the output equals LC_ALL=C sort's");

    // Slurm's records, not ours: every job it ran (name, node list, state) and every node's features.
    const features = new Map((await cluster.cli.nodes()).map((n) => [n.name, n.features]));
    const jobs = (await cluster.cli.jobs()).filter((j) => parseAttemptComment(j.comment));
    const merges = jobs.filter((j) => j.name === 'toil.up');
    const splits = jobs.filter((j) => j.name === 'toil.down');
    t.ok(merges.length >= 3, `${merges.length} merge jobs (declared preemptable: false)`);
    t.ok(splits.length >= 4, `${splits.length} split/sort jobs (preemptable)`);
    for (const j of merges) {
      t.same(features.get(j.nodes), ['ondemand'], `merge ${j.jobId} ran on ${j.nodes}, an ondemand node`);
    }
    t.ok(
      splits.some((j) => features.get(j.nodes)?.includes('spot')),
      'preemptable jobs used the spot nodes',
    );
    t.ok(
      jobs.every((j) => j.state === 'COMPLETED'),
      `every Slurm job completed (${jobs.map((j) => j.state).join(' ')})`,
    );
    // The controller's job completion log agrees (an independent record kept on disk).
    const comp = fs.readFileSync(path.join(cluster.controller.dir, 'log', 'jobcomp.txt'), 'utf8');
    const upLines = comp.split('\n').filter((l) => / Name=toil\.up /.test(l));
    t.equal(upLines.length, merges.length);
    t.ok(
      upLines.every((l) => features.get(/ NodeList=(\S+)/.exec(l)?.[1] ?? '')?.includes('ondemand')),
      'jobcomp: every merge on an ondemand node',
    );
    t.comment(`sort of 10000 lines on 3 Slurm nodes: ${sortMs} ms, ${jobs.length} Slurm jobs`);
  },
);
