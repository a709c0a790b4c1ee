import { existsSync, rmdirSync, rmSync } from 'node:fs';
import { access, constants, mkdtemp, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserInputError } from '../common/errors.js';
import {
  markedDirsSync,
  markOwned,
  sweepAbandonedDirs,
  sweepAbandonedDirsSync,
} from '../common/ownedDirs.js';
import { JOB_DIR_PREFIX, JOB_SCRATCH_DIR } from '../workflow/workDirLayout.js';

/** The prefix of a leader's scratch directory under `--workDir`. */
export const SCRATCH_PREFIX = 'toil-ts-bundle-';

/**
 * Checks that the work directory exists and is a directory this user may write in (`read`: may
 * look in). As in Toil, which refuses a `--workDir` or `TOIL_WORKDIR` that does not exist, a
 * missing one is not made: a mistyped path would otherwise become a new directory, silently, and
 * the jobs' scratch (and an autoscaled run's record of its nodes) would go there. One that cannot
 * be used is the user's setting to fix, named with `source` (where it came from), not an internal
 * error.
 */
export async function checkWorkDir(
  workDir: string,
  source = '--workDir, TOIL_WORKDIR or TOIL_WORKDIR_OVERRIDE',
  use: 'write' | 'read' = 'write',
): Promise<void> {
  let why: string | undefined;
  try {
    if (!(await stat(workDir)).isDirectory()) why = 'it is not a directory';
    else await access(workDir, use === 'write' ? constants.W_OK | constants.X_OK : constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    why =
      code === 'ENOENT'
        ? 'it does not exist (expected an existing directory: make it first)'
        : code === 'ENOTDIR'
          ? 'it is not a directory'
          : `cannot ${use === 'write' ? 'write' : 'look'} in it (${code})`;
  }
  if (why !== undefined)
    throw new UserInputError('BAD_FLAG', `work directory ${workDir} (${source}): ${why}`, {
      workDir,
      source,
    });
}

/**
 * Makes this leader's scratch directory under `workDir` (which must exist), marked with this host
 * and pid. The run removes it when it ends; the mark is for when it cannot (kill -9, the OOM killer,
 * a lost machine), so that `sweepAbandonedScratch` can remove it later.
 */
export async function makeRunScratch(workDir: string): Promise<string> {
  await checkWorkDir(workDir);
  const dir = await mkdtemp(join(workDir, SCRATCH_PREFIX));
  await markOwned(dir);
  return dir;
}

/**
 * Removes the scratch directories under `workDir` whose leader is gone from this host, and the
 * jobs' directories whose worker is (see `sweepAbandonedDirs` for what is kept): a worker killed
 * mid-job cannot remove its own. Returns the paths removed.
 */
export async function sweepAbandonedScratch(workDir: string): Promise<string[]> {
  return [
    ...(await sweepAbandonedDirs(workDir, SCRATCH_PREFIX)),
    ...(await sweepAbandonedJobScratch(workDir)),
  ];
}

/** Removes the jobs' directories under `workDir` whose worker is gone from this host. */
export function sweepAbandonedJobScratch(workDir: string): Promise<string[]> {
  return sweepAbandonedDirs(join(workDir, JOB_SCRATCH_DIR), JOB_DIR_PREFIX);
}

/**
 * What a leader exiting at once (a second Ctrl-C) removes of its own under `workDir`, its workers
 * (`killed`) ended first: its scratch `scratch`, the files `alsoOwned` (its cached module), and
 * the jobs' directories whose worker is gone, which its killed workers' are. Synchronous, its
 * event loop running no more, and bounded by `deadline`. Returns what it left, and where.
 */
export function removeRunScratchNow(
  workDir: string,
  scratch: string,
  alsoOwned: readonly string[],
  deadline: number,
  killed: ReadonlySet<number>,
): string[] {
  for (const path of [scratch, ...alsoOwned]) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Said below, as left.
    }
  }
  // Emptied, a shared directory goes too, as at a run's end (ENOTEMPTY: another run's files are in it).
  for (const path of alsoOwned) tryRmdir(dirname(path));
  const jobs = join(workDir, JOB_SCRATCH_DIR);
  sweepAbandonedDirsSync(jobs, JOB_DIR_PREFIX, deadline);
  const left = markedDirsSync(jobs, JOB_DIR_PREFIX).filter((d) => d.owner && killed.has(d.owner.pid));
  if (left.length === 0) tryRmdir(jobs);
  return [
    ...[scratch, ...alsoOwned].filter((p) => existsSync(p)),
    ...(left.length === 0
      ? []
      : [
          `the scratch of ${left.length} job(s) whose worker had not ended, in ${jobs}: ${left.map((d) => d.dir.slice(jobs.length + 1)).join(', ')}`,
        ]),
  ];
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty, or gone.
  }
}
