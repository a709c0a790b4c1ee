import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    const mark = await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
    if (!abandoned(mark, me)) continue;
    await rm(dir, { recursive: true, force: true }).then(
      () => removed.push(dir),
      () => undefined,
    );
  }
  return removed;
}

/**
 * `sweepAbandonedDirs`, synchronously: for a process about to exit at once (a second Ctrl-C),
 * whose event loop runs no more. Stops once `deadline` (epoch ms) is past, the removal of the
 * directory under way aside. Returns the paths removed.
 */
export function sweepAbandonedDirsSync(parent: string, prefix: string, deadline: number): string[] {
  const me = thisProcess();
  const removed: string[] = [];
  for (const { dir, owner } of markedDirsSync(parent, prefix)) {
    if (Date.now() > deadline) break;
    if (!owner || !provablyGone(owner, me)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Best effort, as the asynchronous sweep.
    }
  }
  return removed;
}

/** The directories of `parent` whose name starts with `prefix`, each with the process its mark names (if any). */
export function markedDirsSync(
  parent: string,
  prefix: string,
): { dir: string; owner: ProcessIdentity | undefined }[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix))
    .map((name) => {
      const dir = join(parent, name);
      try {
        return { dir, owner: ownerOf(JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'))) };
      } catch {
        return { dir, owner: undefined };
      }
    });
}

/** Whether a directory whose owner mark reads `mark` was abandoned: its owner is provably gone. */
function abandoned(mark: string | undefined, me: ProcessIdentity): boolean {
  if (mark === undefined) return false;
  let owner: ProcessIdentity | undefined;
  try {
    owner = ownerOf(JSON.parse(mark));
  } catch {
    return false;
  }
  return owner !== undefined && provablyGone(owner, me);
}
