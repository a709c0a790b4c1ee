import type { FailureLog, RunOutcomeRecord, WorkflowRecord } from '../jobstore/jobRecords.js';
import { CorruptJobStoreError, DAMAGED_WORKFLOW, JobStoreExistsError } from '../jobstore/errors.js';
import { describeHolder, LEADER_KEY, localHolder, provablyGone } from '../jobstore/lease.js';
import { currentLeader, killOfLastLeader } from './killRequest.js';
import { OUTCOME_KEY, WORKFLOW_KEY, type DamagedObject, type JobStore } from '../jobstore/jobStore.js';
import { JobGraph, type JobView } from './jobGraph.js';
import { storeDamageRemedy } from './damageRemedy.js';

export interface WorkflowStatus {
  readonly locator: string;
  readonly workflowId: string | undefined;
  readonly workflowFile: string | undefined;
  readonly createdAt: number | undefined;
  /** Jobs declared so far, jobs that ran (committed), and jobs that may run now. */
  readonly jobs: { readonly known: number; readonly completed: number; readonly ready: number };
  /** Every job ran and the last leader ran the workflow's finish, recording its success. */
  readonly finished: boolean;
  /**
   * Every job ran, but the workflow's finish did not complete (the last leader killed, its machine
   * lost, the finish failed, or a stop abandoned it): `toil run … --restart` runs the finish.
   */
  readonly finishPending?: true;
  /**
   * The last leader's run ended with jobs failed for good (and no leader has resumed it since):
   * the workflow stopped; `toil run … --restart` gives those jobs new tries.
   */
  readonly failed: boolean;
  /** The jobs that failed for good in that run, with the first line of each one's error. */
  readonly failedJobs: RunOutcomeRecord['failedJobs'];
  readonly failedAttempts: number;
  /** Objects that fail their length/SHA-256 check or do not parse; the graph is built without them. */
  readonly damaged: readonly StatusDamagedObject[];
  /** The leader holding the store now (its lease neither released nor expired), as a person reads it. */
  readonly leader?: string;
  /**
   * No leader holds the store, and the last one was stopped by `toil kill`: who asked, and what
   * ran the workflow (a leader daemon resumes it when it is submitted again; a run of its own, or
   * a `toil run --provisioner aws`, with `--restart`).
   */
  readonly stoppedByKill?: {
    readonly host: string;
    readonly pid: number;
    readonly at: number;
    readonly leader: 'daemon' | 'run';
  };
}

/**
 * A damaged object, with `remedy` on one that needs no restore: what becomes of it (the next
 * leader writes it again, or only one command reads it). One without needs restoring.
 */
export interface StatusDamagedObject extends DamagedObject {
  readonly remedy?: string;
}

/**
 * A job as `toil status --perJob`/`--printDot`/`--printChildren` show it. `completed`: it ran (its commit is in
 * the store); `failed`: the last run failed it for good; `ready`: it may run now (or is running: the
 * store does not say which); `waiting`: declared, waiting for its predecessors.
 */
export interface StatusJob extends Omit<JobView, 'state' | 'services'> {
  readonly state: 'completed' | 'failed' | 'ready' | 'waiting';
  /** Only on a job that starts services: most start none, and `--json` prints every job. */
  readonly services?: readonly string[];
}

/** What `toil status` reports: the job graph rebuilt from the job store, as a restart would. */
export async function workflowStatus(store: JobStore, now: number): Promise<WorkflowStatus> {
  return (await workflowStatusAndJobs(store, now)).status;
}

