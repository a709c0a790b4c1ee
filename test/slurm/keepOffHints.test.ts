import t, { type Test } from 'tap';
import { waitFor } from '../fixtures/waitFor.js';
import { RealClock } from '../../src/common/clock.js';
import { placementKey } from '../../src/common/placementOrder.js';
import type { IssuedJob, JobUpdate } from '../../src/ports/batchSystem.js';
import { SlurmBatchSystem } from '../../src/slurm/batchSystem.js';
import { expandHostlist } from '../../src/slurm/hostlist.js';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';

/**
 * Keep-off hints on a real Slurm: Slurm places jobs itself, so a hint becomes the pending job's
 * excluded nodes (`--exclude` at submission, `scontrol update ExcNodeList=` after). Two nodes, n1
 * and n2, with 2 CPUs each; the hints keep 1-core jobs off n1.
 */
const MB = 2 ** 20;
const requirements = { cores: 1, memory: 100 * MB, disk: 100 * MB, preemptable: true };
const key = placementKey(requirements);

function job(id: string, seconds: number): IssuedJob {
  return {
    jobId: id,
    attempt: 1,
    name: `hinted-${id}`,
    requirements,
    command: ['sh', '-c', `sleep ${seconds}`],
    jobStoreLocator: 'file:/nonexistent',
  };
}

/** Polls for up to 15 s: slurmctld schedules on its own clock. */
const until = (what: string, check: () => boolean | Promise<boolean>): Promise<void> =>
  waitFor(what, check, 15_000, 50);

type Cluster = Awaited<ReturnType<typeof startSlurmCluster>>;

// Each case has its own Slurm cluster: they run side by side.
t.jobs = 2;

/** Someone else's job holding a whole node, so where ours may go is up to the exclusions. */
async function block(cluster: Cluster, node: string): Promise<number> {
  const id = await cluster.cli.submit(
    [
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=2',
      '--mem=100M',
      `--nodelist=${node}`,
      '--output=/dev/null',
      '--chdir=/tmp',
    ],
    '#!/bin/sh\nsleep 300\n',
  );
  await until(`the blocker on ${node} runs`, async () =>
    (await cluster.cli.jobs()).some((j) => j.jobId === id && j.state === 'RUNNING'),
  );
  return id;
}

/** Two 2-CPU nodes and a batch system on them whose outcomes land in `seen`; stopped at teardown. */
async function startWatched(t: Test, extraArgs: string[]) {
  const cluster = await startSlurmCluster([{ features: ['spot'] }, { features: ['spot'] }]);
  t.teardown(() => cluster.stop());
  const seen = new Map<string, JobUpdate>();
  const bs = new SlurmBatchSystem({ cli: cluster.cli, clock: new RealClock(), pollMs: 150, extraArgs });
  await bs.start((u) => seen.set(u.jobId, u));
  t.teardown(() => bs.shutdown());
  return { cluster, bs, seen };
}

t.test(
  'keep-off hints on a real slurmctld: a hinted request waits off its node',
  { skip: needsSlurm() },
  async (t) => {
    const { cluster, bs, seen } = await startWatched(t, []);

    const slurmState = async (jobId: string): Promise<string | undefined> =>
      (await cluster.cli.jobs()).find((j) => parseAttemptComment(j.comment)?.jobId === jobId)?.state;
    const excludedOf = async (jobId: string): Promise<string> => {
      const rec = (await cluster.cli.jobs()).find((j) => parseAttemptComment(j.comment)?.jobId === jobId);
      const shown = await cluster.cli.run('scontrol', ['show', 'job', String(rec!.jobId)]);
      return /ExcNodeList=(\S+)/.exec(shown)![1]!;
    };
    const placedOn = (jobId: string): string | undefined =>
      bs.placements().find((p) => p.jobId === jobId)?.node;

    const b1 = await block(cluster, 'n1');
    const b2 = await block(cluster, 'n2');
    await bs.issue(job('early', 2));
    await until('early is pending in Slurm', async () => (await slurmState('early')) === 'PENDING');
    bs.keepOff(new Map([['n1', new Set([key])]]));
    await until('the hint reaches the pending job', async () => (await excludedOf('early')) === 'n1');
    await bs.issue(job('late', 2));
    t.equal(await excludedOf('late'), 'n1', 'a job submitted under the hint is excluded from n1 at once');

    await cluster.cli.cancel(b1);
    // n1 is free and fits both; Slurm schedules at a job's end and every few seconds after.
    await new Promise((r) => setTimeout(r, 3000));
    t.equal(await slurmState('early'), 'PENDING', 'the job pending when the hint came does not start on n1');
    t.equal(await slurmState('late'), 'PENDING', 'nor the one submitted after it');
    t.equal(placedOn('early'), undefined);
    t.equal(placedOn('late'), undefined);

    await cluster.cli.cancel(b2);
    await until('both run on n2', () => placedOn('early') !== undefined && placedOn('late') !== undefined);
    t.equal(placedOn('early'), 'n2', 'the hinted job runs on the other node once it has room');
    t.equal(placedOn('late'), 'n2');
    // A hint naming the node they run on touches no running job (Slurm refuses to update it).
    bs.keepOff(new Map([['n2', new Set([key])]]));
    await until('both end', () => seen.has('early') && seen.has('late'));
    t.match(
      seen.get('early'),
      { outcome: 'succeeded', node: 'n2' },
      'a running job is left alone by a new hint',
    );
    t.match(seen.get('late'), { outcome: 'succeeded', node: 'n2' });

    // Lifting: n2 busy, n1 idle, a job waiting under the hint on n1 runs there once it lifts.
    const b3 = await block(cluster, 'n2');
    bs.keepOff(new Map([['n1', new Set([key])]]));
    await bs.issue(job('lifted', 0));
    await new Promise((r) => setTimeout(r, 2000));
    t.equal(await slurmState('lifted'), 'PENDING', 'held off n1 while the hint stands');
    bs.keepOff(new Map());
    await until('lifted ends', () => seen.has('lifted'));
    t.match(seen.get('lifted'), { outcome: 'succeeded', node: 'n1' }, 'the hint lifted, it runs on n1');
    await cluster.cli.cancel(b3);
  },
);

