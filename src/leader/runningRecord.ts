import type { Clock } from '../common/clock.js';
import { coerceError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { RunningJobRecord, RunningRecord } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import type { BatchSystem } from '../ports/batchSystem.js';

/** How often the leader looks whether what runs has changed (as often as it looks for a kill). */
export const RUNNING_RECORD_POLL_MS = 5_000;
/** A record unchanged this long is written again, so its age says the leader still looks. */
export const RUNNING_RECORD_REFRESH_MS = 60_000;

/**
 * How many jobs the record lists: every running one up to a cluster's worth, and the first of
 * those waiting to start. A queue of 100,000 issued jobs would otherwise be rewritten as a record
 * of megabytes every few seconds; the counts stay whole.
 */
export const MAX_RUNNING_LISTED = 2_000;
export const MAX_WAITING_LISTED = 100;

const byName = (a: RunningJobRecord, b: RunningJobRecord): number =>
  a.name.localeCompare(b.name) || a.jobId.localeCompare(b.jobId);

/**
 * What a running leader has issued and where each started attempt runs, for `toil status
 * --printStatus` (Toil's, which asks its message bus; the job store is what both sides reach
 * here). The leader's own view (issued attempts, by name) joined with the batch system's (which
 * of them started, its id for each, the node). Running jobs first, then those waiting (in the
 * order they were issued), each part cut at its limit.
 */
export function runningJobs(
  issued: Iterable<{ jobId: string; name: string; attempt: number }>,
  batchSystem: Pick<BatchSystem, 'runningJobs'>,
): { jobs: RunningJobRecord[]; running: number; waiting: number } {
  const started = new Map((batchSystem.runningJobs?.() ?? []).map((r) => [r.jobId, r]));
  const running: RunningJobRecord[] = [];
  const waiting: RunningJobRecord[] = [];
  let waitingCount = 0;
  for (const j of issued) {
    const r = started.get(j.jobId);
    if (!r || r.attempt !== j.attempt) {
      waitingCount++;
      if (waiting.length < MAX_WAITING_LISTED) waiting.push({ ...j, state: 'issued' });
      continue;
    }
    running.push({
      ...j,
      state: 'running',
      batchJobId: r.batchJobId,
      ...(r.node !== undefined ? { node: r.node } : {}),
      ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
    });
  }
  return {
    jobs: [...running.sort(byName).slice(0, MAX_RUNNING_LISTED), ...waiting.sort(byName)],
    running: running.length,
    waiting: waitingCount,
  };
}

/**
 * Keeps `running.json` true while the run lasts: every RUNNING_RECORD_POLL_MS it is rewritten if
 * what runs changed (or the last write is RUNNING_RECORD_REFRESH_MS old); resolves once `signal`
 * aborts. A failed write is logged and tried at the next look: the record is a view, and the run
 * never waits on it.
 */
export async function keepRunningRecord(o: {
  store: JobStore;
  generation: number;
  batchSystem: BatchSystem;
  issued: () => Iterable<{ jobId: string; name: string; attempt: number }>;
  /** How many ready jobs a limit holds back (not issued). */
  held: () => number;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
}): Promise<void> {
  let last = '';
  let lastAt = -Infinity;
  while (!o.signal.aborted) {
    const { jobs, running, waiting } = runningJobs(o.issued(), o.batchSystem);
    const held = o.held();
    const body = JSON.stringify([jobs, running, waiting, held]);
    const now = o.clock.now();
    if (body !== last || now - lastAt >= RUNNING_RECORD_REFRESH_MS) {
      const record: RunningRecord = {
        format: 1,
        generation: o.generation,
        at: now,
        batchSystem: o.batchSystem.name,
        running,
        waiting,
        ...(held > 0 ? { held } : {}),
        jobs,
      };
      try {
        await o.store.writeRunning(record);
        last = body;
        lastAt = now;
      } catch (e) {
        o.log.debug({ err: coerceError(e) }, 'could not write the record of running jobs; trying again');
      }
    }
    try {
      await o.clock.sleep(RUNNING_RECORD_POLL_MS, o.signal);
    } catch {
      return; // the run ended
    }
  }
}