/** The same report and every job the rebuilt graph knows, each after the job that declared it. */
export async function workflowStatusAndJobs(
  store: JobStore,
  /** For whether the leader's lease has expired (ms since the epoch). */
  now: number,
): Promise<{ status: WorkflowStatus; jobs: readonly StatusJob[] }> {
  await store.assertExists();
  const damaged = await store.findDamaged();
  const damagedKeys = new Set(damaged.map((d) => d.key));
  const workflow = damagedKeys.has(WORKFLOW_KEY) ? undefined : await store.readWorkflow();
  // A store without its workflow record is either one whose leader is still in the workflow's
  // start() (it writes the record once start() returns) or one whose start() was interrupted.
  const leader = damagedKeys.has(LEADER_KEY) ? undefined : await liveLeader(store, now);
  if (!workflow) {
    const status: WorkflowStatus = {
      locator: store.locator,
      workflowId: undefined,
      workflowFile: undefined,
      createdAt: undefined,
      jobs: { known: 0, completed: 0, ready: 0 },
      finished: false,
      failed: false,
      failedJobs: [],
      failedAttempts: 0,
      damaged: withRemedies(store, damaged),
      ...(leader ? { leader: leader.description } : {}),
    };
    return { status, jobs: [] };
  }
  const { graph, failedJobs, failedIds, pending } = await replayedGraph(store, workflow, damagedKeys);
  let failedAttempts = 0;
  for await (const _ of store.objects.list('logs/')) failedAttempts++;
  const counts = graph.counts();
  const remedied = withRemedies(store, damaged, (jobId) =>
    ['ran', 'done'].includes(graph.state(jobId) ?? ''),
  );
  const kill = leader || damagedKeys.has(LEADER_KEY) ? undefined : await killOfLastLeader(store);
  // Every job having run is not the end: the leader then runs the workflow's finish and records
  // its success. One stopped in between (`toil kill`, -9, its machine lost) recorded none, and a
  // --restart runs the finish.
  const allRan = graph.isDone() && failedJobs.length === 0;
  const finished = allRan && (await lastLeaderSucceeded(store, damagedKeys));
  const status: WorkflowStatus = {
    locator: store.locator,
    workflowId: workflow.workflowId,
    workflowFile: workflow.workflowFile,
    createdAt: workflow.createdAt,
    jobs: { known: counts.known, completed: counts.ran, ready: pending },
    finished,
    ...(allRan && !finished ? { finishPending: true as const } : {}),
    failed: failedJobs.length > 0,
    failedJobs,
    failedAttempts,
    damaged: remedied,
    ...(leader ? { leader: leader.description } : {}),
    ...(kill
      ? {
          stoppedByKill: {
            host: kill.host,
            pid: kill.pid,
            at: kill.requestedAt,
            leader: kill.daemon && !kill.daemon.run ? ('daemon' as const) : ('run' as const),
          },
        }
      : {}),
  };
  return { status, jobs: graph.jobs().map((j) => statusJob(j, failedIds)) };
}

/**
 * The leader holding `store` at `now`: none when no lease was taken, it was released, or it has
 * expired (a leader gone without releasing it), or its holder is provably dead (this machine, its
 * pid free: a leader killed with -9 here is said gone at once, not a lease period later). The
 * expiry is on the holder's clock, so a leader on another machine is judged within that machine's
 * clock skew.
 */
export async function liveLeader(
  store: JobStore,
  now: number,
): Promise<{ description: string; generation: number } | undefined> {
  const lease = await currentLeader(store);
  if (!lease || (lease.expiresAt !== undefined && lease.expiresAt < now)) return undefined;
  if (provablyGone(lease.holder, localHolder())) return undefined;
  return { description: describeHolder(lease.holder, lease.generation), generation: lease.generation };
}

function withRemedies(
  store: JobStore,
  damaged: readonly DamagedObject[],
  jobRan?: (jobId: string) => boolean,
): StatusDamagedObject[] {
  return damaged.map((d) => {
    const remedy = storeDamageRemedy(store, d.key, jobRan);
    return remedy ? { ...d, remedy } : d;
  });
}

function statusJob(job: JobView, failedIds: ReadonlySet<string>): StatusJob {
  const { id, name, children, followOns, services, service } = job;
  const state =
    job.state === 'ran' || job.state === 'done'
      ? 'completed'
      : job.state === 'failed' || failedIds.has(id)
        ? 'failed'
        : job.state;
  return {
    id,
    name,
    state,
    children,
    followOns,
    ...(services.length > 0 ? { services } : {}),
    ...(service ? { service } : {}),
  };
}

/**
 * The jobs the last leader's run failed for good, unless a leader has resumed the workflow since.
 * A damaged run outcome or leader record (among `damaged`, keys `toil status` lists) tells
 * nothing of them: none are named.
 */
export async function jobsFailedForGood(
  store: JobStore,
  damaged: ReadonlySet<string> = new Set(),
): Promise<WorkflowStatus['failedJobs']> {
  if (damaged.has(OUTCOME_KEY) || damaged.has(LEADER_KEY)) return [];
  const [outcome, generation] = await Promise.all([store.readOutcome(), store.readGeneration()]);
  return outcome?.generation === generation && outcome.status === 'failed' ? outcome.failedJobs : [];
}

/**
 * Whether the last leader's run recorded its success (written after the workflow's finish ran),
 * and no leader has taken the workflow up since. With the leader record damaged, which leader was
 * last cannot be told: a recorded success is taken at its word. A damaged outcome is no success.
 */
