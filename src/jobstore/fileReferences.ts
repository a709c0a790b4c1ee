import { reachableCommits, type JobCommit, type Json, type WorkflowRecord } from './jobRecords.js';

const FILE_ID_RE = /^files\/(?:([0-9a-f-]{36})\/(\d{1,15})\/)?[0-9a-f-]{36}(\/[A-Za-z0-9._-]{1,100})?$/;

/**
 * Whether `value` is a file ID of a job store: `files/<uuid>`, or with the name it was written
 * from, either of them under `<jobId>/<attempt>/` when a job's attempt wrote it.
 */
export function isFileId(value: string): boolean {
  return FILE_ID_RE.test(value);
}

/** The attempt that wrote file `fileId`, when its ID says (see JobStore.newFileId). */
export function writerOf(fileId: string): { jobId: string; attempt: number } | undefined {
  const m = FILE_ID_RE.exec(fileId);
  return m?.[1] === undefined ? undefined : { jobId: m[1], attempt: Number(m[2]) };
}

/**
 * The files the workflow's records name and no job deleted, each with who names it first, as a
 * person reads it: a job's input (as the workflow's start or a committed job declared it) or a
 * committed job's return value. Such a file must be in the store: a job yet to run, a checkpoint
 * rerun or the workflow's finish may read it. Only the commits the records lead to name any (see
 * reachableCommits); a deletion any commit records stands.
 */
export function referencedFiles(
  workflow: WorkflowRecord,
  commits: readonly JobCommit[],
): Map<string, string> {
  const deleted = new Set(commits.flatMap((c) => c.deletedFiles));
  const reached = reachableCommits(workflow, commits);
  const names = new Map<string, string>(workflow.jobs.map((j) => [j.id, j.name]));
  for (const c of reached) for (const j of c.newJobs) names.set(j.id, j.name);
  const job = (id: string): string => `job '${names.get(id) ?? '?'}' (${id})`;
  const refs = new Map<string, string>();
  const note = (value: Json, who: string): void => {
    for (const id of fileIdsIn(value)) if (!deleted.has(id) && !refs.has(id)) refs.set(id, who);
  };
  for (const j of workflow.jobs)
    note(j.input, `${job(j.id)} takes it as input, as the workflow's start declared it`);
  const ordered = reached.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  for (const c of ordered) {
    note(c.returnValue, `committed ${job(c.jobId)} returned it`);
    for (const j of c.newJobs)
      note(j.input, `${job(j.id)} takes it as input, as committed ${job(c.jobId)} declared it`);
  }
  return refs;
}

function* fileIdsIn(value: Json): Generator<string> {
  if (typeof value === 'string') {
    if (isFileId(value)) yield value;
  } else if (Array.isArray(value)) for (const v of value) yield* fileIdsIn(v);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) yield* fileIdsIn(v);
}
