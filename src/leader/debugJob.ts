import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { namedUpTo } from '../common/namedUpTo.js';
import type { FailureLog, JobCommit, JobTicket } from '../jobstore/jobRecords.js';
import { LEADER_KEY } from '../jobstore/lease.js';
import {
  COMMITS_PREFIX,
  OUTCOME_KEY,
  TICKETS_PREFIX,
  WORKFLOW_KEY,
  type JobStore,
} from '../jobstore/jobStore.js';
import { damagedDeclarations, declaredJobs, type DeclaredJobs } from './declaredJobs.js';
import {
  failedJobsListed,
  lastRunFailures,
  leaderPassedOverNotice,
  OUTCOME_DAMAGED_UNKNOWN,
  outcomePassedOverNotice,
  unsureFailuresClause,
  type LastRunFailures,
} from './lastRunFailures.js';
import {
  LookupStoppedError,
  notAmongSoundTickets,
  passedOverNotice,
  readTicketSaid,
  scanTickets,
  type TicketScan,
} from './ticketScan.js';
import { workflowStatusAndJobs, type StatusJob, type WorkflowStatus } from './workflowStatus.js';

/** A job `toil debug-job` can run: one the leader wrote a ticket for (it was issued at least once). */
export interface TicketedJob {
  readonly jobId: string;
  readonly name: string;
}

type FailedJob = WorkflowStatus['failedJobs'][number];

/** How many candidates an error message names before "and N more". */
const NAMED_CANDIDATES = 8;

/**
 * The job `query` names, as Toil's `toil debug-job` picks it: a job id; else a job name matching
 * one job, or several of which exactly one failed for good. Throws a one-line UserInputError
 * naming the candidates otherwise.
 */
export function chooseJob(
  query: string,
  jobs: readonly TicketedJob[],
  failed: readonly FailedJob[],
  locator: string,
): TicketedJob {
  const byId = jobs.find((j) => j.jobId === query);
  if (byId) return byId;
  const named = jobs.filter((j) => j.name === query);
  if (named.length === 1) return named[0]!;
  const failedIds = new Set(failed.map((f) => f.jobId));
  if (named.length > 1) {
    const failedNamed = named.filter((j) => failedIds.has(j.jobId));
    if (failedNamed.length === 1) return failedNamed[0]!;
    const shown = failedNamed.length > 1 ? failedNamed : named;
    throw new UserInputError(
      'JOB_AMBIGUOUS',
      `job name '${query}' matches ${named.length} jobs in job store ${locator}` +
        (failedNamed.length > 1 ? `, ${failedNamed.length} of them failed for good` : '') +
        `: give one of their ids: ${listed(shown.map((j) => j.jobId))}`,
      { name: query, candidates: shown.map((j) => j.jobId) },
    );
  }
  const failedHere = failed.filter((f) => jobs.some((j) => j.jobId === f.jobId));
  const hint =
    failedHere.length > 0
      ? `; failed for good: ${listed(failedHere.map((f) => `${f.name} (${f.jobId})`))}`
      : jobs.length > 0
        ? `; job names: ${listed([...new Set(jobs.map((j) => j.name))].sort())}`
        : '; no job of it has been issued yet';
  throw new UserInputError(
    'JOB_NOT_FOUND',
    `no job named '${query}' or with that id in job store ${locator}${hint}`,
    { job: query },
  );
}

function listed(items: readonly string[]): string {
  return namedUpTo(items, NAMED_CANDIDATES);
}

/** `query` names only jobs a checkpoint's rerun dropped: their tickets are all that is left of them. */
function droppedJobError(query: string, dropped: readonly TicketedJob[], locator: string): UserInputError {
  const [one, ...more] = dropped;
  const named =
    more.length === 0
      ? `job '${one!.name}' (${one!.jobId}) in job store ${locator} was dropped by a rerun of the checkpoint job above it`
      : `job name '${query}' in job store ${locator} names only jobs dropped by a rerun of the checkpoint job above them (${listed(dropped.map((j) => j.jobId))})`;
  return new UserInputError(
    'JOB_NOT_FOUND',
    `${named}: no run of the workflow runs ${more.length === 0 ? 'it' : 'them'} any more, so there is nothing to debug`,
    { job: query },
  );
}

