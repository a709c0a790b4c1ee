import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { UserInputError } from '../common/errors.js';
import { LOG_LEVEL_NAMES, toPinoLevel } from '../common/log.js';

/**
 * Toil's options that toil-ts has no counterpart for. A Toil command line is copied from Toil's
 * docs with these in it; unknown, they would end the command with a parser's "unknown option" (or,
 * on `toil run`, the workflow's own parser blaming the workflow for a flag that is Toil's). Each
 * is taken instead and either
 * - `ignored`: it tunes something toil-ts does its own way or does not have, and leaving it out
 *   changes no result: the command goes on, and says once that the flag has no effect and why; or
 * - `refused`: it asks for a result or a guarantee toil-ts does not give (encryption, a report, a
 *   limit), so going on without it would silently give less than asked: exit 2, naming the flag
 *   and what to do instead. A boolean one is refused only when it is turned on.
 */
export interface ForeignOption {
  readonly flag: string;
  /**
   * `bool`: Toil's `--flag [true|false]`; `value`: it takes one argument; `optional`: it may take
   * one (Toil's `nargs='?'`); `values`: one or more (Toil's `nargs='+'`); `none`: a switch.
   */
  readonly arg: 'bool' | 'value' | 'optional' | 'values' | 'none';
  readonly effect: 'ignored' | 'refused';
  readonly why: string;
  /**
   * The check Toil's parser makes of a `value` option's argument: Toil refuses `--statusWait abc`
   * before it runs, so toil-ts does too, though it then ignores the option (a Toil command line
   * that toil-ts runs is one Toil would run).
   */
  readonly check?: ValueCheck;
  /**
   * Toil's `env_var` of the option: set, it stands for the option where the command line does
   * not give it, so it is checked, ignored or refused as the option would be, named as the
   * variable. A variable in the shell's profile is as much the user's asking as the flag is.
   */
  readonly envVar?: string;
}

/** What a `value` option's argument must be, as Toil's argparse `type`, `choices` and range say. */
export interface ValueCheck {
  /** For the message: `--statusWait abc: expected ${expected}`. */
  readonly expected: string;
  readonly accepts: (value: string) => boolean;
}

/** Python's `int()` of a string: digits with an optional sign, `_` between digits, blanks around. */
const PY_INT = /^\s*[+-]?\d+(_\d+)*\s*$/;
/** Python's `float()` of a string (decimal, exponent, inf, nan). */
const PY_FLOAT = /^\s*[+-]?((\d+(_\d+)*)?\.?\d+(_\d+)*([eE][+-]?\d+)?|\d+\.|inf(inity)?|nan)\s*$/i;
const pyNumber = (v: string): number =>
  Number(
    v
      .replace(/_/g, '')
      .trim()
      .replace(/^([+-]?)inf(inity)?$/i, '$1Infinity'),
  );

/** Toil's `type=int`, at least `min` when given (its `make_open_interval_action(min)`). */
export const wholeNumber = (min?: number): ValueCheck => ({
  expected: min === undefined ? 'a whole number' : `a whole number >= ${min}`,
  accepts: (v) => PY_INT.test(v) && (min === undefined || pyNumber(v) >= min),
});

/**
 * Toil's `type=float`, at least `min` when given (`make_open_interval_action(min)`) and at most
 * `max` (`make_closed_interval_action(min, max)`).
 */
export const decimal = (min?: number, max?: number): ValueCheck => ({
  expected:
    min === undefined
      ? 'a number'
      : max === undefined
        ? `a number >= ${min}`
        : `a number from ${min} to ${max}`,
  accepts: (v) => {
    if (!PY_FLOAT.test(v)) return false;
    const n = pyNumber(v);
    return (min === undefined || n >= min) && (max === undefined || n <= max);
  },
});

/** Toil's `choices=[...]`. */
export const oneOf = (...choices: string[]): ValueCheck => ({
  expected: `one of ${choices.join(', ')}`,
  accepts: (v) => choices.includes(v),
});

/** Toil's `--coordinationDir` check: the path exists (a relative one, from the current directory). */
export const existingPath: ValueCheck = {
  expected: 'a path that exists',
  accepts: (v) => existsSync(resolve(v)),
};

/** How an option of the table takes its argument: a kind, or a check (of a `value` option). */
type ArgOf = ForeignOption['arg'] | ValueCheck;
const option = (arg: ArgOf, effect: ForeignOption['effect'], why: string, flag: string): ForeignOption =>
  typeof arg === 'string' ? { flag, arg, effect, why } : { flag, arg: 'value', effect, why, check: arg };

