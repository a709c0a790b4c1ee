/**
 * A command that leaves code of the user's running in this process (a workflow's start() or
 * finish() a stop abandoned: its timers and sockets keep Node's loop up for ever) asks that the
 * process exit once the command is done, and so does any command that imported a workflow's module
 * (common/userCodeLoaded.ts: a timer its start() set, a socket its finish() left open). The
 * `toil` command (bin/toil.js) then exits with the command's code as soon as what it wrote to
 * stdout and stderr has been handed to the system, whatever printed its last line (the command,
 * or main() for an error) and however (a stream that writes asynchronously included), rather than
 * on a timer that relied on both being done by then.
 */
import { userCodeLoaded } from '../common/userCodeLoaded.js';

let asked = false;

export function exitWhenDone(): void {
  asked = true;
}

/** How long the streams get to take what was written before the process exits anyway. */
const FLUSH_LIMIT_MS = 5_000;

/**
 * If a command asked, or the process imported a workflow's module: once `streams` have taken what
 * was written to them, `exit(code)`.
 */
export async function exitIfAsked(
  code: number,
  streams: readonly NodeJS.WritableStream[] = [process.stdout, process.stderr],
  exit: (code: number) => void = (c) => process.exit(c),
): Promise<void> {
  if (!asked && !userCodeLoaded()) return;
  // A stream that never drains (a reader that stopped reading) does not keep the process up.
  const limit = setTimeout(() => exit(code), FLUSH_LIMIT_MS);
  // An empty write's callback runs once every write before it has been handed on.
  await Promise.all(streams.map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  clearTimeout(limit);
  exit(code);
}