async function lastLeaderSucceeded(store: JobStore, damaged: ReadonlySet<string>): Promise<boolean> {
  if (damaged.has(OUTCOME_KEY)) return false;
  const outcome = await store.readOutcome();
  if (outcome?.status !== 'succeeded') return false;
  return damaged.has(LEADER_KEY) || outcome.generation === (await store.readGeneration());
}

/**
 * The log of every failed attempt kept in the store (`logs/<jobId>/<attempt>`), in key order, so
 * one job's attempts come together; damaged ones are left out (`toil status` lists those).
 */
export async function failureLogs(store: JobStore): Promise<FailureLog[]> {
  const logs: FailureLog[] = [];
  for await (const info of store.objects.list('logs/')) {
    const [, jobId, attempt] = info.key.split('/');
    const log = await store.readFailureLog(jobId!, Number(attempt)).catch(() => undefined);
    if (log) logs.push(log);
  }
  return logs;
}

/**
 * The workflow's job graph with every commit in the store applied, the jobs the last run failed
 * for good, and how many jobs are ready to run. A job failed for good is released but does not
 * run until a --restart: it is counted as failed, not as ready.
 */
async function replayedGraph(
  store: JobStore,
  workflow: WorkflowRecord,
  damagedKeys: ReadonlySet<string>,
): Promise<{
  graph: JobGraph;
  failedJobs: WorkflowStatus['failedJobs'];
  failedIds: ReadonlySet<string>;
  pending: number;
}> {
  const [commits, failedJobs] = await Promise.all([
    store.readAllCommits(16, damagedKeys),
    jobsFailedForGood(store, damagedKeys),
  ]);
  const failedIds = new Set(failedJobs.map((j) => j.jobId));
  const graph = new JobGraph(workflow.jobs, workflow.rootJobId);
  let pending = 0;
  for (let ready = graph.takeReady(); ready.length > 0; ready = graph.takeReady()) {
    for (const id of ready) {
      const c = commits.get(id);
      if (c) graph.applyCommit(c);
      else if (!failedIds.has(id)) pending++;
    }
  }
  return { graph, failedJobs, failedIds, pending };
}

/**
 * Whether every job of the store's workflow has run and none failed for good, so what is left of
 * it is the finish: from the workflow record and the commits, not every object `toil status`
 * checks. False when the records cannot be read.
 */
export async function everyJobRan(store: JobStore): Promise<boolean> {
  try {
    const workflow = await store.readWorkflow();
    if (!workflow) return false;
    const { graph, failedJobs } = await replayedGraph(store, workflow, new Set());
    return graph.isDone() && failedJobs.length === 0;
  } catch {
    return false;
  }
}

/**
 * What a job store a new run found already there holds, as a clause for its refusal ("it holds
 * …"), from the store's few records rather than every job's commit, so a large `aws:` store
 * answers at once. Undefined when the records cannot be read (the refusal stands without it).
 */
export async function heldWorkflow(store: JobStore): Promise<string | undefined> {
  try {
    const [workflow, outcome, generation, kill] = await Promise.all([
      store.readWorkflow(),
      store.readOutcome(),
      store.readGeneration(),
      killOfLastLeader(store),
    ]);
    if (!workflow) return "no workflow yet: a run stopped before the workflow's start() returned";
    // The outcome of the last run that led it; a run since (a --restart) that ended without one
    // leaves the workflow unfinished, whatever an earlier run recorded.
    const last = outcome?.generation === generation ? outcome : undefined;
    if (last?.status === 'succeeded') return 'a workflow that finished';
    if (last?.status === 'failed')
      return `a workflow that did not finish: ${last.failedJobs.length} job(s) failed for good`;
    if (kill)
      return `a workflow stopped by toil kill (from ${kill.host}, at ${new Date(kill.requestedAt).toISOString()})`;
    return 'a workflow that did not finish';
  } catch (e) {
    // Said, for --restart would be refused too: the way out is a restore or a clean.
    if (e instanceof CorruptJobStoreError)
      return `${DAMAGED_WORKFLOW}: ${e.key === undefined ? e.reason : `object ${e.key} ${e.reason}`}`;
    return undefined;
  }
}

/** A new run's refusal of a store that exists: who holds it, if a leader does, else what it holds. */
export async function storeExistsError(store: JobStore, now: number): Promise<JobStoreExistsError> {
  const holder = (await liveLeader(store, now))?.description;
  return new JobStoreExistsError(store.locator, holder, holder ? undefined : await heldWorkflow(store));
}
