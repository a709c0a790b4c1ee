import { resolve } from 'node:path';
import { regionNameProblem } from '../common/awsRegions.js';
import { InvalidLocatorError } from './errors.js';

/**
 * Where a job store lives, parsed once from the locator a user typed. As in Toil:
 * `file:PATH` (or a bare path) is a directory; `aws:REGION:NAME` is the S3 bucket `NAME--toil`
 * in REGION.
 */
export type Locator =
  | { readonly kind: 'file'; readonly path: string; readonly text: string }
  | {
      readonly kind: 'aws';
      readonly region: string;
      readonly name: string;
      readonly bucket: string;
      readonly text: string;
    };

const NAME_RE = /^[a-z0-9][a-z0-9-]+[a-z0-9]$/;

/**
 * What is wrong with an `aws:` job store name, said so a user can fix it at once, or undefined.
 * 56 is Toil's limit, which keeps the bucket (`NAME--toil`) inside S3's 63 characters.
 */
function jobStoreNameProblem(name: string): string | undefined {
  if (name.length < 3) return `is ${name.length} character${name.length === 1 ? '' : 's'} long`;
  if (name.length > 56)
    return `is ${name.length} characters long, over Toil's 56 (its bucket '${name}--toil' would be ${name.length + 6} characters; S3 bucket names are at most 63)`;
  const bad = [...name].find((c) => !/[a-z0-9-]/.test(c));
  if (bad !== undefined) return `has '${bad}' in it`;
  if (name.includes('--')) return 'has two hyphens in a row (the bucket name keeps -- for its --toil suffix)';
  if (!NAME_RE.test(name)) return 'starts or ends with a hyphen';
  return undefined;
}

/** Parses a locator; relative file paths resolve against `cwd`. Throws InvalidLocatorError. */
export function parseLocator(text: string, cwd: string = process.cwd()): Locator {
  if (text.trim() === '') throw new InvalidLocatorError(text, 'expected file:PATH or aws:REGION:NAME');
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon) : '';
  if (scheme === 'file') {
    const path = text.slice(colon + 1);
    if (path === '') throw new InvalidLocatorError(text, 'expected a directory path after file:');
    return { kind: 'file', path: resolve(cwd, path), text };
  }
  if (scheme === 'aws') {
    const parts = text.split(':');
    if (parts.length !== 3)
      throw new InvalidLocatorError(text, 'expected aws:REGION:NAME, e.g. aws:us-west-2:my-store');
    const [, region = '', name = ''] = parts;
    // Any region of AWS's naming, also one newer than this code: the endpoint says whether it is.
    const regionProblem = regionNameProblem(region);
    if (regionProblem !== undefined) throw new InvalidLocatorError(text, `region ${regionProblem}`);
    const problem = jobStoreNameProblem(name);
    if (problem !== undefined) {
      throw new InvalidLocatorError(
        text,
        `job store name '${name}' ${problem} (it must be 3-56 characters of lowercase letters, digits and single hyphens, starting and ending with a letter or digit)`,
      );
    }
    return { kind: 'aws', region, name, bucket: `${name}--toil`, text };
  }
  // A Windows drive letter is not a concern here; anything else with a scheme is a mistake.
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(text) && !text.startsWith('./') && !text.startsWith('/')) {
    throw new InvalidLocatorError(text, `unknown scheme '${scheme}' (expected file:PATH or aws:REGION:NAME)`);
  }
  return { kind: 'file', path: resolve(cwd, text), text };
}
