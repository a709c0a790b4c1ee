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

/** Each level as Toil's --logLevel takes it: lower case, capitalised and upper case (debug, Debug, DEBUG). */
export const LOG_LEVEL_SPELLINGS = LOG_LEVEL_NAMES.flatMap((l) => [
  l,
  `${l[0]!.toUpperCase()}${l.slice(1)}`,
  l.toUpperCase(),
]);

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
      // No log line carries a file's contents, a bundle or a whole stack: values are capped and
      // summarised (`<63700 bytes>`), so a line stays readable and a collector keeps it whole.
      formatters: { log: (o) => capLogValue(o, 0) as Record<string, unknown> },
      serializers: { err: capError },
      hooks: {
        logMethod(args, method) {
          const i = typeof args[0] === 'string' ? 0 : 1;
          const msg = args[i];
          if (typeof msg === 'string' && msg.length > MAX_MESSAGE)
            args[i] = `${msg.slice(0, MAX_MESSAGE)}… (${msg.length} characters)`;
          method.apply(this, args);
        },
      },
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

/** The most characters of one log message; longer ones are cut, saying how long they were. */
export const MAX_MESSAGE = 1200;
/** The most characters of one string value in a log line. */
const MAX_STRING = 300;
/** The most items of an array, and keys of an object, shown in a log line. */
const MAX_ITEMS = 20;
const MAX_DEPTH = 4;

/**
 * A value as a log line shows it: long strings cut, bytes and typed arrays as their size, long
 * arrays and wide or deep objects summarised. Errors pass through (their serializer caps them).
 */
export function capLogValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string')
    return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}… (${v.length} characters)` : v;
  if (v === null || typeof v !== 'object' || v instanceof Error) return v;
  if (ArrayBuffer.isView(v)) return `<${v.byteLength} bytes>`;
  if (v instanceof ArrayBuffer) return `<${v.byteLength} bytes>`;
  if (depth >= MAX_DEPTH) return Array.isArray(v) ? `[${v.length} items]` : '{…}';
  if (Array.isArray(v)) {
    const shown = v.slice(0, MAX_ITEMS).map((x) => capLogValue(x, depth + 1));
    return v.length > MAX_ITEMS ? [...shown, `… ${v.length - MAX_ITEMS} more`] : shown;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries.slice(0, MAX_ITEMS)) out[k] = capLogValue(x, depth + 1);
  if (entries.length > MAX_ITEMS) out['…'] = `${entries.length - MAX_ITEMS} more keys`;
  return out;
}

/**
 * An error as a log line shows it: message and the first frames of its stack. Whatever else is
 * logged as `err` (a message string, a plain object: capped already by the log formatter, which
 * passes only errors through) is shown as it is: a serializer that throws takes the process down
 * from inside its own error handling.
 */
function capError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const { stack, ...rest } = pino.stdSerializers.err(e);
  if (typeof stack !== 'string') return capLogValue(rest, 0);
  const frames = stack.split('\n');
  const shown = frames.length > 9 ? [...frames.slice(0, 9), `    … ${frames.length - 9} more`] : frames;
  return { ...(capLogValue(rest, 0) as object), stack: shown.join('\n').slice(0, MAX_MESSAGE) };
}

/** A logger that drops everything, for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
