import t from 'tap';
import { waitFor } from '../fixtures/waitFor.js';
import { RealClock } from '../../src/common/clock.js';
import type { IssuedJob, JobUpdate } from '../../src/ports/batchSystem.js';
import { SlurmBatchSystem } from '../../src/slurm/batchSystem.js';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { needsSlurm, startSlurmCluster, type TestSlurmCluster } from '../fixtures/slurmCluster.js';

const MB = 2 ** 20;

function job(id: string, script: string, preemptable: boolean, cores = 1): IssuedJob {
  return {
    jobId: id,
    attempt: 1,
    name: `test-${id}`,
    requirements: { cores, memory: 100 * MB, disk: 100 * MB, preemptable },
    command: ['sh', '-c', script],
    jobStoreLocator: 'file:/nonexistent',
  };
}

/** Collects updates; `next(jobId)` resolves with that job's update. */
function updates(): { listener: (u: JobUpdate) => void; of(jobId: string): Promise<JobUpdate> } {
  const seen = new Map<string, JobUpdate>();
  const waiting = new Map<string, (u: JobUpdate) => void>();
  return {
    listener(u) {
      seen.set(u.jobId, u);
      waiting.get(u.jobId)?.(u);
    },
    of(jobId) {
      const u = seen.get(jobId);
      if (u) return Promise.resolve(u);
      return new Promise((resolve) => waiting.set(jobId, resolve));
    },
  };
}

/** Polls for up to 15 s: slurmctld schedules on its own clock. */
const until = (what: string, check: () => boolean | Promise<boolean>): Promise<void> =>
  waitFor(what, check, 15_000, 50);

