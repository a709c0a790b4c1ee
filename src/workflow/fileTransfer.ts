import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { UserInputError } from '../common/errors.js';
import type { JobStore } from '../jobstore/jobStore.js';
import type { FileID } from './api.js';

/**
 * Import and export of local files, shared by the workflow's `start`/`finish` (`ctx`) and by a
 * running job (`job.fileStore`), so both take the same names and fail with the same errors.
 * `newFileId` makes the file's ID from its name before the file is written (a job's is under its
 * attempt's prefix, and noted, so that what a failed or lost attempt wrote is removed).
 */
export async function importLocalFile(
  store: JobStore,
  source: string,
  newFileId: (name: string) => FileID = (name) => store.newFileId(name),
): Promise<FileID> {
  const localPath = localPathOf('import', source);
  const s = await stat(localPath).catch((e: NodeJS.ErrnoException) => e);
  if (s instanceof Error) {
    if (s.code === 'ENOENT' || s.code === 'ENOTDIR')
      throw new UserInputError(
        'IMPORT_FILE_MISSING',
        `cannot import ${source}: no such file (expected a readable file)`,
        { path: localPath },
      );
    throw importError(source, s);
  }
  if (!s.isFile())
    throw new UserInputError(
      'IMPORT_NOT_A_FILE',
      `cannot import ${source}: ${s.isDirectory() ? 'it is a directory' : 'not a regular file'} (expected a file; import each file of a directory on its own)`,
      { path: localPath },
    );
  const id = newFileId(basename(localPath));
  try {
    await store.writeFile(id, createReadStream(localPath));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') throw importError(source, e as Error);
    throw e;
  }
  return id;
}

export async function exportLocalFile(store: JobStore, fileId: FileID, destination: string): Promise<void> {
  const localPath = localPathOf('export', destination);
  if ((await stat(localPath).catch(() => undefined))?.isDirectory())
    throw exportError(fileId, destination, 'it is a directory (expected the path of a file)');
  const source = await store.readFileStream(fileId);
  // Written beside the destination and renamed into place: an export that fails half-way
  // leaves no half a file under the name the user reads.
  const partial = join(dirname(localPath), `.${basename(localPath)}.${randomUUID()}.partial`);
  try {
    await pipeline(source, createWriteStream(partial));
    await rename(partial, localPath);
  } catch (e) {
    await rm(partial, { force: true }).catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT' || err.code === 'ENOTDIR'
        ? `its directory ${dirname(localPath)} does not exist`
        : err.code === 'EISDIR'
          ? 'it is a directory (expected the path of a file)'
          : err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS'
            ? `it cannot be written here (${err.code})`
            : undefined;
    if (why === undefined) throw e;
    throw exportError(fileId, destination, why);
  }
}

/**
 * The local path of what Toil's docs pass to importFile/exportFile: a path (relative to where
 * `toil run` runs) or a `file:` URL (`file:///abs/path`, as Toil's examples write). Other URLs
 * are refused by name: toil-ts reads and writes local files only.
 */
function localPathOf(what: 'import' | 'export', target: string): string {
  if (/^file:/i.test(target)) {
    try {
      return fileURLToPath(target);
    } catch (e) {
      throw new UserInputError(
        'FILE_URL_UNSUPPORTED',
        `cannot ${what} ${target}: ${(e as Error).message} (expected file:///ABSOLUTE/PATH or a path)`,
      );
    }
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(target)?.[1];
  if (scheme !== undefined)
    throw new UserInputError(
      'FILE_URL_UNSUPPORTED',
      `cannot ${what} ${target}: toil-ts ${what}s local files only, a path or a file:// URL, not ${scheme}:// (${what === 'import' ? 'download it first and import the local copy' : 'export to a local path and upload it from there'})`,
    );
  return target;
}

function importError(source: string, e: Error): UserInputError {
  const code = (e as NodeJS.ErrnoException).code;
  return new UserInputError(
    'IMPORT_NOT_A_FILE',
    `cannot import ${source}: ${code === 'EACCES' || code === 'EPERM' ? 'it cannot be read here' : e.message} (expected a readable file)`,
  );
}

function exportError(fileId: FileID, destination: string, why: string): UserInputError {
  return new UserInputError('EXPORT_FAILED', `cannot export file ${fileId} to ${destination}: ${why}`, {
    destination,
  });
}
