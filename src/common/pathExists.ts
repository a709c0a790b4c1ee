import { access } from 'node:fs/promises';

/** Whether anything is at `path` (a file, a directory, a link that resolves); false on any error. */
export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
