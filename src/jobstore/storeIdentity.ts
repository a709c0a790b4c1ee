import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseLocator } from './locator.js';

/**
 * The job store a locator names, the same for every spelling of it: `file:/data/js`,
 * `file:/data/js/`, `file:/data/x/../js` and `file:/link-to-js` are one store (its real path, as
 * far as it exists; the rest as written), `aws:` ones its region and name. A locator that does not
 * parse is its own text.
 */
export function jobStoreIdentity(locator: string): string {
  let parsed;
  try {
    parsed = parseLocator(locator);
  } catch {
    return locator;
  }
  return parsed.kind === 'aws' ? `aws:${parsed.region}:${parsed.name}` : `file:${realPath(parsed.path)}`;
}

/** `path` with its symbolic links resolved, as far as it exists. */
function realPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPath(parent), basename(path));
  }
}
