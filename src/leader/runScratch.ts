import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { UserInputError } from '../common/errors.js';
import { markOwned, sweepAbandonedDirs } from '../common/ownedDirs.js';

/** The prefix of a leader's scratch directory under `--workDir`. */
export const SCRATCH_PREFIX = 'toil-ts-bundle-';

/**
 * Makes the work directory if missing (as Toil's leader does); one that cannot be (a file is in
 * the way, no permission) is the user's setting to fix, named as such, not an internal error.
 */
export async function ensureWorkDir(workDir: string): Promise<void> {
  try {
    await mkdir(workDir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR' ? 'it is not a directory' : `cannot make it (${code})`;
    throw new UserInputError(
      'BAD_FLAG',
      `work directory ${workDir} (--workDir, TOIL_WORKDIR or TOIL_WORKDIR_OVERRIDE): ${why}`,
      { workDir },
    );
  }
}

/**
 * Makes this leader's scratch directory under `workDir` (created if missing), marked with this host
 * and pid. The run removes it when it ends; the mark is for when it cannot (kill -9, the OOM killer,
 * a lost machine), so that `sweepAbandonedScratch` can remove it later.
 */
export async function makeRunScratch(workDir: string): Promise<string> {
  await ensureWorkDir(workDir);
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
