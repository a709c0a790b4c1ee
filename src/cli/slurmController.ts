import { UserInputError } from '../common/errors.js';
import { collect } from '../provisioner/cluster/cliSupport.js';
import { daemonLogger } from './daemonOutput.js';
import { DEFAULT_SLURM_CONF, SLURMCTLD_PORT, SLURMD_PORT } from '../slurm/appliance.js';
import type { SubCommand } from './main.js';
import { bootOptions, port, slurmBootCommon, type SlurmBootFlags } from './slurmNode.js';

export const command: SubCommand = {
  register(program, setExitCode) {
    bootOptions(
      program
        .command('slurm-controller')
        .description(
          "The appliance's leader boot for --clusterType slurm: fetch the cluster's munge key from SSM, write slurm.conf for this host, run munged and slurmctld (docs/slurm.md). Needs root.",
        ),
    )
      .option('--conf <path>', 'where to write slurm.conf', DEFAULT_SLURM_CONF)
      .option('--port <port>', "slurmctld's port", String(SLURMCTLD_PORT))
      .option('--slurmd-port <port>', "the workers' slurmd port", String(SLURMD_PORT))
      .option('--address <ip>', "this host's private address (default: from the instance metadata)")
      .option('--conf-line <KEY=VALUE>', 'an extra slurm.conf line (repeatable)', collect, [])
      .option(
        '--dir <dir>',
        "one folder for Slurm's state, spool, pid files and logs (default: the appliance's)",
      )
      .action(
        async (
          f: SlurmBootFlags & {
            conf: string;
            port: string;
            slurmdPort: string;
            address?: string;
            confLine: string[];
          },
        ) => {
          for (const line of f.confLine)
            if (!/^[A-Za-z]+=\S/.test(line))
              throw new UserInputError('BAD_FLAG', `--conf-line ${line}: expected KEY=VALUE`);
          // The AWS SDK loads once the input is accepted.
          const { bootSlurmController } = await import('../main/slurmBoot.js');
          setExitCode(
            await bootSlurmController({
              ...slurmBootCommon(f, daemonLogger(f.logLevel ?? 'warning', 'stderr')),
              conf: f.conf,
              port: port('--port', f.port),
              slurmdPort: port('--slurmd-port', f.slurmdPort),
              ...(f.address ? { address: f.address } : {}),
              confLines: f.confLine,
            }),
          );
        },
      );
  },
};
