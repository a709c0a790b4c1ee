import { accessSync, constants, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { UserInputError } from '../common/errors.js';
import { makeDirsSync } from '../common/makeDirs.js';
import type { Logger } from '../common/log.js';
import type { LogLine } from '../jobstore/jobRecords.js';

const gzipped = promisify(gzip);

/** One job attempt's log as the leader learns of it: a failure report, or a commit's log lines. */
export interface JobLogEntry {
  readonly jobId: string;
  readonly name: string;
  readonly attempt: number;
  readonly outcome: 'failed' | 'succeeded';
  /** The error (failed attempts; a batch system's report when the worker wrote none). */
  readonly error?: string;
  readonly logs: readonly LogLine[];
  /** The tail of the job's stdout and stderr (failed attempts). */
  readonly output?: string;
}

export interface JobLogFilesOptions {
  readonly dir: string;
  readonly gzip: boolean;
  /** Bytes a file keeps: the end of the log; negative, the start, as in Toil (0: no limit). */
  readonly maxBytes: number;
  /** Successful jobs' logs too (Toil's --writeLogsFromAllJobs, or log level debug). */
  readonly allJobs: boolean;
}

/**
 * Toil's `--writeLogs DIR` / `--writeLogsGzip DIR`: the runner's `onJobLog`, writing each job
 * attempt's log to a file of its own, `<jobName>_<jobId>_<attempt>.log` (`.log.gz`), as soon as the
 * leader learns of the attempt's end. The job id and attempt number together are unique across
 * leader restarts, so no file is ever overwritten; the name (made file-safe) is there for the
 * person looking. A file that cannot be written is logged, not a failure of the run.
 */
export function jobLogWriter(o: JobLogFilesOptions, log: Logger): (entry: JobLogEntry) => Promise<void> {
  return async (entry) => {
    if (entry.outcome === 'succeeded' && !o.allJobs) return;
    const file = join(o.dir, `${fileSafe(entry.name)}_${fileSafe(entry.jobId)}_${entry.attempt}.log`);
    const text = truncateLog(formatJobLog(entry), o.maxBytes);
    try {
      if (o.gzip) await writeFile(`${file}.gz`, await gzipped(text));
      else await writeFile(file, text);
    } catch (e) {
      log.warn({ err: e, file }, 'could not write the job log file');
    }
  };
}

/** The file's text: what happened, the job's log lines, then the tail of its output. */
export function formatJobLog(e: JobLogEntry): string {
  const parts = [`job '${e.name}' (${e.jobId}) attempt ${e.attempt} ${e.outcome}`];
  if (e.error) parts.push(e.error);
  if (e.logs.length > 0) {
    parts.push('--- log ---');
    for (const l of e.logs) parts.push(`${new Date(l.time).toISOString()} ${l.level} ${l.message}`);
  }
  if (e.output) parts.push('--- output ---', e.output.replace(/\n$/, ''));
  return `${parts.join('\n')}\n`;
}

/**
 * Toil's `--maxLogFileSize`: the last `maxBytes` bytes of `text`, after a line saying what was
 * cut; a negative `maxBytes` keeps the first -`maxBytes` bytes instead (Toil truncates "from the
 * beginning"), before such a line; 0 keeps all of it.
 */
export function truncateLog(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text);
  const keep = Math.abs(maxBytes);
  if (maxBytes === 0 || bytes.length <= keep) return bytes;
  const dropped = bytes.length - keep;
  if (maxBytes < 0)
    return Buffer.concat([
      bytes.subarray(0, keep),
      Buffer.from(`\n[truncated: the last ${dropped} bytes are left out (--maxLogFileSize ${maxBytes})]\n`),
    ]);
  return Buffer.concat([
    Buffer.from(`[truncated: the first ${dropped} bytes are left out (--maxLogFileSize ${maxBytes})]\n`),
    bytes.subarray(dropped),
  ]);
}

/**
 * The options with their directory made if missing and checked writable, as an absolute path:
 * an unwritable one refuses the run (exit 2, naming `flag`) rather than losing every log file.
 */
export function openJobLogDir(o: JobLogFilesOptions, flag: string): JobLogFilesOptions {
  const dir = resolve(o.dir);
  try {
    makeDirsSync(dir);
    // A file there is no directory to write logs into, however writable it is (every log was
    // lost, each failure a warning, after the run had started).
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UserInputError(
      'BAD_FLAG',
      `${flag} ${o.dir}: cannot write job logs there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return { ...o, dir };
}

const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');
