import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** The prefix of a leader's scratch directory under `--workDir`. */
export const SCRATCH_PREFIX = 'toil-ts-bundle-';

/** Names the leader that made a scratch directory, so a later leader can tell it was abandoned. */
const OWNER_FILE = 'owner.json';
const Owner = z.object({ host: z.string(), pid: z.number().int().positive() });

/**
 * Makes this leader's scratch directory under `workDir` (created if missing), marked with this host
 * and pid. The run removes it when it ends; the mark is for when it cannot (kill -9, the OOM killer,
 * a lost machine), so that `sweepAbandonedScratch` can remove it later.
 */
export async function makeRunScratch(workDir: string): Promise<string> {
  await mkdir(workDir, { recursive: true });
  const dir = await mkdtemp(join(workDir, SCRATCH_PREFIX));
  await writeFile(join(dir, OWNER_FILE), JSON.stringify({ host: hostname(), pid: process.pid }));
  return dir;
}

/**
 * Removes the scratch directories under `workDir` whose leader is gone: marked with this host and a
 * pid no process has. A directory is left alone when its mark names another host (a workDir shared
 * between machines), a live pid (a leader running now, or a reused pid: keeping is the safe error),
 * or when it has no readable mark (a leader between making the directory and marking it, or one
 * older than the marks). Best effort: what cannot be read or removed is skipped. Returns the paths
 * removed.
 */
export async function sweepAbandonedScratch(workDir: string): Promise<string[]> {
  const names = await readdir(workDir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names.filter((n) => n.startsWith(SCRATCH_PREFIX))) {
    const dir = join(workDir, name);
    const owner = await readFile(join(dir, OWNER_FILE), 'utf8')
      .then((text) => Owner.safeParse(JSON.parse(text)))
      .catch(() => undefined);
    if (!owner?.success || owner.data.host !== hostname() || isAlive(owner.data.pid)) continue;
    await rm(dir, { recursive: true, force: true }).then(
      () => removed.push(dir),
      () => undefined,
    );
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the pid is someone else's live process.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
