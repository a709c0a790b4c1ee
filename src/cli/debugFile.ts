import { createWriteStream, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { UserInputError, coerceError } from '../common/errors.js';
import { formatBytes } from '../common/units.js';
import { fileNameOf, fileUuidOf, type JobStore } from '../jobstore/jobStore.js';
import { openJobStore } from '../main/jobStores.js';
import {
  addForeignOptions,
  checkForeignOptions,
  ignored,
  utilityCommonOptions,
  type ForeignOption,
} from './foreignOptions.js';
import type { SubCommand } from './main.js';
import { STORE_UNREACHABLE_HELP, storeReadingOptions } from './storeUnreachable.js';

/** The file Toil's `--listFilesInJobStore` writes the names into, in the current directory. */
export const LISTING_FILE = 'jobstore_files.txt';

interface Flags {
  listFilesInJobStore?: boolean | string;
  fetch?: string[];
  fetchEntireJobStore?: boolean | string;
  localFilePath: string;
  useSymlinks?: boolean | string;
}

const FOREIGN: readonly ForeignOption[] = [
  ...ignored(
    'bool',
    'files are copied: each is checked against its recorded SHA-256 as it is read, which a link would skip',
    '--useSymlinks',
  ),
  ...utilityCommonOptions('toil debug-file'),
];

/** A file of the job store as `toil debug-file` shows it. */
export interface StoredFile {
  readonly fileId: string;
  /** The name it was written from, or the ID's UUID for a file written from bytes or a stream. */
  readonly name: string;
  readonly size: number;
}

/** Every file the workflow's jobs wrote or imported, by name. */
export async function listFiles(store: JobStore): Promise<StoredFile[]> {
  const files: StoredFile[] = [];
  for await (const o of store.objects.list('files/'))
    files.push({
      fileId: o.key,
      name: fileNameOf(o.key) ?? o.key.slice(o.key.lastIndexOf('/') + 1),
      size: o.size,
    });
  return files.sort((a, b) => a.name.localeCompare(b.name) || a.fileId.localeCompare(b.fileId));
}

/** A shell glob (`*`, `?`, `[...]`) as a whole-string regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The files a pattern names: by their name, or by their whole file ID. */
export function filesMatching(files: readonly StoredFile[], pattern: string): StoredFile[] {
  const re = globToRegExp(pattern);
  return files.filter((f) => re.test(f.name) || re.test(f.fileId));
}

const on = (v: boolean | string | undefined, flag: string): boolean => {
  if (typeof v !== 'string') return v === true;
  if (/^(true|yes|1)$/i.test(v)) return true;
  if (/^(false|no|0)$/i.test(v)) return false;
  throw new UserInputError('BAD_FLAG', `${flag} ${v}: expected true or false`);
};

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    const cmd = program
      .command('debug-file')
      .description(
        "List a job store's files, or copy them out of it, to see what a workflow's jobs wrote (Toil's " +
          '`toil debug-file`; file: and aws: job stores alike). Files are named as the file they were ' +
          'written or imported from; one written from bytes or a stream by its ID. Exit codes: 0 done, ' +
          `1 a pattern matched no file or a file could not be copied, 2 bad input, ${STORE_UNREACHABLE_HELP}.`,
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .option(
        '--listFilesInJobStore [bool]',
        `list every file (name, size, file ID) and write their names to ./${LISTING_FILE}`,
      )
      .option('--fetch <pattern...>', "copy the files these names or globs match (quote them: '*.txt')")
      .option('--fetchEntireJobStore [bool]', 'copy every file')
      .option('--localFilePath <dir>', 'where fetched files go (made if missing)', '.');
    addForeignOptions(cmd, FOREIGN).action(async (jobStore: string, flags: Flags) => {
      for (const notice of checkForeignOptions(flags, FOREIGN)) process.stderr.write(`${notice}\n`);
      const list = on(flags.listFilesInJobStore, '--listFilesInJobStore');
      const all = on(flags.fetchEntireJobStore, '--fetchEntireJobStore');
      const patterns = all ? ['*'] : (flags.fetch ?? []);
      if (!list && patterns.length === 0)
        throw new UserInputError(
          'BAD_FLAG',
          'nothing to do: expected --listFilesInJobStore, --fetch PATTERN... or --fetchEntireJobStore',
        );
      const store = openJobStore(jobStore, storeReadingOptions('debug-file'));
      await store.assertExists();
      const files = await listFiles(store);
      if (list) {
        writeFileSync(LISTING_FILE, files.map((f) => `${f.name}\n`).join(''));
        const width = Math.max(4, ...files.map((f) => f.name.length));
        process.stdout.write(
          `${files.length} file(s) in job store ${jobStore} (their names are in ${LISTING_FILE}):\n` +
            files
              .map((f) => `  ${f.name.padEnd(width)}  ${formatBytes(f.size).padStart(10)}  ${f.fileId}\n`)
              .join(''),
        );
      }
      if (patterns.length === 0) {
        setExitCode(0);
        return;
      }
      setExitCode((await fetchFiles(store, files, patterns, flags.localFilePath)) ? 0 : 1);
    });
  },
};

/** Copies what `patterns` match into `dir`; false when a pattern matched nothing or a copy failed. */
async function fetchFiles(
  store: JobStore,
  files: readonly StoredFile[],
  patterns: readonly string[],
  dir: string,
): Promise<boolean> {
  prepareDir(dir);
  let ok = true;
  const chosen = new Map<string, StoredFile>();
  for (const pattern of patterns) {
    const hits = filesMatching(files, pattern);
    if (hits.length === 0) {
      process.stderr.write(`toil: --fetch ${pattern}: no file of the job store matches it\n`);
      ok = false;
    }
    for (const f of hits) chosen.set(f.fileId, f);
  }
  const taken = new Set<string>();
  for (const f of chosen.values()) {
    // Two files of one name both arrive: the second under its ID's UUID too (not the job's ID
    // its key may start with: two files one job wrote would take the same name).
    const local = taken.has(f.name) ? `${fileUuidOf(f.fileId) ?? f.fileId.split('/')[1]}-${f.name}` : f.name;
    taken.add(local);
    const target = join(dir, local);
    const partial = join(dir, `.${local}.partial`);
    try {
      await pipeline(await store.readFileStream(f.fileId), createWriteStream(partial));
      renameSync(partial, target);
      process.stdout.write(`fetched ${f.fileId} (${formatBytes(f.size)}) to ${target}\n`);
    } catch (e) {
      rmSync(partial, { force: true });
      process.stderr.write(`toil: could not fetch ${f.fileId}: ${coerceError(e).message}\n`);
      ok = false;
    }
  }
  return ok;
}

function prepareDir(dir: string): void {
  const s = statSync(dir, { throwIfNoEntry: false });
  if (s && !s.isDirectory())
    throw new UserInputError('BAD_FLAG', `--localFilePath ${dir}: it is a file (expected a directory)`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserInputError('BAD_FLAG', `--localFilePath ${dir}: ${(e as Error).message}`);
  }
}
