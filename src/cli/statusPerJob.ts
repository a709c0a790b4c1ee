import { UserInputError } from '../common/errors.js';
import { namedUpTo } from '../common/namedUpTo.js';
import type { JobStore } from '../jobstore/jobStore.js';
import type { StatusJob } from '../leader/workflowStatus.js';

/**
 * Toil's state flags where toil-ts's state has one (COMPLETELY_FAILED: out of tries; READY_TO_RUN),
 * and its own for the two states Toil's per-job line has none for: Toil deletes a job that ran
 * from its store, and prints no flag for one waiting on others.
 */
const STATE_FLAG: Readonly<Record<StatusJob['state'], string>> = {
  completed: 'COMPLETED',
  failed: 'COMPLETELY_FAILED',
  ready: 'READY_TO_RUN',
  waiting: 'WAITING',
};

/**
 * Toil's `toil status --perJob`: a tab-separated line per job, `JOB:'NAME' ID`, its state flag,
 * HAS_SERVICES and IS_SERVICE as Toil prints them (flags only when they hold), LOG_FILE (the log
 * of its last failed attempt, the object `--printLogs` prints) and CHILD_NUMBER (its successors,
 * as `--printChildren` lists them) only when it has one. Toil's TRYS_REMAINING and IS_ZOMBIE are
 * not printed: the tries left are the running leader's count (each run's --retryCount, renewed by
 * --restart), not kept with the job; and a Toil zombie is a job that ran awaiting its deletion,
 * where toil-ts keeps every job that ran (COMPLETED).
 */
export function perJobLines(jobs: readonly StatusJob[], logFiles: ReadonlyMap<string, string>): string {
  return jobs
    .map((j) => {
      const successors = j.children.length + j.followOns.length;
      const log = logFiles.get(j.id);
      return (
        [
          `JOB:'${j.name}' ${j.id}`,
          STATE_FLAG[j.state],
          ...(j.services && j.services.length > 0 ? ['HAS_SERVICES'] : []),
          ...(j.service ? ['IS_SERVICE'] : []),
          ...(log ? [`LOG_FILE:${log}`] : []),
          ...(successors > 0 ? [`CHILD_NUMBER:${successors}`] : []),
        ].join('\t') + '\n'
      );
    })
    .join('');
}

/**
 * Each job's log of its last failed attempt (`logs/<jobId>/<attempt>`, the highest attempt): the
 * keys only, for a damaged log is still the job's log file (the summary lists it as damaged).
 */
export async function lastLogFiles(store: JobStore): Promise<Map<string, string>> {
  const last = new Map<string, { attempt: number; key: string }>();
  for await (const { key } of store.objects.list('logs/')) {
    const [, jobId, attempt] = key.split('/');
    const n = Number(attempt);
    if (jobId === undefined || !Number.isInteger(n)) continue;
    const seen = last.get(jobId);
    if (!seen || n > seen.attempt) last.set(jobId, { attempt: n, key });
  }
  return new Map([...last].map(([jobId, { key }]) => [jobId, key]));
}

/** How many job names a refusal of `--jobs` lists before "and N more". */
const NAMED_IDS = 5;

/**
 * The jobs `--jobs` names, in the order named (each once), as Toil's `toil status --jobs` reports
 * on them; an id the store's workflow has no job of is refused, naming it (a job name given for an
 * id is said to be one, with the ids of that name).
 */
export function namedJobs(jobs: readonly StatusJob[], ids: readonly string[], locator: string): StatusJob[] {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const chosen: StatusJob[] = [];
  for (const id of new Set(ids)) {
    const job = byId.get(id);
    if (job) {
      chosen.push(job);
      continue;
    }
    const named = jobs.filter((j) => j.name === id).map((j) => j.id);
    throw new UserInputError(
      'JOB_NOT_FOUND',
      `--jobs ${id}: no job has that id in job store ${locator}` +
        (named.length > 0
          ? `; it is a job name, and --jobs takes ids: ${namedUpTo(named, NAMED_IDS)}`
          : jobs.length > 0
            ? ' (toil status --perJob lists the ids of its jobs)'
            : ': it holds no job'),
      { job: id },
    );
  }
  return chosen;
}
