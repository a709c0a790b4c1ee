import { access, constants, mkdtemp, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserInputError } from '../common/errors.js';
import { markOwned, sweepAbandonedDirs } from '../common/ownedDirs.js';

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
 * Removes the scratch directories under `workDir` whose leader is gone from this host (see
 * `sweepAbandonedDirs` for what is kept). Returns the paths removed.
 */
export function sweepAbandonedScratch(workDir: string): Promise<string[]> {
  return sweepAbandonedDirs(workDir, SCRATCH_PREFIX);
}
