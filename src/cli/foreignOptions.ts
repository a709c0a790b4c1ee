import { Option, type Command } from 'commander';
import { UserInputError } from '../common/errors.js';

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
}

export const ignored = (arg: ForeignOption['arg'], why: string, ...flags: string[]): ForeignOption[] =>
  flags.map((flag) => ({ flag, arg, effect: 'ignored', why }));
export const refused = (arg: ForeignOption['arg'], why: string, ...flags: string[]): ForeignOption[] =>
  flags.map((flag) => ({ flag, arg, effect: 'refused', why }));

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
export function checkForeignOptions(flags: object, table: readonly ForeignOption[]): string[] {
  const notices: string[] = [];
  for (const o of table) {
    const v = (flags as Record<string, unknown>)[attr(o.flag)];
    if (v === undefined) continue;
    if (o.arg === 'bool' && typeof v === 'string' && !/^(true|false|yes|no|1|0)$/i.test(v))
      throw new UserInputError('BAD_FLAG', `${o.flag} ${v}: expected true or false`);
    if (o.effect === 'refused' && (o.arg !== 'bool' || isOn(v)))
      throw new UserInputError('UNSUPPORTED_TOIL_OPTION', `${o.flag}: ${o.why}`, { flag: o.flag });
    if (o.effect === 'ignored') notices.push(`toil: ${o.flag} has no effect here: ${o.why}`);
  }
  return notices;
}

/**
 * The options every Toil utility takes (Toil's `parser_with_common_options`: logging and
 * `--tempDirRoot`), for a toil-ts utility that writes no log and no temporary file: it prints its
 * report, so they change nothing.
 */
export function utilityCommonOptions(command: string): ForeignOption[] {
  const noLog = `${command} writes no log, only its report`;
  return [
    ...ignored('none', noLog, '--logCritical', '--logError', '--logWarning', '--logInfo', '--logDebug'),
    ...ignored('none', noLog, '--logTrace', '--logOff', '--rotatingLogging'),
    ...ignored('value', noLog, '--logLevel', '--logFile'),
    ...ignored('bool', noLog, '--logColors'),
    ...ignored('value', `${command} makes no temporary files`, '--tempDirRoot'),
  ];
}
