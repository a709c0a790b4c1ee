import type { Command } from 'commander';
import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { LOG_LEVEL_NAMES, createLogger, toPinoLevel, type Logger } from '../common/log.js';
import { addForeignOptions, checkForeignOptions, ignored, type ForeignOption } from './foreignOptions.js';
import { ConsoleOutput } from '../leader/consoleOutput.js';
import { addLevelSwitches } from './logLevelSwitches.js';
import { openLogFile } from './toilRunOptions.js';

/** The logging flags of a cluster utility, as commander gives them. */
export interface ClusterLoggingFlags {
  readonly logLevel?: string;
  readonly logFile?: string;
}

/** Toil's common options that change nothing in a cluster utility (src/cli/foreignOptions.ts). */
const NO_EFFECT: readonly ForeignOption[] = [
  ...ignored('none', 'the log is appended to stderr and --logFile, never rotated', '--rotatingLogging'),
  ...ignored('bool', 'log lines are plain text', '--logColors'),
  ...ignored('value', 'the cluster utilities make no temporary files', '--tempDirRoot'),
];

/**
 * The options every Toil utility takes (Toil's `parser_with_common_options`), on a cluster
 * utility, which logs: `--logLevel` or a `--log<Level>` switch (`--logDebug`, …, `--logOff`) sets
 * the level (default warning), `--logFile` appends the log to a file as well; the rest say once
 * that they change nothing. A command line from Toil's docs never stops at "unknown option".
 */
export function addClusterLoggingOptions(cmd: Command): Command {
  cmd.option('--logLevel <level>', 'log level (default: warning)');
  cmd.option('--logFile <path>', 'also append the log to this file');
  // From the options parsed as the utility's own, not a scan of process.argv: on ssh- and
  // rsync-cluster, a `--logDebug` after the cluster name is the remote command's.
  addLevelSwitches(cmd);
  return addForeignOptions(cmd, NO_EFFECT);
}

/** The level the flags ask for: the last of `--logLevel` and the `--log<Level>` switches, else warning. */
export function clusterLogLevel(flags: ClusterLoggingFlags): string {
  return flags.logLevel ?? 'warning';
}

/**
 * The utility's logger as its flags ask: lines a person reads (`time LEVEL component: message`, as
 * `toil run` prints them) on stderr, so that stdout holds only the command's own output (ssh's, the
 * launch's progress), and appended to `--logFile`; prints a line for each common option that
 * changes nothing.
 */
export function clusterLogger(flags: ClusterLoggingFlags): Logger {
  for (const notice of checkForeignOptions(flags, NO_EFFECT)) process.stderr.write(`${notice}\n`);
  const level = clusterLogLevel(flags);
  const pinoLevel = toPinoLevel(level);
  if (!pinoLevel)
    throw new UserInputError(
      'BAD_LOG_LEVEL',
      `--logLevel: '${level}' is not one of ${LOG_LEVEL_NAMES.join(', ')}`,
    );
  const file = openLogFile(flags.logFile);
  const out = new ConsoleOutput(process.stderr, new RealClock(), {
    progress: false,
    ...(file ? { copyTo: file.write } : {}),
  });
  return createLogger({ level: pinoLevel, destination: out.logDestination() });
}
