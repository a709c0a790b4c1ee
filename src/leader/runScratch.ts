import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { markOwned, sweepAbandonedDirs } from '../common/ownedDirs.js';

/** The prefix of a leader's scratch directory under `--workDir`. */
export const SCRATCH_PREFIX = 'toil-ts-bundle-';

/**
 * Makes this leader's scratch directory under `workDir` (created if missing), marked with this host
 * and pid. The run removes it when it ends; the mark is for when it cannot (kill -9, the OOM killer,
 * a lost machine), so that `sweepAbandonedScratch` can remove it later.
 */
export async function makeRunScratch(workDir: string): Promise<string> {
  await mkdir(workDir, { recursive: true });
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
