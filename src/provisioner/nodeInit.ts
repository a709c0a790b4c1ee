import { UserInputError } from '../common/errors.js';

/** The environment variables of Toil's custom node initialisation (values passed in by the caller). */
export interface NodeInitSettings {
  readonly TOIL_CUSTOM_INIT_COMMAND?: string | undefined;
  readonly TOIL_CUSTOM_DOCKER_INIT_COMMAND?: string | undefined;
}

/**
 * The bash commands a node runs as it boots, as Toil runs them: `host` (TOIL_CUSTOM_INIT_COMMAND)
 * on the node before any appliance container starts, `container` (TOIL_CUSTOM_DOCKER_INIT_COMMAND)
 * in each of the node's service containers before its service. Either may log in to the private
 * registry TOIL_APPLIANCE_SELF names.
 */
export interface NodeInitCommands {
  readonly host?: string;
  readonly container?: string;
}

/**
 * The commands set (an empty or blank variable is unset). Toil refuses a newline, carriage return
 * or tab in either: each is one line of the node's boot (a systemd command line, an environment
 * value on one), where such a character would end or split it.
 */
export function nodeInitCommands(settings: NodeInitSettings): NodeInitCommands {
  const host = checked(settings.TOIL_CUSTOM_INIT_COMMAND, 'TOIL_CUSTOM_INIT_COMMAND');
  const container = checked(settings.TOIL_CUSTOM_DOCKER_INIT_COMMAND, 'TOIL_CUSTOM_DOCKER_INIT_COMMAND');
  return { ...(host !== undefined ? { host } : {}), ...(container !== undefined ? { container } : {}) };
}

/** The variables that carry `commands` to the leader's daemon, which hands them to its workers. */
export function nodeInitEnvironment(commands: NodeInitCommands | undefined): Record<string, string> {
  return {
    ...(commands?.host !== undefined ? { TOIL_CUSTOM_INIT_COMMAND: commands.host } : {}),
    ...(commands?.container !== undefined ? { TOIL_CUSTOM_DOCKER_INIT_COMMAND: commands.container } : {}),
  };
}

function checked(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const bad = /[\n\r\t]/.exec(value)?.[0];
  if (bad !== undefined)
    throw new UserInputError(
      'BAD_INIT_COMMAND',
      `${name}: ${JSON.stringify(value)} contains a ${bad === '\t' ? 'tab' : bad === '\n' ? 'newline' : 'carriage return'}: expected one line of bash (join commands with ; or &&)`,
      { name },
    );
  return value;
}
