import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserInputError } from '../common/errors.js';
import type { JobEvent } from './workflowRunner.js';

/** Where `--writeMessages` writes: one JSON line per job event, and the file's closing. */
export interface MessageFile {
  readonly path: string;
  readonly write: (event: JobEvent) => void;
  readonly close: () => void;
}

/**
 * Toil's `--writeMessages FILE` ("file to send messages from the leader's message bus to"): each
 * job event, as it happens, one JSON object a line (Toil writes tab-separated fields; a JSON line
 * names its fields), e.g.
 * `{"time":"2026-…Z","event":"issued","jobId":"…","name":"sort","attempt":1}`. The file is
 * emptied first, as Toil's is; each line is written at once (synchronously), so a leader that dies
 * has written up to its last event. A file that cannot be opened refuses the run (exit 2).
 */
export function openMessageFile(path: string): MessageFile {
  const absolute = resolve(path);
  let fd: number;
  try {
    fd = openSync(absolute, 'w');
  } catch (e) {
    throw new UserInputError(
      'BAD_FLAG',
      `--writeMessages ${path}: cannot be opened for writing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let open = true;
  return {
    path: absolute,
    write: (event) => {
      if (open) writeSync(fd, `${messageLine(event)}\n`);
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** One event's line: its time first (ISO 8601, UTC), then what happened, to which job. */
export function messageLine(e: JobEvent): string {
  const { at, event, jobId, name, ...rest } = e;
  return JSON.stringify({ time: new Date(at).toISOString(), event, jobId, name, ...rest });
}
