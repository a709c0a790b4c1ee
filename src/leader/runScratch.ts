import { access, constants, mkdir, mkdtemp, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserInputError } from '../common/errors.js';
import { markOwned, sweepAbandonedDirs } from '../common/ownedDirs.js';

/** The prefix of a leader's scratch directory under `--workDir`. */
export const SCRATCH_PREFIX = 'toil-ts-bundle-';

/**
 * Makes the work directory if missing (as Toil's leader does) and checks this user may write in
 * it; one that cannot be used (a file in the way, no permission) is the user's setting to fix,
 * named with `source` (where it came from), not an internal error.
 */
export async function ensureWorkDir(
  workDir: string,
  source = '--workDir, TOIL_WORKDIR or TOIL_WORKDIR_OVERRIDE',
): Promise<void> {
  let step = 'cannot make it';
  try {
    // One level at a time: a recursive mkdir retries for ever where a parent exists but refuses
    // children with ENOENT (/proc).
    const missing: string[] = [];
    for (let p = workDir; !(await exists(p)) && dirname(p) !== p; p = dirname(p)) missing.unshift(p);
    for (const m of missing)
      await mkdir(m).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    if (!(await stat(workDir)).isDirectory())
      throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    step = 'cannot write in it';
    await access(workDir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'it is not a directory' : `${step} (${code})`;
    throw new UserInputError('BAD_FLAG', `work directory ${workDir} (${source}): ${why}`, {
      workDir,
      source,
    });
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
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
