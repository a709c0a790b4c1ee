import { Option, type Command } from 'commander';

/** Toil's `--log<Level>` switches, each the same as `--logLevel <level>`; `--logOff` is critical. */
export const LEVEL_SWITCHES: readonly [flag: string, level: string][] = [
  ['--logCritical', 'critical'],
  ['--logError', 'error'],
  ['--logWarning', 'warning'],
  ['--logInfo', 'info'],
  ['--logDebug', 'debug'],
  ['--logTrace', 'trace'],
  ['--logOff', 'critical'],
];

/**
 * Adds Toil's `--log<Level>` switches (hidden from --help) to `cmd`, which has `--logLevel`. In
 * Toil they and `--logLevel` share one argparse dest, so the last one given wins
 * (`--logLevel INFO --logDebug` logs at DEBUG): each switch sets `logLevel` as commander parses
 * it, in command-line order, and a `--logLevel` after it sets it again. Only the options commander
 * reads as `cmd`'s own count, so a switch among a remote command's words is left alone.
 */
export function addLevelSwitches(cmd: Command): Command {
  for (const [flag, level] of LEVEL_SWITCHES) {
    const option = new Option(flag, `same as --logLevel ${level}`).hideHelp();
    cmd.addOption(option);
    cmd.on(`option:${option.name()}`, () => cmd.setOptionValueWithSource('logLevel', level, 'cli'));
  }
  return cmd;
}

/** Whether `o` is one of Toil's `--log<Level>` switches. */
export const isLevelSwitch = (o: Option): boolean => LEVEL_SWITCHES.some(([flag]) => o.long === flag);
