import { collect } from '../provisioner/cluster/cliSupport.js';
import { rsyncArgs, runInherited } from '../provisioner/cluster/remote.js';
import { clusterLeaderAddress, type RemoteFlags } from './clusterLeader.js';
import type { SubCommand } from './main.js';
import { addClusterLoggingOptions } from './clusterLogging.js';
import { remoteCommand } from './remoteCommand.js';

export const command: SubCommand = {
  register(program, setExitCode) {
    const cmd = remoteCommand(program, 'rsync-cluster')
      .description(
        "Copy files to or from the leader's appliance container with rsync; ':PATH' is the leader's side.",
      )
      .argument('<clusterName>')
      .argument(
        '<args...>',
        "rsync's arguments: every word after the cluster name, verbatim (-avz, -z, --); exactly one starts with ':' (e.g. -avz sort.ts :/tmp)",
      )
      .option('--insecure', 'do not check the host key', false)
      .option('--sshOption <option>', 'pass an option to ssh (repeatable)', collect, []);
    addClusterLoggingOptions(cmd).action(async (name: string, args: string[], f: RemoteFlags) => {
      const ip = await clusterLeaderAddress(name, f, () => {
        // Checked before any cloud call: a missing ':' is a typo, not a cluster problem.
        rsyncArgs('0.0.0.0', args, { insecure: f.insecure, sshOptions: f.sshOption });
      });
      setExitCode(
        await runInherited('rsync', rsyncArgs(ip, args, { insecure: f.insecure, sshOptions: f.sshOption })),
      );
    });
  },
};