/** Whether the job failed for good in the last run, or why that is unknown. */
export type FailedForGood = boolean | { readonly unknown: string };

/** The job `toil debug-job` was asked for, and its ticket. */
export interface FoundJob {
  readonly ticket: JobTicket;
  readonly failedForGood: FailedForGood;
  /** Said on stderr, a line each: the damaged records of other jobs passed over to find it. */
  readonly notices: readonly string[];
  /** The declarations read to find it, which hold its own (see debugJobInfo). */
  readonly declared: DeclaredJobs;
}

/**
 * Finds the job `query` names among the jobs of the store that have a ticket, and reads its ticket.
 * Reads every ticket only when `query` is not a job id (names are inside the tickets); a damaged
 * one stops the lookup only when its job may be the one asked for. Every commit is read too (none
 * for the id of a job `start` declared), to pass over the jobs a checkpoint's rerun dropped.
 */
export async function findJob(store: JobStore, query: string): Promise<FoundJob> {
  await store.assertExists();
  const ids: string[] = [];
  for await (const info of store.objects.list(TICKETS_PREFIX))
    ids.push(info.key.slice(TICKETS_PREFIX.length));
  // The run's outcome and the leader record only say whether a job failed for good: damaged, they
  // keep no job from being run here (toil status lists them as damaged).
  const failures = await lastRunFailures(store);
  const scan = ids.includes(query) ? await ticketOf(store, query) : await scanTickets(store, ids);
  // A damaged ticket whose job's name is known is a candidate as the others: chosen, its damage is said.
  const jobs = [
    ...[...scan.tickets.values()].map((t) => ({ jobId: t.jobId, name: t.name })),
    ...scan.damaged.flatMap((d) => (d.name === undefined ? [] : [{ jobId: d.jobId, name: d.name }])),
  ];
  // The ticket of a job a checkpoint's rerun dropped stays, and its input may name files that went
  // with it: no such job is a candidate. Which they are is told only when no record that may declare
  // a job is damaged.
  const declared = await declaredJobs(store, ids.includes(query) ? query : undefined);
  const told = damagedDeclarations(declared.workflowDamaged, declared.damagedCommits) === undefined;
  const dropped = told ? jobs.filter((j) => !declared.specs.has(j.jobId)) : [];
  const live = jobs.filter((j) => !dropped.includes(j));
  let chosen: TicketedJob;
  try {
    refuseUnsureChoice(query, live, failures, store.locator);
    chosen = chooseJob(query, live, failures.failed, store.locator);
  } catch (e) {
    if (e instanceof UserInputError && e.code === 'JOB_NOT_FOUND') {
      const unnamed = scan.damaged.filter((d) => d.name === undefined);
      if (unnamed.length > 0) throw notAmongSoundTickets(store.locator, query, unnamed);
      const droppedHere = dropped.filter((j) => j.jobId === query || j.name === query);
      if (droppedHere.length > 0) throw droppedJobError(query, droppedHere, store.locator);
      throw await notFound(store, query, failures, e);
    }
    throw e;
  }
  const damaged = scan.damaged.find((d) => d.jobId === chosen.jobId);
  if (damaged) throw damaged.error;
  const job = `job '${chosen.name}' (${chosen.jobId})`;
  return {
    ticket: scan.tickets.get(chosen.jobId)!,
    failedForGood: failures.outcomeDamage
      ? { unknown: OUTCOME_DAMAGED_UNKNOWN }
      : failures.unsure.some((f) => f.jobId === chosen.jobId)
        ? {
            unknown: `${LEADER_KEY} is damaged: a run's outcome records that it did, and only ${LEADER_KEY} tells whether a leader took the workflow up since`,
          }
        : failures.failed.some((f) => f.jobId === chosen.jobId),
    declared,
    notices: [
      ...(scan.damaged.length > 0 ? [passedOverNotice(store.locator, query, scan.damaged)] : []),
      ...(failures.outcomeDamage ? [outcomePassedOverNotice(store.locator, job)] : []),
      ...(failures.leaderDamage ? [leaderPassedOverNotice(store.locator, failures, chosen.jobId, job)] : []),
    ],
  };
}

