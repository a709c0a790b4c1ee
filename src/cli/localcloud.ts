import type { Command } from 'commander';
import type { SubCommand } from './main.js';
import { registerMesosCommands } from './localcloudMesos.js';
import { registerEc2Commands } from './localcloudEc2.js';

/**
 * `toil localcloud`: the local stand-ins for AWS and Mesos (an EC2 Query API endpoint and a Mesos
 * master whose agents are processes on this machine), startable together or one by one.
 * Each stand-in registers its own sub-commands on the `localcloud` command.
 */
const registrations: ((localcloud: Command, setExitCode: (code: number) => void) => void)[] = [
  // One entry per stand-in module, e.g. (await import('./localcloudMesos.js')).registerMesosCommands.
  registerMesosCommands,
  registerEc2Commands,
];

export const command: SubCommand = {
  register(program, setExitCode) {
    // `localcloud` has options of its own (its combined default action) with the same names as
    // its sub-commands' (--logLevel, --host); without this, the parent would take those flags
    // even when they are written after `mesos`/`agent`/`ec2`.
    program.enablePositionalOptions();
    const localcloud = program
      .command('localcloud')
      .description(
        'Run a local EC2 endpoint and Mesos master that speak the real wire protocols (no cloud needed).',
      );
    for (const register of registrations) register(localcloud, setExitCode);
  },
};
