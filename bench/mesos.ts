/**
 * The `mesos` batch system on the local Mesos master: N trivial jobs over 3 agent processes.
 * Prints JSON lines: throughput, and issue → placed / issue → reported latencies (p50, p95).
 *   npm run bench -- mesos [jobs=200] [allocationIntervalMs=1000]
 */
import os from 'node:os';
import { RealClock } from '../src/common/clock.js';
import type { BatchSystem, JobUpdate } from '../src/ports/batchSystem.js';
import { startAgentProcess } from '../src/localcloud/mesos/agentProcess.js';
import { startMesosMaster } from '../src/localcloud/mesos/masterServer.js';
import { MesosBatchSystem } from '../src/mesos/batchSystem.js';
import { MesosMasterClient } from '../src/mesos/masterClient.js';
import { MemoryFrameworkIdStore, MesosSchedulerClient } from '../src/mesos/scheduler.js';

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** What one batch-system bench measured. */
export interface BatchFigures {
  readonly jobsPerS: number;
  readonly elapsedMs: number;
  readonly placedP50: number;
  readonly placedP95: number;
  readonly reportedP50: number;
  readonly reportedP95: number;
}

export default async function bench(args: string[]): Promise<void> {
  const jobs = Number(args[0] ?? 200);
  const allocationIntervalMs = Number(args[1] ?? 1000);
  const f = await benchMesos(jobs, allocationIntervalMs);
  const line = (o: Record<string, unknown>): boolean =>
    process.stdout.write(JSON.stringify({ bench: 'mesos', jobs, allocationIntervalMs, ...o }) + '\n');
  line({ metric: 'throughput_jobs_per_s', value: f.jobsPerS, elapsedMs: f.elapsedMs });
  line({ metric: 'issue_to_placed_ms', p50: f.placedP50, p95: f.placedP95 });
  line({ metric: 'issue_to_reported_ms', p50: f.reportedP50, p95: f.reportedP95 });
}

/** `jobs` /bin/true jobs (half non-preemptable) over 3 agents of 4 cpus (1 on-demand, 2 spot). */
export async function benchMesos(jobs: number, allocationIntervalMs: number): Promise<BatchFigures> {
  const master = await startMesosMaster({ allocationIntervalMs });
  const agents = ['false', 'true', 'true'].map((p) =>
    startAgentProcess({
      master: master.address,
      resources: 'cpus:4;mem:4096;disk:4096',
      attributes: `preemptable:${p}`,
    }),
  );
  await Promise.all(agents.map((a) => a.agentId()));
  const clock = new RealClock();
  const client = new MesosMasterClient(master.address);
  const scheduler = new MesosSchedulerClient({
    master: client.endpoint,
    framework: { name: 'bench', user: os.userInfo().username, failoverTimeoutSeconds: 60 },
    frameworkIdStore: new MemoryFrameworkIdStore(),
    clock,
  });
  const batch = new MesosBatchSystem({ scheduler, master: client, clock });
  const figures = await runTrueJobs(batch, jobs, false);
  await batch.shutdown();
  for (const a of agents) a.kill();
  await Promise.all(agents.map((a) => a.exited));
  await master.stop();
  return figures;
}

/**
 * Starts `batch`, issues `jobs` `/bin/true` jobs (half non-preemptable; one after another, or all
 * at once when `concurrent`), waits for every update, and measures.
 */
export async function runTrueJobs(
  batch: BatchSystem & { placements(): readonly { jobId: string; atMs: number }[] },
  jobs: number,
  concurrent: boolean,
): Promise<BatchFigures> {
  const issuedAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  await batch.start((u: JobUpdate) => {
    doneAt.set(u.jobId, Date.now());
    if (u.outcome !== 'succeeded') process.stderr.write(`job ${u.jobId}: ${u.outcome} ${u.message ?? ''}\n`);
    if (doneAt.size === jobs) resolveAll();
  });
  const t0 = Date.now();
  const issue = (i: number): Promise<void> => {
    const jobId = `j${i}`;
    issuedAt.set(jobId, Date.now());
    return batch.issue({
      jobId,
      attempt: 1,
      name: 'true',
      requirements: { cores: 0.5, memory: 32 * 2 ** 20, disk: 2 ** 20, preemptable: i % 2 === 0 },
      command: ['/bin/true'],
      jobStoreLocator: 'file:/nonexistent',
    });
  };
  if (concurrent) await Promise.all(Array.from({ length: jobs }, (_, i) => issue(i)));
  else for (let i = 0; i < jobs; i++) await issue(i);
  await all;
  const elapsed = Date.now() - t0;
  const placed = batch
    .placements()
    .map((p) => p.atMs - issuedAt.get(p.jobId)!)
    .sort((a, b) => a - b);
  const total = [...doneAt].map(([id, at]) => at - issuedAt.get(id)!).sort((a, b) => a - b);
  return {
    jobsPerS: Number(((jobs * 1000) / elapsed).toFixed(1)),
    elapsedMs: elapsed,
    placedP50: quantile(placed, 0.5),
    placedP95: quantile(placed, 0.95),
    reportedP50: quantile(total, 0.5),
    reportedP95: quantile(total, 0.95),
  };
}
