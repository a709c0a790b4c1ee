import { writeFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provablyGone, thisProcess, type ProcessIdentity } from './processIdentity.js';

/**
 * Owner marks: a directory a process makes for itself and removes when it ends (a leader's scratch,
 * a local instance's home) names that process in a file of its own, so that when the process
 * cannot remove it (kill -9, the OOM killer, a lost machine) a later process can tell it was
 * abandoned and remove it.
 */

/** The file in a marked directory that names the process that made it. */
const OWNER_FILE = 'owner.json';

/**
 * The process a mark names, or undefined when `v` is not a mark. Checked by hand, not with zod: a
 * hundred modules for four fields, in every `toil run` (its sweep of the work directory finds the
 * marks of the runs beside it) and every local instance.
 */
function ownerOf(v: unknown): ProcessIdentity | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { host, pid, bootId, pidNamespace } = v as Record<string, unknown>;
  if (typeof host !== 'string' || typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0)
    return undefined;
  if (!(bootId === undefined || typeof bootId === 'string')) return undefined;
  if (!(pidNamespace === undefined || typeof pidNamespace === 'string')) return undefined;
  return {
    host,
    pid,
    ...(bootId !== undefined ? { bootId } : {}),
    ...(pidNamespace !== undefined ? { pidNamespace } : {}),
  };
}

/** Marks `dir` as made by this process. */
export async function markOwned(dir: string): Promise<void> {
  await writeFile(join(dir, OWNER_FILE), JSON.stringify(thisProcess()));
}

/** `markOwned`, for a directory made synchronously. */
export function markOwnedSync(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(thisProcess()));
}

/**
 * Removes the directories of `parent` whose name starts with `prefix` and whose owner is provably
 * gone (`provablyGone`): marked with this host, boot and pid namespace, and a pid no process has.
 * A directory is left alone when its mark names another host or container (a directory shared
 * between them), a live pid (its owner running now, or a reused pid: keeping is the safe error),
 * or when it has no readable mark (an owner between making the directory and marking it, or one
 * older than the marks). Best effort: what cannot be read or removed is skipped. Returns the paths
 * removed.
 */
export async function sweepAbandonedDirs(parent: string, prefix: string): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const me = thisProcess();
  const removed: string[] = [];
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    const dir = join(parent, name);
    const owner = await readFile(join(dir, OWNER_FILE), 'utf8')
      .then((text) => ownerOf(JSON.parse(text)))
      .catch(() => undefined);
    if (!owner || !provablyGone(owner, me)) continue;
    await rm(dir, { recursive: true, force: true }).then(
      () => removed.push(dir),
      () => undefined,
    );
  }
  return removed;
}
