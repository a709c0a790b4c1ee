import type { LostAttemptRecord, RunningJobRecord } from '../jobstore/jobRecords.js';
import { CorruptJobStoreError, type JobStore } from '../jobstore/jobStore.js';
import { liveLeader } from '../leader/workflowStatus.js';
import { formatDuration } from '../common/units.js';
import { MAX_RUNNING_LISTED, MAX_WAITING_LISTED } from '../leader/runningRecord.js';
import { MAX_LOST_LISTED } from '../leader/lostAttempts.js';

/** `toil status --printStatus`: the jobs running now, as the leader holding the store recorded them. */
export interface RunningNow {
  /** The leader holding the store now, as a person reads it; absent when none does. */
  readonly leader?: string;
  /** When that leader last wrote its record (ms since the epoch); absent before its first. */
  readonly at?: number;
  readonly batchSystem?: string;
  readonly running?: number;
  readonly waiting?: number;
  /** Jobs ready but held back by --maxJobs or a service limit, not issued; absent when none. */
  readonly held?: number;
  readonly jobs: readonly RunningJobRecord[];
  /** The attempts the leader's run lost with their node: how many, and the last of them. */
  readonly lostCount?: number;
  readonly lost?: readonly LostAttemptRecord[];
  /**
   * No leader holds the store, but the last one died without stopping its jobs: how many it had
   * issued to a cluster batch system, where they may still be queued or running.
   */
  readonly deadLeaderLeft?: { readonly batchSystem: string; readonly jobs: number };
  /** The leader's record or the running record is damaged: what runs cannot be told. */
  readonly damaged?: string;
}

/**
 * What runs now: nothing unless a leader holds the store's lease (an expired lease is a leader
 * gone), and then the record of its own generation (a record of an earlier leader describes jobs
 * that leader's end stopped or left: `toil kill --force` says which).
 */
export async function runningNow(store: JobStore, now: number): Promise<RunningNow> {
  try {
    return await readRunningNow(store, now);
  } catch (e) {
    // The summary lists the damaged object and exits 1; this part only says it cannot tell.
    if (e instanceof CorruptJobStoreError) return { jobs: [], damaged: e.message };
    throw e;
  }
}

async function readRunningNow(store: JobStore, now: number): Promise<RunningNow> {
  const live = await liveLeader(store, now);
  const record = await store.readRunning();
  if (!live) {
    // A leader that stops deletes its record: one left is a leader killed (-9) or lost, and on a
    // cluster its jobs outlive it.
    const left = record ? record.running + record.waiting : 0;
    return record && left > 0 && record.batchSystem !== 'single_machine'
      ? { jobs: [], deadLeaderLeft: { batchSystem: record.batchSystem, jobs: left } }
      : { jobs: [] };
  }
  const leader = live.description;
  if (!record || record.generation !== live.generation) return { leader, jobs: [] };
  return {
    leader,
    at: record.at,
    batchSystem: record.batchSystem,
    running: record.running,
    waiting: record.waiting,
    ...(record.held ? { held: record.held } : {}),
    jobs: record.jobs,
    ...(record.lostCount ? { lostCount: record.lostCount, lost: record.lost ?? [] } : {}),
  };
}

const AFTER_LOSS: Record<LostAttemptRecord['next'], string> = {
  spot: 'run again (no retry spent)',
  'on-demand': 'run again (no retry spent)',
  'moved-to-on-demand': 'run again on on-demand, lost on spot more than --preemptableRetries times',
  failure: 'failed: lost too many times',
  committed: 'not run again: it had committed before its node went',
};

/**
 * The attempts the running leader lost with their node (a spot reclaim, a node gone): which job,
 * where and why, and what followed, the newest last; none while none was lost.
 */
