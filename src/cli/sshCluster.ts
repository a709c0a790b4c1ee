import { collect } from '../provisioner/cluster/cliSupport.js';
import { runInherited, sshArgs } from '../provisioner/cluster/remote.js';
import { clusterLeaderAddress } from './clusterLeader.js';
import type { SubCommand } from './main.js';

export const command: SubCommand = {
  register(program, setExitCode) {
    program
      .command('ssh-cluster')
      .description("Run a command (default: bash) in the leader's appliance container over ssh.")
      .argument('<clusterName>')
      .argument('[command...]', 'what to run on the leader (put -- before it if it has options)')
      .option('-p, --provisioner <name>', 'the cloud (aws)', 'aws')
      .option('-z, --zone <zone>', 'availability zone (default: TOIL_AWS_ZONE)')
      .option('--insecure', 'do not check the host key (first contact with a new leader)', false)
      .option(
        '--sshOption <option>',
        'pass an option to ssh, e.g. --sshOption=-oPort=2222 (repeatable)',
        collect,
        [],
      )
      .option('--logLevel <level>', 'log level', 'warning')
      .allowUnknownOption()
      .action(
        async (
          name: string,
          cmd: string[],
          f: {
            provisioner?: string;
            zone?: string;
            insecure: boolean;
            sshOption: string[];
            logLevel?: string;
          },
        ) => {
          const ip = await clusterLeaderAddress(name, f);
          const tty = process.stdin.isTTY === true;
          setExitCode(
            await runInherited(
              'ssh',
              sshArgs(ip, cmd, { insecure: f.insecure, sshOptions: f.sshOption, tty }),
            ),
          );
        },
      );
  },
};
