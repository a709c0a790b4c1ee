import { RealClock, type Clock } from '../common/clock.js';
import { createLogger, type Logger } from '../common/log.js';
import { ConsoleOutput } from '../leader/consoleOutput.js';

/**
 * The exit code of a command that reads a job store when the store could not be reached or read
 * (an S3 endpoint that does not answer, a `file:` store's disk refusing reads): not 1, which each
 * of them gives for what it found in a store it did read (damaged objects, a job that threw, a
 * file not fetched), and not 2, bad input; `toil worker`'s for a job store it could not use.
 */
export const STORE_UNREACHABLE_EXIT = 3;

/**
 * The commands that exit so: each reads the job store it is named and reports on it, and `toil
 * run`, whose leader reads and writes it: a store it could not reach is no failed job (1) either.
 */
export const STORE_READING_COMMANDS: ReadonlySet<string> = new Set([
  'run',
  'status',
  'stats',
  'kill',
  'clean',
  'debug-file',
  'debug-job',
]);

/** How their --help says it, last of their exit codes. */
export const STORE_UNREACHABLE_HELP = `${STORE_UNREACHABLE_EXIT} the job store could not be reached or read (its endpoint does not answer or fails after retries, or its disk refuses reads)`;

/**
 * How a store-reading command opens its job store: an `aws:` store whose S3 endpoint takes
 * connections and never answers would otherwise keep `toil status` (or stats, kill, clean,
 * debug-*) waiting with nothing on the screen; with these, the command says on stderr what it
 * waits for, and again while the wait lasts, as a run does.
 */
export function storeReadingOptions(command: string): { log: Logger; clock: Clock; waiter: string } {
  const clock = new RealClock();
  const out = new ConsoleOutput(process.stderr, clock, { progress: false });
  return { log: createLogger({ destination: out.logDestination() }), clock, waiter: `toil ${command}` };
}
