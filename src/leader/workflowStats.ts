import { UserInputError } from '../common/errors.js';
import { reachableCommits } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import { failureLogs, liveLeader } from './workflowStatus.js';

/** Minimum, median, mean, maximum and total of one measure over a job name's runs. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly mean: number;
  readonly max: number;
  readonly total: number;
}

/**
 * What `toil stats` reports for the jobs of one name (Toil's "job type"). The measures carry
 * Toil's names, which `--raw` prints: `time` is the wall time (its "Real Time"), `clock` the CPU
 * time, so a script written for Toil's report reads the same figure from this one.
 */
export interface JobNameStats {
  readonly name: string;
  readonly count: number;
  /** Wall-clock seconds each run took. */
  readonly time: Spread;
  /** CPU seconds (user + system); runs committed before CPU was recorded are left out. */
  readonly clock: Spread | undefined;
  /** Peak resident memory in bytes (see `JobCommit.peakRssBytes`). */
  readonly memory: Spread | undefined;
}

export interface WorkflowStats {
  readonly locator: string;
  readonly workflowId: string;
  readonly workflowFile: string;
  /** Jobs that ran (one commit each). */
  readonly jobs: number;
  /** The jobs' wall time, summed (Toil's `time`). */
  readonly timeSeconds: number;
  /** The jobs' CPU time, summed (Toil's `clock`). */
  readonly cpuSeconds: number;
  readonly byName: readonly JobNameStats[];
  /**
   * Attempts that failed, from the logs their workers left (`toil status --printLogs` shows them):
   * they commit nothing, so without this a workflow whose only job failed reads as one that ran nothing.
   */
  readonly failedAttempts: number;
  /** failedAttempts by job name, largest first. */
  readonly failedByName: readonly { readonly name: string; readonly attempts: number }[];
}

function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const total = sorted.reduce((s, x) => s + x, 0);
  return {
    min: sorted[0]!,
    median: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
    mean: total / sorted.length,
    max: sorted[sorted.length - 1]!,
    total,
  };
}

/**
 * The statistics of the jobs that ran, from the job store alone (Toil's `toil stats`): every
 * commit the workflow's records lead to records its wall time, CPU time and peak memory, and the
 * job's name comes from the spec that declared it (the workflow record's, or the commit of the job
 * that created it).
 */
export async function workflowStats(
  store: JobStore,
  /** For whether a leader still holds a store that has no workflow record yet (ms since the epoch). */
  now: number,
): Promise<WorkflowStats> {
  await store.assertExists();
  const workflow = await store.readWorkflow();
  if (!workflow) {
    const leader = await liveLeader(store, now);
    throw new UserInputError(
      'NO_WORKFLOW',
      leader
        ? `job store ${store.locator} holds no workflow yet: ${leader.description} holds the store and is starting the workflow (its start() is running); no job has run`
        : `job store ${store.locator} holds no workflow (it was interrupted while starting)`,
    );
  }
  // An orphaned commit's job was dropped by a checkpoint's rerun (see reachableCommits): its run
  // is no part of the workflow's, as the commits the rerun did delete are not.
  const commits = reachableCommits(workflow, [...(await store.readAllCommits()).values()]);
  const names = new Map<string, string>(workflow.jobs.map((j) => [j.id, j.name]));
  for (const c of commits) for (const j of c.newJobs) names.set(j.id, j.name);
  const runs = new Map<string, { time: number[]; clock: number[]; memory: number[] }>();
  for (const c of commits) {
    const name = names.get(c.jobId) ?? '(unknown)';
    let r = runs.get(name);
    if (!r) runs.set(name, (r = { time: [], clock: [], memory: [] }));
    r.time.push(c.wallTimeMs / 1000);
    if (c.cpuTimeMs !== undefined) r.clock.push(c.cpuTimeMs / 1000);
    if (c.peakRssBytes !== undefined) r.memory.push(c.peakRssBytes);
  }
  const byName = [...runs].map(([name, r]) => ({
    name,
    count: r.time.length,
    time: spread(r.time)!,
    clock: spread(r.clock),
    memory: spread(r.memory),
  }));
  const failedByName = new Map<string, number>();
  for (const log of await failureLogs(store))
    failedByName.set(log.name, (failedByName.get(log.name) ?? 0) + 1);
  return {
    locator: store.locator,
    workflowId: workflow.workflowId,
    workflowFile: workflow.workflowFile,
    jobs: commits.length,
    timeSeconds: byName.reduce((s, n) => s + n.time.total, 0),
    cpuSeconds: byName.reduce((s, n) => s + (n.clock?.total ?? 0), 0),
    byName,
    failedAttempts: [...failedByName.values()].reduce((s, n) => s + n, 0),
    failedByName: [...failedByName]
      .map(([name, attempts]) => ({ name, attempts }))
      .sort((a, b) => b.attempts - a.attempts || a.name.localeCompare(b.name)),
  };
}
