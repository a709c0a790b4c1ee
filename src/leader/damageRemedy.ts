import {
  FRAMEWORK_ID_KEY,
  LOGS_PREFIX,
  OUTCOME_KEY,
  RUNNING_KEY,
  SERVICE_RECORD_REMEDY,
  SERVICES_PREFIX,
  SLURM_KEY,
  TICKETS_PREFIX,
  type JobStore,
} from '../jobstore/jobStore.js';
import { shellQuote } from '../common/shellQuote.js';

/**
 * What becomes of damaged object `key` when nobody restores it, for the objects that need no
 * restore; undefined for those that do (a commit, the workflow record, the module, a file: nothing
 * else holds what they hold). Telling the user to restore, or to `toil clean` and start again, for
 * a record the next leader writes anyway would have them throw a workflow's progress away.
 * `jobRan` says whether the job of a ticket has run (its commit is in the store); without it (no
 * job graph: the workflow record is damaged) a ticket is not judged. `whereIs` gives the object's
 * path or S3 URI, for the records no run writes again: deleting one is all that ends its report.
 */
export function damageRemedy(
  key: string,
  jobRan?: (jobId: string) => boolean,
  whereIs?: (key: string) => string,
): string | undefined {
  const deleteToClear = whereIs
    ? `; no run writes it again: delete it to clear this report (${removal(whereIs(key))})`
    : '';
  if (key === OUTCOME_KEY)
    return "nothing to restore: it only says how the last leader's run ended, and the next run ('toil run WORKFLOW JOBSTORE --restart') writes it again";
  if (key === RUNNING_KEY)
    return 'nothing to restore: it only says what a leader runs now, and a leader running the workflow writes it again';
  if (key === FRAMEWORK_ID_KEY || key === SLURM_KEY)
    return "nothing to restore: the next leader writes it again; until then 'toil clean' and 'toil kill --force' cannot cancel the jobs a dead leader left";
  if (key.startsWith(TICKETS_PREFIX)) {
    if (!jobRan) return undefined;
    return jobRan(key.slice(TICKETS_PREFIX.length))
      ? `nothing to restore for the workflow: its job ran; only 'toil debug-job' of that job reads it, and cannot run the job without it${deleteToClear}`
      : 'nothing to restore: the leader writes it again each time it issues the job';
  }
  if (key.startsWith(SERVICES_PREFIX)) return SERVICE_RECORD_REMEDY;
  if (key.startsWith(LOGS_PREFIX))
    return `nothing to restore for the workflow: it is the log of one failed attempt, which only 'toil status --printLogs' and 'toil debug-job' show${deleteToClear}`;
  return undefined;
}

/**
 * damageRemedy of `key` in `store`, naming where the object is: what `toil status` lists after a
 * damaged object, and what `toil debug-job` says when one stops it.
 */
export function storeDamageRemedy(
  store: JobStore,
  key: string,
  jobRan?: (jobId: string) => boolean,
): string | undefined {
  return damageRemedy(key, jobRan, (k) => store.objects.whereIs(k));
}

/** The command that deletes an object where `whereIs` says it is. */
function removal(where: string): string {
  return where.startsWith('s3://') ? `aws s3 rm ${shellQuote(where)}` : `rm ${shellQuote(where)}`;
}
