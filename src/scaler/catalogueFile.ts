import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserInputError } from '../common/errors.js';
import { parseCatalogue, type Catalogue } from './catalogue.js';

/**
 * The shipped catalogue, config/instances.json, found by walking up from this module (the same
 * code runs from src/ under tests and from dist/src/ when built). CLI entry points call this; the
 * policy itself never reads files.
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

/** Reads and validates a catalogue file (the shipped one by default). */
export async function readCatalogue(path = shippedCataloguePath()): Promise<Catalogue> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UserInputError(
      'CATALOGUE_UNREADABLE',
      `cannot read instance catalogue ${path}: ${(e as Error).message}`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UserInputError(
      'CATALOGUE_INVALID',
      `instance catalogue ${path} is not JSON: ${(e as Error).message}`,
    );
  }
  return parseCatalogue(doc, path);
}
