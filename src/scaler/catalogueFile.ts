import { readFile } from 'node:fs/promises';
import { UserInputError } from '../common/errors.js';
import { shippedCataloguePath } from '../common/shippedCatalogue.js';
import { parseCatalogue, type Catalogue } from './catalogue.js';

export { shippedCataloguePath };

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
