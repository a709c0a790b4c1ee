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
 * What a running leader has issued and where each started attempt runs, for `toil status
 * --printStatus` (Toil's, which asks its message bus; the job store is what both sides reach
 * here). The leader's own view (issued attempts, by name) joined with the batch system's (which
 * of them started, its id for each, the node).
 */
export function runningJobs(
  issued: readonly { jobId: string; name: string; attempt: number }[],
  batchSystem: Pick<BatchSystem, 'runningJobs'>,
): RunningJobRecord[] {
  const started = new Map((batchSystem.runningJobs?.() ?? []).map((r) => [r.jobId, r]));
  return issued
    .map((j): RunningJobRecord => {
      const r = started.get(j.jobId);
      if (!r || r.attempt !== j.attempt) return { ...j, state: 'issued' };
      return {
        ...j,
        state: 'running',
        batchJobId: r.batchJobId,
        ...(r.node !== undefined ? { node: r.node } : {}),
        ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name) || a.jobId.localeCompare(b.jobId));
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
  issued: () => readonly { jobId: string; name: string; attempt: number }[];
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
}): Promise<void> {
  let last = '';
  let lastAt = -Infinity;
  while (!o.signal.aborted) {
    const jobs = runningJobs(o.issued(), o.batchSystem);
    const body = JSON.stringify(jobs);
    const now = o.clock.now();
    if (body !== last || now - lastAt >= RUNNING_RECORD_REFRESH_MS) {
      const record: RunningRecord = {
        format: 1,
        generation: o.generation,
        at: now,
        batchSystem: o.batchSystem.name,
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
