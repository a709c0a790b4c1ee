import { namedUpTo } from '../common/namedUpTo.js';
import { storeDamageRemedy } from './damageRemedy.js';
import type { RunOutcomeRecord } from '../jobstore/jobRecords.js';
import { LEADER_KEY } from '../jobstore/lease.js';
import { CorruptJobStoreError, OUTCOME_KEY, type JobStore } from '../jobstore/jobStore.js';

type FailedJob = RunOutcomeRecord['failedJobs'][number];

/**
 * The jobs the last leader's run failed for good, as far as a store with damaged records tells. The
 * run's outcome names them; the leader record says whether a leader took the workflow up since
 * (which voids them). Damage to either is passed over here: only whether a job failed for good
 * depends on them, and `toil debug-job` needs that for little (a line of --printJobInfo, and which
 * of several jobs of a name to pick).
 */
export interface LastRunFailures {
  /** Failed for good in the last run, no leader having taken the workflow up since. */
  readonly failed: readonly FailedJob[];
  /**
   * Named failed for good by the outcome of a run, the leader record being damaged: whether a
   * leader took the workflow up since, so whether each still stands, cannot be told.
   */
  readonly unsure: readonly FailedJob[];
  /** The leader record (leader.json) could not be read. */
  readonly leaderDamage?: CorruptJobStoreError;
  /**
   * The outcome (outcome.json) could not be read: which jobs failed for good in the last run, if
   * any did, cannot be told.
   */
  readonly outcomeDamage?: CorruptJobStoreError;
}

export async function lastRunFailures(store: JobStore): Promise<LastRunFailures> {
  const [outcome, generation] = await Promise.all([
    store.readOutcome().catch(damageOf(OUTCOME_KEY)),
    store.readGeneration().catch(damageOf(LEADER_KEY)),
  ]);
  // Said with what becomes of it (the next run writes it again), as toil status says it: not to
  // restore it or clean the store.
  const outcomeDamage =
    outcome instanceof CorruptJobStoreError
      ? {
          outcomeDamage: new CorruptJobStoreError(
            store.locator,
            outcome.reason,
            OUTCOME_KEY,
            storeDamageRemedy(store, OUTCOME_KEY),
          ),
        }
      : {};
  const named =
    !(outcome instanceof CorruptJobStoreError) && outcome?.status === 'failed' ? outcome : undefined;
  if (generation instanceof CorruptJobStoreError)
    return { failed: [], unsure: named?.failedJobs ?? [], leaderDamage: generation, ...outcomeDamage };
  return { failed: named?.generation === generation ? named.failedJobs : [], unsure: [], ...outcomeDamage };
}

/** The error of a damaged object `key` as a value; any other error is thrown on. */
function damageOf(key: string): (e: unknown) => CorruptJobStoreError {
  return (e) => {
    if (e instanceof CorruptJobStoreError && e.key === key) return e;
    throw e;
  };
}

/** How many failed jobs a line names before "and N more". */
const NAMED_FAILED = 8;

/** `name (id)` of each job, as many as a line holds. */
export function failedJobsListed(jobs: readonly FailedJob[]): string {
  return namedUpTo(
    jobs.map((f) => `${f.name} (${f.jobId})`),
    NAMED_FAILED,
  );
}

/**
 * What a damaged outcome or leader record leaves unknown, as a clause of a line that names no job
 * as failed: undefined when nothing is (both records sound, or the outcome names no failure).
 */
export function unsureFailuresClause(f: LastRunFailures): string | undefined {
  if (f.outcomeDamage)
    return `${OUTCOME_KEY} is damaged, so which jobs failed for good in the last run, if any did, cannot be told`;
  if (!f.leaderDamage || f.unsure.length === 0) return undefined;
  return `${LEADER_KEY} is damaged, so whether ${failedJobsListed(f.unsure)}, which a run's outcome records as failed for good, still ${f.unsure.length === 1 ? 'is' : 'are'} cannot be told (a leader may have taken the workflow up since)`;
}

/**
 * The stderr line of a job found with the leader record damaged: what is damaged, and what that
 * leaves unknown of job `job` (whether it failed for good), or that it leaves nothing unknown.
 */
export function leaderPassedOverNotice(
  locator: string,
  f: LastRunFailures,
  jobId: string,
  job: string,
): string {
  const damaged = `the leader record ${LEADER_KEY} of job store ${locator} is damaged and could not be read ('toil status ${locator}' lists it)`;
  if (f.unsure.some((u) => u.jobId === jobId))
    return `${damaged}; whether ${job} failed for good in the last run cannot be told: a run's outcome records that it did, and only the leader record tells whether a leader took the workflow up since`;
  if (f.outcomeDamage)
    return `${damaged}; passed over: it only tells whether the failures a run's outcome records still stand, and that outcome (${OUTCOME_KEY}) is damaged too`;
  return `${damaged}; passed over: it only tells whether the failures a run's outcome records still stand, and ${job} is not among them`;
}

/** Why whether a job failed for good in the last run is unknown, the run's outcome being damaged. */
export const OUTCOME_DAMAGED_UNKNOWN = `${OUTCOME_KEY} is damaged: only it records which jobs failed for good in the last run`;

/**
 * The stderr line of a job found with the run's outcome damaged: what is damaged, and that whether
 * job `job` failed for good in the last run cannot be told (the outcome alone records it).
 */
export function outcomePassedOverNotice(locator: string, job: string): string {
  return `the run's outcome ${OUTCOME_KEY} of job store ${locator} is damaged and could not be read ('toil status ${locator}' lists it); whether ${job} failed for good in the last run cannot be told: only that outcome records which jobs did`;
}