/**
 * A name of several jobs picks the one that failed for good. With the run's outcome damaged, which
 * of them failed is unknown: the pick hangs on it for every such name, and the lookup stops saying
 * why. With the leader record damaged, a job a run's outcome names failed may since have been
 * taken up again: where the outcome names one of them, the pick hangs on that record, and the
 * lookup stops saying why. Where it names none or several of them, the name is ambiguous either
 * way, as chooseJob says.
 */
function refuseUnsureChoice(
  query: string,
  jobs: readonly TicketedJob[],
  failures: LastRunFailures,
  locator: string,
): void {
  if (jobs.some((j) => j.jobId === query)) return;
  const named = jobs.filter((j) => j.name === query);
  if (failures.outcomeDamage && named.length > 1)
    throw new LookupStoppedError(
      locator,
      failures.outcomeDamage,
      `job name '${query}' matches ${named.length} jobs, and which to pick cannot be told: only the run's outcome (${OUTCOME_KEY}) records which of them failed for good; give one of their ids: ${listed(named.map((j) => j.jobId))}`,
    );
  if (!failures.leaderDamage) return;
  const unsure = named.filter((j) => failures.unsure.some((f) => f.jobId === j.jobId));
  if (named.length < 2 || unsure.length !== 1) return;
  throw new LookupStoppedError(
    locator,
    failures.leaderDamage,
    `job name '${query}' matches ${named.length} jobs, and which to pick cannot be told: a run's outcome records one of them, ${unsure[0]!.jobId}, as failed for good, and only ${LEADER_KEY} tells whether a leader took the workflow up since; give one of their ids: ${listed(named.map((j) => j.jobId))}`,
  );
}

/** The ticket of job `id` alone, as a scan of one: a damaged one stops the lookup, being the job's own. */
async function ticketOf(store: JobStore, id: string): Promise<TicketScan> {
  const ticket = await readTicketSaid(store, id);
  return { tickets: new Map(ticket ? [[id, ticket]] : []), damaged: [] };
}

/**
 * Why no ticket of `query` was found, from the workflow's status: a job the workflow declared but
 * the leader never issued has no ticket to run, said as such rather than that no such job exists
 * (see unissued). Else chooseJob's not-found line, naming the damaged records that may declare the
 * job, and what a damaged leader record leaves unknown of the failures it names.
 */
async function notFound(
  store: JobStore,
  query: string,
  failures: LastRunFailures,
  notFoundError: UserInputError,
): Promise<UserInputError> {
  // The lease's expiry plays no part here: only the jobs are read.
  const { status, jobs } = await workflowStatusAndJobs(store, new RealClock().now());
  const job = jobs.find((j) => j.id === query) ?? jobs.find((j) => j.name === query);
  if (job) return unissued(store.locator, job, status, failures, query);
  const declarations = damagedDeclarations(
    status.damaged.some((d) => d.key === WORKFLOW_KEY),
    status.damaged.filter((d) => d.key.startsWith(COMMITS_PREFIX)).length,
  );
  const clauses = [
    declarations &&
      `${declarations.named} ${declarations.one ? 'is' : 'are'} damaged and may declare it ('toil status ${store.locator}' lists ${declarations.one ? 'it' : 'them'})`,
    unsureFailuresClause(failures),
  ].filter((c): c is string => c !== undefined);
  if (clauses.length === 0) return notFoundError;
  return new UserInputError('JOB_NOT_FOUND', `${notFoundError.message}; ${clauses.join('; ')}`, {
    job: query,
  });
}

