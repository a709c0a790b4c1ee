import { collect } from '../provisioner/cluster/cliSupport.js';
import { runInherited, sshArgs } from '../provisioner/cluster/remote.js';
import { clusterLeaderAddress, type RemoteFlags } from './clusterLeader.js';
import type { SubCommand } from './main.js';
import { addClusterLoggingOptions } from './clusterLogging.js';
import { addForeignOptions, checkForeignOptions, ignored, type ForeignOption } from './foreignOptions.js';

/** Toil's ssh-cluster options toil-ts has no counterpart for (src/cli/foreignOptions.ts). */
const FOREIGN: readonly ForeignOption[] = ignored(
  'value',
  "toil-ts's leader runs no Grafana to forward; its status page and /metrics are served by the leader's daemon (docs/leader.md)",
  '--grafana_port',
);

export const command: SubCommand = {
  register(program, setExitCode) {
    const cmd = program
      .command('ssh-cluster')
      .description("Run a command (default: bash) in the leader's appliance container over ssh.")
      .argument('<clusterName>')
      .argument('[command...]', 'what to run on the leader (put -- before it if it has options)')
      .option('-p, --provisioner <name>', 'the cloud (aws)', 'aws')
      .option(
        '-z, --zone <zone>',
        'availability zone (default: TOIL_AWS_ZONE; a region will do: TOIL_AWS_REGION, AWS_REGION, the AWS profile)',
      )
      .option('--insecure', 'do not check the host key (first contact with a new leader)', false)
      .option(
        '--sshOption <option>',
        'pass an option to ssh, e.g. --sshOption=-oPort=2222 (repeatable)',
        collect,
        [],
      )
      .allowUnknownOption();
    addForeignOptions(addClusterLoggingOptions(cmd), FOREIGN).action(
      async (name: string, cmd: string[], f: RemoteFlags) => {
        for (const notice of checkForeignOptions(f, FOREIGN)) process.stderr.write(`${notice}\n`);
        const ip = await clusterLeaderAddress(name, f);
        const tty = process.stdin.isTTY === true;
        setExitCode(
          await runInherited('ssh', sshArgs(ip, cmd, { insecure: f.insecure, sshOptions: f.sshOption, tty })),
        );
      },
    );
  },
};
