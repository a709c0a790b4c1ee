import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { namedUpTo } from '../common/namedUpTo.js';
import type { FailureLog, JobCommit, JobSpec, JobTicket } from '../jobstore/jobRecords.js';
import {
  commitKey,
  CorruptJobStoreError,
  OUTCOME_KEY,
  TICKETS_PREFIX,
  type JobStore,
} from '../jobstore/jobStore.js';
import { storeDamageRemedy } from './damageRemedy.js';
import { jobsFailedForGood, workflowStatusAndJobs, type WorkflowStatus } from './workflowStatus.js';

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

/**
 * Finds the job `query` names among the jobs of the store that have a ticket, and reads its ticket.
 * Reads every ticket only when `query` is not a job id (names are inside the tickets).
 */
export async function findJob(
  store: JobStore,
  query: string,
): Promise<{ ticket: JobTicket; failedForGood: FailedJob | undefined }> {
  await store.assertExists();
  const ids: string[] = [];
  for await (const info of store.objects.list(TICKETS_PREFIX))
    ids.push(info.key.slice(TICKETS_PREFIX.length));
  // The run's outcome only says whether the job failed for good: one that cannot be read keeps
  // no job from being run here (toil status lists it as damaged).
  const failed = await jobsFailedForGood(store).catch((e: unknown) => {
    if (e instanceof CorruptJobStoreError && e.key === OUTCOME_KEY) return [];
    throw e;
  });
  const tickets = new Map<string, JobTicket>();
  const readTicket = async (id: string): Promise<void> => {
    const t = await store.readTicket(id).catch(async (e: unknown) => {
      throw await withTicketRemedy(store, e);
    });
    if (t) tickets.set(id, t);
  };
  if (ids.includes(query)) await readTicket(query);
  else await forEachLimited(ids, 16, readTicket);
  const jobs = [...tickets.values()].map((t) => ({ jobId: t.jobId, name: t.name }));
  let chosen: TicketedJob;
  try {
    chosen = chooseJob(query, jobs, failed, store.locator);
  } catch (e) {
    if (e instanceof UserInputError && e.code === 'JOB_NOT_FOUND') await refuseUnissued(store, query, failed);
    throw e;
  }
  return {
    ticket: tickets.get(chosen.jobId)!,
    failedForGood: failed.find((f) => f.jobId === chosen.jobId),
  };
}

/**
 * A damaged ticket stops debug-job (its job cannot be run, nor told apart by name from the others)
 * but is said as `toil status` lists it: a ticket is a record a run writes again or, once its job
 * ran, one nothing needs and deleting it is all that is left to do. Restoring it, or `toil clean`,
 * would be advice to throw the workflow's progress away.
 */
async function withTicketRemedy(store: JobStore, e: unknown): Promise<unknown> {
  if (!(e instanceof CorruptJobStoreError) || !e.key?.startsWith(TICKETS_PREFIX)) return e;
  const ran = (await store.objects.head(commitKey(e.key.slice(TICKETS_PREFIX.length)))) !== undefined;
  const remedy = storeDamageRemedy(store, e.key, () => ran);
  return remedy === undefined ? e : new CorruptJobStoreError(store.locator, e.reason, e.key, remedy);
}

/**
 * A job the workflow declared but the leader never issued has no ticket to run: said as such, and
 * why, rather than that no such job exists. Either it waits for the jobs before it, or it was ready
 * when its leader stopped (killed before issuing it: a restart issues it), or it failed for good
 * before a ticket was written (its input or requirements could not be made).
 */
async function refuseUnissued(store: JobStore, query: string, failed: readonly FailedJob[]): Promise<void> {
  // The lease's expiry plays no part here: only the jobs are read.
  const { status, jobs } = await workflowStatusAndJobs(store, new RealClock().now());
  const job = jobs.find((j) => j.id === query) ?? jobs.find((j) => j.name === query);
  if (!job) return;
  const named = `job '${job.name}' (${job.id}) in job store ${store.locator}`;
  const restart = `'toil run ${status.workflowFile ?? 'WORKFLOW'} ${store.locator} --restart'`;
  const failedForGood =
    failed.length > 0 ? `; failed for good: ${listed(failed.map((f) => `${f.name} (${f.jobId})`))}` : '';
  const ownFailure = failed.find((f) => f.jobId === job.id);
  throw new UserInputError(
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
   * workflow record for a job `start` declared, else the commit of the job that created it;
   * undefined when neither could be read.
   */
  readonly checkpoint: boolean | undefined;
  readonly commit: JobCommit | undefined;
  readonly failedAttempts: readonly FailureLog[];
  readonly failedForGood: boolean;
}

export async function debugJobInfo(
  store: JobStore,
  ticket: JobTicket,
  failedForGood: boolean,
): Promise<DebugJobInfo> {
  const keys: string[] = [];
  for await (const info of store.objects.list(`logs/${ticket.jobId}/`)) keys.push(info.key);
  const logs = await Promise.all(
    keys.map((k) => store.readFailureLog(ticket.jobId, Number(k.split('/')[2])).catch(() => undefined)),
  );
  const spec = await declaredSpec(store, ticket.jobId);
  return {
    ticket,
    checkpoint: spec === undefined ? undefined : spec.checkpoint === true,
    commit: await store.readCommit(ticket.jobId),
    failedAttempts: logs
      .filter((l): l is FailureLog => l !== undefined)
      .sort((a, b) => a.attempt - b.attempt),
    failedForGood,
  };
}

/**
 * The job as it was declared: in the workflow record when `start` declared it, else among the new
 * jobs of the commit that created it (which the ticket does not name: every commit is read).
 */
async function declaredSpec(store: JobStore, jobId: string): Promise<JobSpec | undefined> {
  const declared = (await store.readWorkflow())?.jobs.find((j) => j.id === jobId);
  if (declared) return declared;
  for (const commit of (await store.readAllCommits()).values()) {
    const spec = commit.newJobs.find((j) => j.id === jobId);
    if (spec) return spec;
  }
  return undefined;
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
