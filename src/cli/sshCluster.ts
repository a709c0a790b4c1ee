import { collect } from '../provisioner/cluster/cliSupport.js';
import { runInherited, sshArgs } from '../provisioner/cluster/remote.js';
import { clusterLeaderAddress, type RemoteFlags } from './clusterLeader.js';
import type { SubCommand } from './main.js';
import { addClusterLoggingOptions } from './clusterLogging.js';
import { addForeignOptions, checkForeignOptions, ignored, type ForeignOption } from './foreignOptions.js';
import { remoteCommand } from './remoteCommand.js';

/** Toil's ssh-cluster options toil-ts has no counterpart for (src/cli/foreignOptions.ts). */
const FOREIGN: readonly ForeignOption[] = ignored(
  'value',
  "toil-ts's leader runs no Grafana to forward; its status page and /metrics are served by the leader's daemon (docs/leader.md)",
  '--grafana_port',
);

/**
 * Toil's warning for a command whose first word looks like an option: that word is what runs on
 * the leader, and the option of toil's it may have been meant as is not applied.
 */
function optionLikeCommand(command: readonly string[]): string | undefined {
  const first = command[0];
  if (first === undefined || !first.startsWith('-')) return undefined;
  return `toil: ssh-cluster: '${first}' is taken as the command to run on the leader, though it looks like an option (toil's own options go before the cluster name)`;
}

export const command: SubCommand = {
  register(program, setExitCode) {
    const cmd = remoteCommand(program, 'ssh-cluster')
      .description("Run a command (default: bash) in the leader's appliance container over ssh.")
      .argument('<clusterName>')
      .argument(
        '[command...]',
        "what to run on the leader: every word after the cluster name, verbatim (give toil's own options before the name)",
      )
      .option('--insecure', 'do not check the host key (first contact with a new leader)', false)
      .option(
        '--sshOption <option>',
        'pass an option to ssh, e.g. --sshOption=-oPort=2222 (repeatable)',
        collect,
        [],
      );
    addForeignOptions(addClusterLoggingOptions(cmd), FOREIGN).action(
      async (name: string, words: string[], f: RemoteFlags) => {
        for (const notice of checkForeignOptions(f, FOREIGN)) process.stderr.write(`${notice}\n`);
        // `NAME -- cmd` was this command's documented form, and no program is named `--`: a
        // leading `--` ends nothing on the leader, so it is dropped rather than run (Toil runs it).
        const cmd = words[0] === '--' ? words.slice(1) : words;
        const warning = optionLikeCommand(cmd);
        if (warning !== undefined) process.stderr.write(`${warning}\n`);
        const ip = await clusterLeaderAddress(name, f);
        const tty = process.stdin.isTTY === true;
        setExitCode(
          await runInherited('ssh', sshArgs(ip, cmd, { insecure: f.insecure, sshOptions: f.sshOption, tty })),
        );
      },
    );
  },
};
