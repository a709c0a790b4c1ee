import { forEachLimited } from '../common/forEachLimited.js';
import { reachableCommits, type JobCommit, type JobSpec } from '../jobstore/jobRecords.js';
import { COMMITS_PREFIX, CorruptJobStoreError, type JobStore } from '../jobstore/jobStore.js';

/** The jobs declared in the records of a store that could be read, and what could not be. */
export interface DeclaredJobs {
  /**
   * Each job's declaration, by job id: from the workflow record (start's jobs) or a job's commit.
   * With no record damaged, a ticketed job not among them was dropped by a checkpoint's rerun.
   */
  readonly specs: ReadonlyMap<string, JobSpec>;
  /** The workflow record could not be read: the jobs `start` declared are not among `specs`. */
  readonly workflowDamaged: boolean;
  /** How many commits could not be read: the jobs their jobs made are not among `specs`. */
  readonly damagedCommits: number;
}

/**
 * The jobs declared in the sound records of `store`: the workflow record and the commits it leads to
 * (see reachableCommits; an orphaned commit's jobs were dropped by a checkpoint's rerun). A damaged
 * record leaves out only the jobs it declared (the caller says what that leaves unknown), for one
 * record of another job must not keep a job's own facts from being told; as a commit it does not
 * lead to may be one it would, every sound commit counts then. Reads no commit when `wanted` is among
 * the workflow record's jobs.
 */
export async function declaredJobs(store: JobStore, wanted?: string): Promise<DeclaredJobs> {
  const specs = new Map<string, JobSpec>();
  const workflow = await store.readWorkflow().catch(damagedAsNull);
  for (const spec of workflow?.jobs ?? []) specs.set(spec.id, spec);
  const workflowDamaged = workflow === null;
  if (wanted !== undefined && specs.has(wanted)) return { specs, workflowDamaged, damagedCommits: 0 };
  const ids: string[] = [];
  for await (const info of store.objects.list(COMMITS_PREFIX))
    ids.push(info.key.slice(COMMITS_PREFIX.length));
  let damagedCommits = 0;
  const commits: JobCommit[] = [];
  await forEachLimited(ids, 16, async (id) => {
    const commit = await store.readCommit(id).catch(damagedAsNull);
    if (commit === null) damagedCommits++;
    else if (commit) commits.push(commit);
  });
  const counted = workflow && damagedCommits === 0 ? reachableCommits(workflow, commits) : commits;
  for (const commit of counted) for (const spec of commit.newJobs) specs.set(spec.id, spec);
  return { specs, workflowDamaged, damagedCommits };
}

/** null for a record that is damaged, as opposed to undefined for one that is not there. */
function damagedAsNull(e: unknown): null {
  if (e instanceof CorruptJobStoreError) return null;
  throw e;
}

/**
 * The damaged records that may declare a job, as the subject of a clause ("the workflow record and
 * 2 commits"), and whether it is one; undefined when none is damaged.
 */
export function damagedDeclarations(
  workflowDamaged: boolean,
  damagedCommits: number,
): { readonly named: string; readonly one: boolean } | undefined {
  const damaged = [
    ...(workflowDamaged ? ['the workflow record'] : []),
    ...(damagedCommits === 0 ? [] : [damagedCommits === 1 ? '1 commit' : `${damagedCommits} commits`]),
  ];
  if (damaged.length === 0) return undefined;
  return { named: damaged.join(' and '), one: (workflowDamaged ? 1 : 0) + damagedCommits === 1 };
}
