import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir retries for ever where a parent exists
 * but refuses children with ENOENT (/proc), so a user's `--writeLogs /proc/x` spun at full CPU.
 * Throws the first level's error (ENOENT, EACCES, ENOTDIR, EEXIST for a file in the way).
 */
export function makeDirsSync(path: string): void {
  const missing: string[] = [];
  for (let p = path; !existsSync(p) && dirname(p) !== p; p = dirname(p)) missing.unshift(p);
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
