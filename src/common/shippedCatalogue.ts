import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserInputError } from './errors.js';

/**
 * The shipped catalogue, config/instances.json, found by walking up from this module (the same
 * code runs from src/ under tests and from dist/src/ when built). CLI entry points call this; the
 * policy itself never reads files; the local cloud sells the types it names.
 */
export function shippedCataloguePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'config', 'instances.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new UserInputError(
    'CATALOGUE_MISSING',
    'config/instances.json (the instance catalogue) was not found',
  );
}
