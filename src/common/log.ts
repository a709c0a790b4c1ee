import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger };

/** Toil's --logLevel spellings, mapped to pino's levels. */
const TOIL_LEVELS: Readonly<Record<string, LevelWithSilent>> = {
  critical: 'fatal',
  error: 'error',
  warning: 'warn',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
  off: 'silent',
  silent: 'silent',
};

/** The pino level for a --logLevel value (case-insensitive), or undefined if it is not one. */
export function toPinoLevel(level: string): LevelWithSilent | undefined {
  return TOIL_LEVELS[level.toLowerCase()];
}

export const LOG_LEVEL_NAMES = Object.keys(TOIL_LEVELS);

/**
 * The root logger. Credentials never reach a log line: the usual places they travel are redacted.
 * Modules take a child: `log.child({ component: 'scaler' })`.
 */
export function createLogger(
  options: { level?: LevelWithSilent; destination?: DestinationStream } = {},
): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: {
        paths: [
          '*.accessKeyId',
          '*.secretAccessKey',
          '*.sessionToken',
          '*.password',
          '*.authorization',
          '*.headers.authorization',
          '*.credentials',
        ],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}

/** A logger that drops everything, for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
