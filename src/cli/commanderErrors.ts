import type { Command, CommanderError } from 'commander';

/**
 * commander's own parse errors (`error: unknown option '--maxNodes'` and a usage line) said as every
 * other bad input is: one `toil <command>: …` line naming the input and what was expected. Only
 * the error path reads this; nothing here loads a sub-command.
 */

/** The (sub-)command `argv` names: `toil config check …` is `config`'s `check`. */
export function commandOf(program: Command, argv: readonly string[]): Command {
  let cmd = program;
  for (const token of argv) {
    const sub = cmd.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (sub === undefined) break;
    cmd = sub;
  }
  return cmd;
}

/** `toil run`, `toil config check`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command under `root` (itself excluded) that has the option `flag` (`--maxNodes`, `-w`). */
export function commandsWithOption(root: Command, flag: string): Command[] {
  const out: Command[] = [];
  for (const c of root.commands) {
    if (c.options.some((o) => o.long === flag || o.short === flag)) out.push(c);
    out.push(...commandsWithOption(c, flag));
  }
  return out;
}

/** What the option spelled `flags` (`--config <file>`) of `cmd` is for, from its help. */
function optionDescription(cmd: Command, flags: string): string | undefined {
  return cmd.options.find((o) => o.flags === flags)?.description || undefined;
}

const quoted = (message: string): string | undefined => /'([^']*)'/.exec(message)?.[1];
/** commander's `(Did you mean --retryCount?)`. */
const suggested = (message: string): string | undefined => /\(Did you mean (\S+)\?\)/.exec(message)?.[1];

/** commander's refusal of a value outside an option's `.choices()`: its flag, the value, the choices. */
const CHOICE_REFUSED = /^option '(\S+)[^']*' argument '([^']*)' is invalid\. Allowed choices are (.*)\.$/;

/**
 * What a refused choice expected. The log levels are choices in every spelling Toil takes (debug,
 * Debug, DEBUG): listed so, their nine names hid among 27 words.
 */
function choicesExpected(choices: readonly string[]): string {
  const lower = [...new Set(choices.map((c) => c.toLowerCase()))];
  const cased = (c: string): string[] => [c, `${c.charAt(0).toUpperCase()}${c.slice(1)}`, c.toUpperCase()];
  const inThreeCases =
    lower.length < choices.length && lower.flatMap(cased).every((c) => choices.includes(c));
  return inThreeCases
    ? `expected one of ${lower.join(', ')} (in lower case, Capitalised or UPPER CASE)`
    : `expected one of ${choices.join(', ')}`;
}

/**
 * The line for commander's error `e` in `cmd`; `owners` are the other commands that know an
 * unknown option (an autoscaling flag given to launch-cluster is `toil run`'s).
 */
export function commanderErrorLine(e: CommanderError, cmd: Command, owners: readonly Command[] = []): string {
  const where = commandPath(cmd);
  const text = e.message.replace(/^error: /, '');
  const given = quoted(text);
  const what = (flags: string): string => {
    const d = optionDescription(cmd, flags);
    return d === undefined ? '' : `: ${d}`;
  };
  switch (e.code) {
    case 'commander.unknownOption': {
      const suggestion = suggested(text);
      const elsewhere = owners.filter((o) => o !== cmd).map(commandPath);
      const hint =
        elsewhere.length > 0
          ? `it is an option of ${elsewhere.join(' and ').replace(/ and (?=.* and )/g, ', ')}, not of ${where}`
          : suggestion !== undefined
            ? `did you mean ${suggestion}?`
            : `${where} --help lists its options`;
      return `${where}: unknown option ${given}: ${hint}`;
    }
    case 'commander.missingMandatoryOptionValue':
      return `${where}: ${given} is required${what(given ?? '')}`;
    case 'commander.optionMissingArgument':
      return `${where}: ${given} needs a value${what(given ?? '')}`;
    case 'commander.missingArgument': {
      const d = cmd.registeredArguments.find((a) => a.name() === given)?.description;
      return `${where}: missing ${given}${d ? `: ${d}` : ''}; usage: ${where} ${cmd.usage()}`;
    }
    case 'commander.unknownCommand': {
      const suggestion = suggested(text);
      return `${where}: unknown command ${given}: ${suggestion !== undefined ? `did you mean ${suggestion}? ` : ''}${where} --help lists the commands`;
    }
    case 'commander.invalidArgument': {
      const refused = CHOICE_REFUSED.exec(text);
      if (refused)
        return `${where}: ${refused[1]} ${refused[2]}: ${choicesExpected(refused[3]!.split(', '))}`;
      return `${where}: ${text.replace(/\s*\n\s*/g, ' ')}`;
    }
    default:
      return `${where}: ${text.replace(/\s*\n\s*/g, ' ')}`;
  }
}
