import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * This package's root (where package.json and bin/toil.js are), found by walking up from this
 * module, which runs from src/ under tests and from dist/src/ when compiled.
 */
export function packageRoot(): string {
  if (root) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'toil.js'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the toil-ts package root (bin/toil.js) above ${start}`);
    dir = up;
  }
}

/** The `toil` command of this package, for the processes it starts (workers, agents, hosts). */
export function toilBinPath(): string {
  return join(packageRoot(), 'bin', 'toil.js');
}
