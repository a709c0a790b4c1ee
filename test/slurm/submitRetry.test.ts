import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import type { IssuedJob, JobUpdate } from '../../src/ports/batchSystem.js';
import { SlurmBatchSystem } from '../../src/slurm/batchSystem.js';
import { SlurmCli } from '../../src/slurm/cli.js';
import { attemptComment } from '../../src/slurm/jobScript.js';
import type { SlurmJob } from '../../src/slurm/json.js';
import { capturedLog, type LogLine } from '../fixtures/leaderFakes.js';
import { needsSlurm, pauseController, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { sleep } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A submission Slurm refuses for now (the controller not answering, `Slurm temporarily unable to
 * accept job`) is submitted again after a backoff, not failed: on a real slurmctld that is
 * stopped (SIGSTOP) while a job is issued, and with sbatch's own words from an sbatch that refuses
 * twice before it lets the real one submit. A running job is not reported lost while the
 * controller does not answer (squeue prints an empty list then, with an error).
 */
t.setTimeout(120_000);

const job = (id: string, script = 'exit 0'): IssuedJob => ({
  jobId: id,
  attempt: 1,
  name: `test-${id}`,
  requirements: { cores: 1, memory: 100 * 2 ** 20, disk: 100 * 2 ** 20, preemptable: false },
  command: ['sh', '-c', script],
  jobStoreLocator: 'file:/nonexistent',
});

/** A batch system on the cluster of `conf`, polling every 200 ms, its log lines in `lines`. */
async function startedBatch(
  t: Test,
  conf: string,
  listener: (u: JobUpdate) => void,
): Promise<{ bs: SlurmBatchSystem; lines: LogLine[] }> {
  const { destination, lines } = capturedLog();
  const bs = new SlurmBatchSystem({
    cli: new SlurmCli({ conf }),
    clock: new RealClock(),
    pollMs: 200,
    log: createLogger({ level: 'info', destination }),
  });
  await bs.start(listener);
  t.teardown(() => bs.shutdown());
  return { bs, lines };
}

/** The outcome of each job, as the batch system reports it. */
function outcomes(): { listener: (u: JobUpdate) => void; of(jobId: string): Promise<JobUpdate> } {
  const waiting = new Map<string, (u: JobUpdate) => void>();
  const seen = new Map<string, JobUpdate>();
  return {
    listener: (u) => {
      seen.set(u.jobId, u);
      waiting.get(u.jobId)?.(u);
    },
    of: (jobId) =>
      seen.has(jobId)
        ? Promise.resolve(seen.get(jobId)!)
        : new Promise((resolve) => waiting.set(jobId, resolve)),
  };
}

t.test(
  'a job issued while Slurm refuses for now is submitted once it accepts',
  { skip: needsSlurm() },
  async (t) => {
    // sbatch gives up on a silent controller after 4 s, not Slurm's 10: the pause below is that long.
    const cluster = await startSlurmCluster([{ features: ['ondemand'] }], { messageTimeoutSeconds: 4 });
    t.teardown(() => cluster.stop());

    await t.test('a controller that does not answer for a while (SIGSTOP, then SIGCONT)', async (t) => {
      const u = outcomes();
      const { bs, lines } = await startedBatch(t, cluster.controller.conf, u.listener);
      const resume = pauseController(t, cluster.controller);
      const issued = bs.issue(job('paused', 'sleep 3'));
      // Longer than sbatch waits for a reply (MessageTimeout, 4 s here).
      await sleep(6_000);
      resume();
      await issued;
      t.equal((await u.of('paused')).outcome, 'succeeded', 'the job ran once the controller answered');
      t.ok(
        lines.some(
          (l) =>
            l.level === 40 && /Slurm refused job 'test-paused' for now; submitting it again in/.test(l.msg),
        ),
        'the refusal was said, with when it is tried again',
      );
      // A submission cancelled while it ran is COMPLETING until its node has ended it: read the
      // records once none is (bounded), so the state checked is the one Slurm settles on.
      const attempts = async (): Promise<SlurmJob[]> =>
        (await cluster.cli.jobs()).filter((j) => j.comment === attemptComment('paused', 1));
      let made = await attempts();
      for (let i = 0; i < 50 && made.some((j) => j.state === 'COMPLETING'); i++) {
        await sleep(200);
        made = await attempts();
      }
      t.equal(made.filter((j) => j.state === 'COMPLETED').length, 1, 'the attempt ran once');
      t.same(
        made.filter((j) => j.state !== 'COMPLETED').map((j) => j.state),
        made.length > 1 ? ['CANCELLED'] : [],
        'a second submission the controller took from the lost reply was cancelled',
      );
    });

    // squeue exits 0 when the controller does not answer, its JSON an empty list and an error:
    // read as a list, the running job was gone from two polls, reported lost and run again.
    await t.test('a running job outlives a controller that does not answer for several polls', async (t) => {
      const ended: JobUpdate[] = [];
      const { bs, lines } = await startedBatch(t, cluster.controller.conf, (u) => ended.push(u));
      await bs.issue(job('held', 'sleep 14'));
      const ours = async (): Promise<SlurmJob[]> =>
        (await cluster.cli.jobs()).filter((j) => j.comment === attemptComment('held', 1));
      for (let i = 0; i < 100 && !(await ours()).some((j) => j.state === 'RUNNING'); i++) await sleep(100);
      t.equal((await ours()).filter((j) => j.state === 'RUNNING').length, 1, 'the job runs');
      const resume = pauseController(t, cluster.controller);
      await t.rejects(cluster.cli.jobs(), { code: 'SLURM_COMMAND_FAILED' }, 'squeue fails meanwhile');
      // Past two more of squeue's 4 s waits: the batch system's polls fail as many times.
      await sleep(6_000);
      resume();
      for (let i = 0; i < 150 && ended.length === 0; i++) await sleep(100);
      t.same(
        ended.map((u) => [u.jobId, u.attempt, u.outcome]),
        [['held', 1, 'succeeded']],
        'the job ended once, as it ran: not reported lost',
      );
      t.ok(
        lines.some((l) => l.level === 40 && /squeue failed; trying again/.test(l.msg)),
        "the batch system's polls failed meanwhile, and said so",
      );
    });

    await t.test("sbatch's own words: Slurm temporarily unable to accept job", async (t) => {
      // Every Slurm tool is the real one, but sbatch refuses twice first, in sbatch's words.
      const bin = testDir(t, {});
      for (const tool of ['squeue', 'sinfo', 'scontrol', 'scancel'])
        symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
      const count = join(bin, 'tries');
      writeFileSync(count, '0');
      writeFileSync(
        join(bin, 'sbatch'),
        `#!/bin/sh
n=$(($(cat ${count}) + 1)); echo $n > ${count}
if [ $n -le 2 ]; then
  echo 'sbatch: error: Slurm temporarily unable to accept job, sleeping and retrying' >&2
  echo 'sbatch: error: Batch job submission failed: Resource temporarily unavailable' >&2
  exit 1
fi
exec /usr/bin/sbatch "$@"
`,
      );
      chmodSync(join(bin, 'sbatch'), 0o755);
      const u = outcomes();
      const bs = new SlurmBatchSystem({
        cli: new SlurmCli({ conf: cluster.controller.conf, binDir: bin }),
        clock: new RealClock(),
        pollMs: 200,
      });
      await bs.start(u.listener);
      t.teardown(() => bs.shutdown());
      const started = Date.now();
      await bs.issue(job('eagain'));
      t.ok(
        Date.now() - started >= 2500,
        `submitted after backing off 1 s, then 2 s (${Date.now() - started} ms)`,
      );
      t.equal((await u.of('eagain')).outcome, 'succeeded');
    });
  },
);