export const ignored = (arg: ArgOf, why: string, ...flags: string[]): ForeignOption[] =>
  flags.map((flag) => option(arg, 'ignored', why, flag));
export const refused = (arg: ArgOf, why: string, ...flags: string[]): ForeignOption[] =>
  flags.map((flag) => option(arg, 'refused', why, flag));

/** The options of `table` (one, from `ignored` or `refused`), standing also for Toil's `envVar`. */
export const withEnvVar = (envVar: string, table: ForeignOption[]): ForeignOption[] =>
  table.map((o) => ({ ...o, envVar }));

/**
 * commander's attribute name for a long flag (`--sseKey` → `sseKey`, `--log-dir` → `logDir`,
 * `--use_private_ip` → itself).
 */
const attr = (flag: string): string => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const ARG_SPEC: Readonly<Record<ForeignOption['arg'], string>> = {
  bool: ' [bool]',
  value: ' <value>',
  optional: ' [value]',
  values: ' <value...>',
  none: '',
};

/** Adds the options of `table` to `cmd`, hidden from --help (they are documented with the command). */
export function addForeignOptions(cmd: Command, table: readonly ForeignOption[]): Command {
  for (const o of table) cmd.addOption(new Option(`${o.flag}${ARG_SPEC[o.arg]}`).hideHelp());
  return cmd;
}

const isOn = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(true|yes|1)$/i.test(v));

/**
 * Checks the options of `table` the user gave: throws for the first refused one (exit 2), and
 * returns one line for each ignored one, for the command to print before it starts.
 */
export function checkForeignOptions(
  flags: object,
  table: readonly ForeignOption[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const notices: string[] = [];
  for (const o of table) {
    const given = (flags as Record<string, unknown>)[attr(o.flag)];
    const fromEnv =
      given === undefined && o.envVar !== undefined ? env[o.envVar]?.trim() || undefined : undefined;
    const v = given ?? fromEnv;
    if (v === undefined) continue;
    const name = fromEnv !== undefined ? o.envVar! : o.flag;
    // As the user wrote it: `--flag value`, or `VARIABLE=value`.
    const valued = (text: string): string => (fromEnv !== undefined ? `${name}=${text}` : `${name} ${text}`);
    if (o.arg === 'bool' && typeof v === 'string' && !/^(true|false|yes|no|1|0)$/i.test(v))
      throw new UserInputError('BAD_FLAG', `${valued(v)}: expected true or false`);
    if (o.check && typeof v === 'string' && !o.check.accepts(v))
      throw new UserInputError('BAD_FLAG', `${valued(v)}: expected ${o.check.expected}`);
    if (o.effect === 'refused' && (o.arg !== 'bool' || isOn(v)))
      throw new UserInputError('UNSUPPORTED_TOIL_OPTION', `${fromEnv ? valued(fromEnv) : name}: ${o.why}`, {
        flag: name,
      });
    if (o.effect === 'ignored') notices.push(`toil: ${name} has no effect here: ${o.why}`);
  }
  return notices;
}

/** Toil's `--logLevel` choices (in the spellings toil-ts's own `--logLevel` takes). */
const logLevel: ValueCheck = {
  expected: `one of ${LOG_LEVEL_NAMES.join(', ')}`,
  accepts: (v) => toPinoLevel(v) !== undefined,
};

/**
 * The options every Toil utility takes (Toil's `parser_with_common_options`: logging and
 * `--tempDirRoot`), for a toil-ts utility that writes no log and no temporary file: it prints its
 * report, so they change nothing.
 */
export function utilityCommonOptions(
  command: string,
  why: { log?: string; temp?: string } = {},
): ForeignOption[] {
  const noLog = why.log ?? `${command} writes no log, only its report`;
  return [
    ...ignored('none', noLog, '--logCritical', '--logError', '--logWarning', '--logInfo', '--logDebug'),
    ...ignored('none', noLog, '--logTrace', '--logOff', '--rotatingLogging'),
    ...ignored(logLevel, noLog, '--logLevel'),
    ...ignored('value', noLog, '--logFile'),
    ...ignored('bool', noLog, '--logColors'),
    ...ignored('value', why.temp ?? `${command} makes no temporary files`, '--tempDirRoot'),
  ];
}
