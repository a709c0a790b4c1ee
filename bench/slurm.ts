/**
 * The `slurm` batch system on a real slurmctld with 3 slurmd (1 on-demand, 2 spot, 4 CPUs each),
 * beside the `mesos` batch system on the local Mesos master with the same 3 agents and jobs:
 * N `/bin/true` jobs, half non-preemptable. Prints JSON lines: jobs/s, issue → started (p50, p95)
 * for each, and Slurm's own submit → start (from its job records, whole seconds).
 *   npm run bench -- slurm [jobs=100] [pollMs=500] [mesosAllocationIntervalMs=1000]
 * Needs root and slurm-wlm.
 */
import { RealClock } from '../src/common/clock.js';
import { joinSlurmNode, slurmAvailability, startSlurmController } from '../src/localcloud/slurm/cluster.js';
import { SlurmBatchSystem } from '../src/slurm/batchSystem.js';
import { parseAttemptComment } from '../src/slurm/jobScript.js';
import { benchMesos, quantile, runTrueJobs, type BatchFigures } from './mesos.js';

async function benchSlurm(
  jobs: number,
  pollMs: number,
): Promise<BatchFigures & { slurmSubmitToStartP50: number; slurmSubmitToStartP95: number }> {
  const controller = await startSlurmController();
  const nodes = await Promise.all(
    ['ondemand', 'spot', 'spot'].map((f, i) =>
      joinSlurmNode(controller, {
        name: `b${i + 1}`,
        address: `127.0.77.${i + 1}`,
        cpus: 4,
        memoryMb: 4096,
        tmpDiskMb: 4096,
        features: [f],
      }),
    ),
  );
  const clock = new RealClock();
  const batch = new SlurmBatchSystem({ cli: controller.cli, clock, pollMs, submitConcurrency: 8 });
  const figures = await runTrueJobs(batch, jobs, true);
  const records = (await controller.cli.jobs()).filter((j) => parseAttemptComment(j.comment));
  const slurmWait = records.map((j) => (j.startTime - j.submitTime) * 1000).sort((a, b) => a - b);
  await batch.shutdown();
  for (const n of nodes) n.kill();
  await Promise.all(nodes.map((n) => n.exited));
  await controller.stop({ kill: true });
  return {
    ...figures,
    slurmSubmitToStartP50: quantile(slurmWait, 0.5),
    slurmSubmitToStartP95: quantile(slurmWait, 0.95),
  };
}

export default async function bench(args: string[]): Promise<void> {
  const jobs = Number(args[0] ?? 100);
  const pollMs = Number(args[1] ?? 500);
  const allocationIntervalMs = Number(args[2] ?? 1000);
  const why = slurmAvailability();
  if (why) {
    process.stderr.write(`bench slurm: needs a real Slurm: ${why}\n`);
    process.exitCode = 2;
    return;
  }
  const slurm = await benchSlurm(jobs, pollMs);
  const mesos = await benchMesos(jobs, allocationIntervalMs);
  const line = (o: Record<string, unknown>): boolean =>
    process.stdout.write(JSON.stringify({ bench: 'slurm', jobs, ...o }) + '\n');
  line({ engine: 'slurm', pollMs, ...slurm });
  line({ engine: 'mesos', allocationIntervalMs, ...mesos });
  line({
    metric: 'slurm_vs_mesos',
    jobsPerS: { slurm: slurm.jobsPerS, mesos: mesos.jobsPerS },
    issueToStartP50Ms: { slurm: slurm.placedP50, mesos: mesos.placedP50 },
    issueToStartP95Ms: { slurm: slurm.placedP95, mesos: mesos.placedP95 },
  });
}
