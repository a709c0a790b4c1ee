import { UserInputError } from '../common/errors.js';
import { createLogger, LOG_LEVEL_NAMES, toPinoLevel, type Logger } from '../common/log.js';
import { UnreadOutput, outputDrained } from '../common/unreadOutput.js';

/**
 * The output of a long-running toil process (the leader daemon, the local cloud's stand-ins, the
 * appliance's boot and watch commands): its stdout and stderr may be a pipe whose reader stopped
 * reading, or is gone, for hours. Everything it writes goes through one UnreadOutput per stream,
 * so a full pipe never blocks its event loop (SIGTERM still stops it) and a broken one never
 * ends it.
 */
export interface DaemonOutput {
  readonly stdout: UnreadOutput;
  readonly stderr: UnreadOutput;
}

let outputs: DaemonOutput | undefined;

/** This process's stdout and stderr as a daemon writes them (one of each, however often asked). */
export function daemonOutput(): DaemonOutput {
  outputs ??= { stdout: new UnreadOutput(process.stdout), stderr: new UnreadOutput(process.stderr) };
  return outputs;
}

/** A daemon's logger at `level` (a --logLevel spelling), writing to `stream` through daemonOutput(). */
export function daemonLogger(level: string, stream: keyof DaemonOutput): Logger {
  const pinoLevel = toPinoLevel(level);
  if (!pinoLevel)
    throw new UserInputError(
      'BAD_LOG_LEVEL',
      `--logLevel: '${level}' is not one of ${LOG_LEVEL_NAMES.join(', ')}`,
    );
  return createLogger({ level: pinoLevel, destination: daemonOutput()[stream] });
}

/** How long a stopped daemon waits for the reader of its output before it exits without it. */
const OUTPUT_DRAIN_MS = 2000;

/**
 * A stopped daemon's last step, once its state is saved: output a reader has not taken (a pipe
 * nobody reads) would hold the process for ever, so it gets OUTPUT_DRAIN_MS, then the process
 * exits with `code` without it. `force` exits at once after that wait even with nothing pending
 * (a second signal: whatever still runs is abandoned).
 */
export async function daemonStopped(code: number, force = false): Promise<void> {
  await outputDrained([process.stdout, process.stderr], OUTPUT_DRAIN_MS);
  if (force || process.stdout.writableLength > 0 || process.stderr.writableLength > 0) process.exit(code);
}