/**
 * A job the workflow declared but the leader never issued: either it waits for the jobs before it,
 * or it was ready when its leader stopped (killed before issuing it: a restart issues it), or it
 * failed for good before a ticket was written (its input or requirements could not be made).
 */
function unissued(
  locator: string,
  job: StatusJob,
  status: WorkflowStatus,
  failures: LastRunFailures,
  query: string,
): UserInputError {
  const { failed } = failures;
  const named = `job '${job.name}' (${job.id}) in job store ${locator}`;
  const restart = `'toil run ${status.workflowFile ?? 'WORKFLOW'} ${locator} --restart'`;
  const unsure = unsureFailuresClause(failures);
  const failedForGood =
    failed.length > 0 ? `; failed for good: ${failedJobsListed(failed)}` : unsure ? `; ${unsure}` : '';
  const ownFailure = failed.find((f) => f.jobId === job.id);
  return new UserInputError(
    'JOB_NOT_FOUND',
    job.state === 'ready'
      ? `${named} is ready to run but was never issued (its leader stopped before issuing it), so there is nothing to run yet; ${restart} runs it`
      : job.state === 'failed' && ownFailure
        ? `${named} failed for good before it was issued, so there is nothing to run: ${ownFailure.error}`
        : `${named} was never issued (it waits for the jobs before it), so there is nothing to run yet` +
          (failedForGood || '; run the workflow on, with --restart'),
    { job: query },
  );
}

/**
 * What `toil debug-job --printJobInfo` shows: the ticket, whether it is a checkpoint job, the
 * commit if the job ran, its failed attempts.
 */
export interface DebugJobInfo {
  readonly ticket: JobTicket;
  /**
   * Toil's checkpoint flag, from the job's declaration (the ticket has no graph in it): the
   * workflow record for a job `start` declared, else the commit of the job that created it; when
   * neither could be read, why it is unknown.
   */
  readonly checkpoint: boolean | { readonly unknown: string };
  readonly commit: JobCommit | undefined;
  readonly failedAttempts: readonly FailureLog[];
  readonly failedForGood: FailedForGood;
}

/**
 * What the store holds of the job: its own commit must be sound (it is what says whether the job
 * ran), while damaged records of other jobs only leave unknown what they alone could tell.
 */
export async function debugJobInfo(
  store: JobStore,
  ticket: JobTicket,
  failedForGood: FailedForGood,
  declared: DeclaredJobs,
): Promise<DebugJobInfo> {
  const keys: string[] = [];
  for await (const info of store.objects.list(`logs/${ticket.jobId}/`)) keys.push(info.key);
  const logs = await Promise.all(
    keys.map((k) => store.readFailureLog(ticket.jobId, Number(k.split('/')[2])).catch(() => undefined)),
  );
  // Damaged, its own commit stops the command: the others were only read to find the job.
  const commit = await store.readCommit(ticket.jobId);
  return {
    ticket,
    checkpoint: checkpointOf(store.locator, declared, ticket.jobId),
    commit,
    failedAttempts: logs
      .filter((l): l is FailureLog => l !== undefined)
      .sort((a, b) => a.attempt - b.attempt),
    failedForGood,
  };
}

/**
 * Whether the job was declared a checkpoint: in the workflow record when `start` declared it, else
 * among the new jobs of the commit that created it (which the ticket does not name: findJob read
 * every commit). Not found in the sound records, it is unknown: the damaged ones, if any, may hold it.
 */
function checkpointOf(
  locator: string,
  { specs, workflowDamaged, damagedCommits }: DeclaredJobs,
  jobId: string,
): DebugJobInfo['checkpoint'] {
  const spec = specs.get(jobId);
  if (spec) return spec.checkpoint === true;
  const damaged = damagedDeclarations(workflowDamaged, damagedCommits);
  if (!damaged) return { unknown: 'its declaration was not found in the job store' };
  return {
    unknown: `${damaged.named} ${damaged.one ? 'is' : 'are'} damaged and may hold its declaration; 'toil status ${locator}' lists ${damaged.one ? 'it' : 'them'}`,
  };
}
