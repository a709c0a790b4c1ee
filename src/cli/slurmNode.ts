import type { Command } from 'commander';
import { UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { SlurmBootCommon } from '../main/slurmBoot.js';
import { collect } from '../provisioner/cluster/cliSupport.js';
import { daemonLogger } from './daemonOutput.js';
import { DEFAULT_MUNGE_SOCKET, ON_DEMAND_FEATURE, SPOT_FEATURE } from '../slurm/appliance.js';
import type { SubCommand } from './main.js';

export interface SlurmBootFlags {
  clusterName: string;
  region: string;
  dir?: string;
  mungeSocket: string;
  mungeDir: string;
  logLevel?: string;
}

/** The options of both boot commands (SlurmBootFlags): the cluster, its region, munged, the log level. */
export function bootOptions(command: Command): Command {
  return command
    .requiredOption('--clusterName <name>', 'the cluster (its munge key is /toil/NAME/munge-key in SSM)')
    .requiredOption('--region <region>', "the cluster's region (SSM)")
    .option('--munge-socket <path>', "munged's socket", DEFAULT_MUNGE_SOCKET)
    .option('--munge-dir <dir>', 'where the key and munged’s files go', '/etc/munge')
    .option('--logLevel <level>', 'log level', 'info');
}

export function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UserInputError('BAD_FLAG', `${flag} ${value}: expected a port number (1-65535)`);
  return n;
}

export function slurmBootCommon(f: SlurmBootFlags, log: Logger): SlurmBootCommon {
  return {
    clusterName: f.clusterName,
    region: f.region,
    mungeSocket: f.mungeSocket,
    mungeDir: f.mungeDir,
    ...(f.dir ? { dir: f.dir } : {}),
    env: process.env,
    log,
  };
}

export const command: SubCommand = {
  register(program, setExitCode) {
    bootOptions(
      program
        .command('slurm-node')
        .description(
          "The appliance's worker boot for --clusterType slurm: fetch the cluster's munge key from SSM, run munged and a dynamic slurmd (-Z) that fetches its conf from the controller (docs/slurm.md). Needs root.",
        ),
    )
      .requiredOption('--conf-server <host:port>', 'the controller (slurmctld)')
      .option(
        '--feature <name>',
        `a Slurm feature of this node: ${SPOT_FEATURE} or ${ON_DEMAND_FEATURE} (repeatable)`,
        collect,
        [],
      )
      .option(
        '--node-name <name>',
        "the node's Slurm name (default: the instance id, from the instance metadata)",
      )
      .option(
        '--instance-type <type>',
        "the node's instance type, which sizes it (default: from the instance metadata)",
      )
      .option('--dir <dir>', 'make the spool, pid and log folders the conf names under this folder')
      .action(
        async (
          f: SlurmBootFlags & {
            confServer: string;
            feature: string[];
            nodeName?: string;
            instanceType?: string;
          },
        ) => {
          if (!/^[^:\s]+:\d+$/.test(f.confServer))
            throw new UserInputError('BAD_FLAG', `--conf-server ${f.confServer}: expected HOST:PORT`);
          if (f.feature.length === 0)
            throw new UserInputError('BAD_FLAG', `--feature: give ${SPOT_FEATURE} or ${ON_DEMAND_FEATURE}`);
          // The AWS SDK loads once the input is accepted.
          const { bootSlurmNode } = await import('../main/slurmBoot.js');
          setExitCode(
            await bootSlurmNode({
              ...slurmBootCommon(f, daemonLogger(f.logLevel ?? 'warning', 'stderr')),
              confServer: f.confServer,
              features: f.feature,
              ...(f.nodeName ? { nodeName: f.nodeName } : {}),
              ...(f.instanceType ? { instanceType: f.instanceType } : {}),
            }),
          );
        },
      );
  },
};
