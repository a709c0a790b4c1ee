import type { Clock } from '../common/clock.js';
import { coerceError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { untilAborted } from '../common/untilAborted.js';
import type { RunningJobRecord, RunningRecord } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import type { BatchSystem } from '../ports/batchSystem.js';

/** How often the leader looks whether what runs has changed (as often as it looks for a kill). */
export const RUNNING_RECORD_POLL_MS = 5_000;
/**
 * How often it looks while an issued job waits to start: a batch system says nothing when one
 * starts, and a record a poll behind said "0 running" for seconds while the first jobs ran.
 */
export const RUNNING_RECORD_START_POLL_MS = 1_000;
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
 * Wakes the loop of keepRunningRecord for a look now: the leader calls it when it issues a job or
 * one ends, so the record says so at once rather than at the next poll.
 */
export class RunningRecordNudge {
  private wake: AbortController | undefined;
  /** Nudged while the loop was looking, not sleeping: its next sleep ends at once. */
  private pending = false;

  nudge(): void {
    if (this.wake) this.wake.abort();
    else this.pending = true;
  }

  /** Sleeps `ms` on `clock`, or until nudged; rejects once `signal` aborts. */
  async sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    if (this.pending) {
      this.pending = false;
      return;
    }
    const wake = (this.wake = new AbortController());
    try {
      await clock.sleep(ms, AbortSignal.any([signal, wake.signal]));
    } catch (e) {
      if (signal.aborted) throw e;
    } finally {
      if (this.wake === wake) this.wake = undefined;
    }
  }
}

/**
 * Keeps `running.json` true while the run lasts: at every look it is rewritten if what runs
 * changed (or the last write is RUNNING_RECORD_REFRESH_MS old); resolves once `signal` aborts. It
 * looks every RUNNING_RECORD_POLL_MS, every RUNNING_RECORD_START_POLL_MS while an issued job waits
 * to start, and as soon as `nudge` says the leader issued or ended one (one look a second at
 * most). A failed write is logged and tried at the next look: the record is a view, and the run
 * never waits on it.
 */
export async function keepRunningRecord(o: {
  store: JobStore;
  generation: number;
  batchSystem: BatchSystem;
  issued: () => Iterable<{ jobId: string; name: string; attempt: number }>;
  /** How many ready jobs a limit holds back (not issued). */
  held: () => number;
  /** The attempts lost with their node so far (none: absent from the record). */
  lost?: () => Pick<RunningRecord, 'lostCount' | 'lost'>;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  nudge?: RunningRecordNudge;
}): Promise<void> {
  const nudge = o.nudge ?? new RunningRecordNudge();
  let last = '';
  let lastAt = -Infinity;
  while (!o.signal.aborted) {
    const { jobs, running, waiting } = runningJobs(o.issued(), o.batchSystem);
    const held = o.held();
    const lost = o.lost?.() ?? {};
    const body = JSON.stringify([jobs, running, waiting, held, lost]);
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
        ...lost,
      };
      try {
        // Not past the run's end: a store that never answers the write (a stalled endpoint, which
        // ends the lease) would otherwise hold the run that awaits this loop for as long.
        await untilAborted(o.store.writeRunning(record), o.signal);
        last = body;
        lastAt = now;
      } catch (e) {
        if (o.signal.aborted) return; // the run ended
        o.log.debug({ err: coerceError(e) }, 'could not write the record of running jobs; trying again');
      }
    }
    try {
      await nudge.sleep(
        o.clock,
        waiting > 0 ? RUNNING_RECORD_START_POLL_MS : RUNNING_RECORD_POLL_MS,
        o.signal,
      );
      // Nudged at once: still one look a second at most, however many jobs a busy leader issues.
      const gap = RUNNING_RECORD_START_POLL_MS - (o.clock.now() - now);
      if (gap > 0) await o.clock.sleep(gap, o.signal);
    } catch {
      return; // the run ended
    }
  }
}