t.test(
  "the user's --exclude (TOIL_SLURM_ARGS) stays in every job's list while hints come and go",
  { skip: needsSlurm() },
  async (t) => {
    const { cluster, bs, seen } = await startWatched(t, ['-x', 'n1']);
    const record = async (jobId: string) =>
      (await cluster.cli.jobs()).find((j) => parseAttemptComment(j.comment)?.jobId === jobId);
    const excludedOf = async (jobId: string): Promise<string[]> => {
      const shown = await cluster.cli.run('scontrol', ['show', 'job', String((await record(jobId))!.jobId)]);
      return expandHostlist(/ExcNodeList=(\S+)/.exec(shown)![1]!).sort();
    };

    // n2 busy, n1 idle but the user's: a job waits.
    const b2 = await block(cluster, 'n2');
    await bs.issue(job('before', 1));
    await until('before is pending in Slurm', async () => (await record('before'))?.state === 'PENDING');
    t.same(await excludedOf('before'), ['n1'], "submitted with the user's list alone");

    bs.keepOff(new Map([['n2', new Set([key])]]));
    await until('the hint reaches the pending job', async () => (await excludedOf('before')).length === 2);
    t.same(await excludedOf('before'), ['n1', 'n2'], "the update is the user's list and the hint's node");
    await bs.issue(job('during', 1));
    t.same(await excludedOf('during'), ['n1', 'n2'], 'a job submitted under the hint gets both at once');

    // Both get the same list back: one `scontrol update` names them both.
    const updates: string[][] = [];
    const run = cluster.cli.run.bind(cluster.cli);
    cluster.cli.run = (tool, args, stdin) => {
      if (tool === 'scontrol' && args[0] === 'update') updates.push([...args]);
      return run(tool, args, stdin);
    };
    bs.keepOff(new Map());
    await until('the lifted hint reaches both', async () => {
      const [a, b] = [await excludedOf('before'), await excludedOf('during')];
      return a.length === 1 && b.length === 1;
    });
    t.same(await excludedOf('before'), ['n1'], "the hint lifted, the user's list is back exactly");
    t.same(await excludedOf('during'), ['n1']);
    const ids = [(await record('before'))!.jobId, (await record('during'))!.jobId].sort((a, b) => a - b);
    t.same(updates, [['update', `JobId=${ids.join(',')}`, 'ExcNodeList=n1']], 'one update for both');
    // n1 is idle and fits both; Slurm schedules at a job's end and every few seconds after.
    await new Promise((r) => setTimeout(r, 3000));
    t.equal((await record('before'))?.state, 'PENDING', 'neither runs on the node the user excluded');
    t.equal((await record('during'))?.state, 'PENDING');

    await cluster.cli.cancel(b2);
    await until('both end', () => seen.has('before') && seen.has('during'));
    t.match(seen.get('before'), { outcome: 'succeeded', node: 'n2' }, 'they run on n2 once it has room');
    t.match(seen.get('during'), { outcome: 'succeeded', node: 'n2' });
  },
);