t.test('the slurm batch system on a real slurmctld with three slurmd', { skip: needsSlurm() }, async (t) => {
  const t0 = Date.now();
  t.afterEach(() => t.comment(`${Date.now() - t0} ms`));
  const cluster: TestSlurmCluster = await startSlurmCluster(
    [{ features: ['ondemand'] }, { features: ['spot'] }, { features: ['spot'] }],
    // A killed slurmd is noticed by the leader (State=DOWN), not by Slurm's timeout.
    { slurmdTimeoutSeconds: 300 },
  );
  t.teardown(() => cluster.stop());
  const u = updates();
  const bs = new SlurmBatchSystem({ cli: cluster.cli, clock: new RealClock(), pollMs: 150 });
  await bs.start(u.listener);
  t.teardown(() => bs.shutdown());
  t.comment(`cluster up: ${Date.now() - t0} ms`);

  await t.test('outcomes: exit 0 succeeds, exit 3 fails with its code, kill is killed', async (t) => {
    await bs.issue(job('ok', 'exit 0', false));
    await bs.issue(job('bad', 'exit 3', true));
    await bs.issue(job('long', 'sleep 60', true));
    t.ok(bs.issuedJobIds().has('long'), 'an issued attempt is listed until its update');
    const ok = await u.of('ok');
    t.equal(ok.outcome, 'succeeded');
    t.equal(ok.exitCode, 0);
    t.equal(ok.node, 'n1', 'a non-preemptable job runs on the on-demand node');
    const bad = await u.of('bad');
    t.equal(bad.outcome, 'failed');
    t.equal(bad.exitCode, 3);
    await until('the long job runs', () => bs.placements().some((p) => p.jobId === 'long'));
    const placed = bs.placements().find((p) => p.jobId === 'long');
    t.match(
      bs.runningJobs(),
      [{ jobId: 'long', attempt: 1, batchJobId: String(placed?.slurmJobId), node: placed?.node }],
      'the running attempt with its Slurm job id and node (toil status --printStatus)',
    );
    await bs.kill('long');
    const long = await u.of('long');
    t.equal(long.outcome, 'killed');
    t.same(bs.issuedJobIds(), new Set());

    // Slurm's own record, not ours: the job's comment names the attempt, its node list the node.
    const records = (await cluster.cli.jobs()).filter((j) => parseAttemptComment(j.comment));
    const okRecord = records.find((j) => parseAttemptComment(j.comment)?.jobId === 'ok');
    t.match(okRecord, { state: 'COMPLETED', nodes: 'n1', features: 'ondemand' });
    t.match(
      records.find((j) => parseAttemptComment(j.comment)?.jobId === 'bad'),
      { state: 'FAILED', exitCode: 3 },
    );
  });

  await t.test(
    'non-preemptable jobs only on the on-demand node; preemptable ones fill spot nodes first',
    async (t) => {
      // 2 CPUs per node: four 1-core preemptable jobs fit the two spot nodes exactly.
      const ids = ['p1', 'p2', 'p3', 'p4', 'd1', 'd2'];
      for (const id of ids) await bs.issue(job(id, 'sleep 1', !id.startsWith('d')));
      const done = await Promise.all(ids.map((id) => u.of(id)));
      t.ok(
        done.every((d) => d.outcome === 'succeeded'),
        'all succeeded',
      );
      const recs = (await cluster.cli.jobs()).filter((j) =>
        ids.includes(parseAttemptComment(j.comment)?.jobId ?? ''),
      );
      t.equal(recs.length, 6);
      for (const r of recs) {
        const id = parseAttemptComment(r.comment)!.jobId;
        if (id.startsWith('d')) t.equal(r.nodes, 'n1', `${id} (non-preemptable) ran on the on-demand node`);
        else t.not(r.nodes, 'n1', `${id} (preemptable) ran on a spot node (${r.nodes}), the lower weight`);
      }
    },
  );

  await t.test('drain: the mark first, emptiness only after the controller confirmed it', async (t) => {
    await bs.issue(job('busy', 'sleep 30', true, 2));
    await until('busy runs', () => bs.placements().some((p) => p.jobId === 'busy'));
    const node = bs.placements().find((p) => p.jobId === 'busy')!.node;
    t.throws(() => bs.isEmpty(node), { code: 'ILLEGAL_STATE' }, 'asking before the mark is an error');
    bs.markDraining(node);
    t.equal(bs.isEmpty(node), false, 'not empty before the drain is confirmed and observed');
    // Issued after the mark: Slurm must not place it on the draining node.
    await bs.issue(job('after', 'exit 0', true, 2));
    t.equal((await u.of('after')).outcome, 'succeeded');
    t.not((await u.of('after')).node, node, 'a job issued after the mark ran elsewhere');
    await bs.poll();
    await bs.poll();
    t.equal(bs.isEmpty(node), false, 'not empty while its job runs, drain confirmed and observed');
    await bs.kill('busy');
    await until('the node is empty', () => bs.isEmpty(node));
    const view = (await bs.agents()).find((a) => a.agentId === node)!;
    t.equal(view.draining, true);
    t.match((await cluster.cli.nodes()).find((n) => n.name === node)!.flags, ['DRAIN']);
    await bs.unmarkDraining(node);
    await until('the node takes jobs again', async () => {
      const n = (await cluster.cli.nodes()).find((x) => x.name === node)!;
      return !n.flags.includes('DRAIN');
    });
  });

  await t.test(
    "an operator's scancel is a failed attempt (a retry spent, as in Toil), not a loss",
    async (t) => {
      await bs.issue(job('cancelled', 'sleep 60', false));
      await until('it runs', () => bs.placements().some((p) => p.jobId === 'cancelled'));
      const slurmJobId = bs.placements().find((p) => p.jobId === 'cancelled')!.slurmJobId;
      await cluster.cli.cancel(slurmJobId);
      const u1 = await u.of('cancelled');
      t.equal(u1.outcome, 'failed');
      t.match(
        u1.message,
        new RegExp(
          `^CANCELLED.*: Slurm job ${slurmJobId} was cancelled outside toil-ts \\(scancel\\); counted as a failed attempt`,
        ),
      );
      t.equal(bs.lossCount('cancelled'), 0, 'not counted as lost');
    },
  );

  await t.test('a node that dies under a job: the job comes back lost (no retry spent)', async (t) => {
    await bs.issue(job('victim', 'sleep 60', true, 2));
    await until('victim runs', () => bs.placements().some((p) => p.jobId === 'victim'));
    const node = bs.placements().find((p) => p.jobId === 'victim')!.node;
    const proc = cluster.nodes.find((n) => n.name === node)!;
    proc.kill();
    await proc.exited;
    await bs.forceDrain(node);
    const victim = await u.of('victim');
    t.equal(victim.outcome, 'lost');
    t.match(victim.message, /NODE_FAIL/);
    t.equal(bs.lossCount('victim'), 1);
    t.equal((await bs.agents()).find((a) => a.agentId === node)?.state, 'down');
    await cluster.cli.deleteNode(node);
    t.notOk(
      (await bs.agents()).some((a) => a.agentId === node),
      'deleted from Slurm',
    );
  });
});