export function lostLines(r: RunningNow, now: number): string[] {
  if (!r.lostCount) return [];
  const listed = r.lost ?? [];
  const more = r.lostCount - listed.length;
  return [
    `lost:       ${r.lostCount} attempt(s) lost with their node in this run` +
      (more > 0 ? ` (the last ${MAX_LOST_LISTED} listed)` : ''),
    ...listed.map(
      (l) =>
        `  lost:     ${l.name} (${l.jobId}) attempt ${l.attempt}, ${formatDuration(Math.max(0, now - l.at))} ago: ${l.why}; ${AFTER_LOSS[l.next]}`,
    ),
  ];
}

/**
 * The jobs the leader holding the store has issued (running, or waiting to start) and holds back
 * by a job limit, as its record counts them (a record listing every job counts by its list).
 */
export function jobCounts(r: RunningNow): { running: number; waiting: number; held: number } {
  const listedRunning = r.jobs.filter((j) => j.state === 'running').length;
  return {
    running: r.running ?? listedRunning,
    waiting: r.waiting ?? r.jobs.length - listedRunning,
    held: r.held ?? 0,
  };
}

/**
 * Toil's lines ("Job ID … with name … is running on … as ID …"), with where and for how long.
 * `only`: the jobs `toil status --jobs` names (the counts stay the workflow's). `runEnded`: the
 * last leader recorded the end of its run (the workflow finished or failed, or every job ran), so
 * it had stopped its jobs and none of a leader killed with -9 can be left to mention.
 */
export function runningLines(
  r: RunningNow,
  locator: string,
  now: number,
  o: { readonly only?: (jobId: string) => boolean; readonly runEnded?: boolean } = {},
): string {
  if (r.damaged) return `which jobs are running cannot be told: ${r.damaged}\n`;
  if (!r.leader && r.deadLeaderLeft)
    return (
      `no leader is running the workflow in ${locator}, but the last one was killed (-9) or lost with ` +
      `${r.deadLeaderLeft.jobs} job(s) issued to ${r.deadLeaderLeft.batchSystem}, which may still be queued or running there: ` +
      `'toil kill --force ${locator}' cancels them ('toil run … --restart' does too, before it runs them again)\n`
    );
  if (!r.leader)
    return (
      `no leader is running the workflow in ${locator}, so none of its jobs is running` +
      (o.runEnded
        ? ''
        : ` (the cluster jobs of a leader killed with -9 are stopped by 'toil kill --force ${locator}')`) +
      '\n'
    );
  if (r.at === undefined) return `${r.leader} runs the workflow; it has recorded no running job yet\n`;
  const { running, waiting } = jobCounts(r);
  const head =
    `${r.leader} runs the workflow; as of ${formatDuration(Math.max(0, now - r.at))} ago: ` +
    `${running} job(s) running, ${waiting} issued and waiting to start` +
    (r.held
      ? `, ${r.held} ready and held back by a job limit (--maxJobs, --maxServiceJobs), not issued`
      : '');
  const unlisted = running + waiting - r.jobs.length;
  const lines = r.jobs
    .filter((j) => !o.only || o.only(j.jobId))
    .map((j) =>
      j.state === 'running'
        ? `Job ID ${j.jobId} with name ${j.name} is running on ${r.batchSystem} as ID ${j.batchJobId}` +
          `${j.node ? ` on ${j.node}` : ''} (attempt ${j.attempt}` +
          `${j.startedAt !== undefined ? `, for ${formatDuration(Math.max(0, now - j.startedAt))}` : ''})`
        : `Job ID ${j.jobId} with name ${j.name} is issued to ${r.batchSystem}, waiting to start (attempt ${j.attempt})`,
    );
  const more =
    unlisted > 0
      ? [
          `… and ${unlisted} more (the record lists the running jobs up to ${MAX_RUNNING_LISTED} and the first ${MAX_WAITING_LISTED} waiting)` +
            (o.only ? ': a job --jobs names may be among them' : ''),
        ]
      : [];
  return [head, ...lines, ...more].join('\n') + '\n';
}
