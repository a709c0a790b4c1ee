import { Command, CommanderError } from 'commander';
import { coerceError, isUserError } from '../common/errors.js';
import { VERSION } from '../common/version.js';
import { JobStoreUnavailableError, JobStoreUnwritableError, LeaseLostError } from '../jobstore/errors.js';
import { ProvisionerError } from '../provisioner/errors.js';
import { STORE_READING_COMMANDS, STORE_UNREACHABLE_EXIT } from './storeUnreachable.js';

export { exitIfAsked } from './exitWhenDone.js';

/**
 * A sub-command: one file in src/cli each, thin (parse flags, call a module). `register` adds it
 * to the root program; the action resolves to the process exit code.
 */
export interface SubCommand {
  register(program: Command, setExitCode: (code: number) => void): void;
}

/**
 * The sub-commands by name, in the order `toil --help` lists them. Each is loaded only when it
 * is needed: a worker process (`toil worker`, once per job on a cluster node) then loads the
 * worker and nothing else, instead of the AWS SDK, fastify and the rest.
 */
const SUB_COMMANDS: readonly (readonly [string, () => Promise<{ command: SubCommand }>])[] = [
  ['run', () => import('./run.js')],
  ['status', () => import('./status.js')],
  ['stats', () => import('./stats.js')],
  ['cancel', () => import('./cancel.js')],
  ['kill', () => import('./kill.js')],
  ['debug-job', () => import('./debugJob.js')],
  ['debug-file', () => import('./debugFile.js')],
  ['clean', () => import('./clean.js')],
  ['leader', () => import('./leader.js')],
  ['config', () => import('./config.js')],
  ['simulate', () => import('./simulate.js')],
  ['launch-cluster', () => import('./launchCluster.js')],
  ['ssh-cluster', () => import('./sshCluster.js')],
  ['rsync-cluster', () => import('./rsyncCluster.js')],
  ['destroy-cluster', () => import('./destroyCluster.js')],
  ['localcloud', () => import('./localcloud.js')],
  ['worker', () => import('./worker.js')],
  ['slurm-controller', () => import('./slurmController.js')],
  ['slurm-node', () => import('./slurmNode.js')],
  ['rebalance-watch', () => import('./rebalanceWatch.js')],
  ['workflow-host', () => import('./workflowHost.js')],
];

/** The named sub-command alone; none for the version; every one for help, a typo, or no command at all. */
async function loadSubCommands(name: string | undefined): Promise<SubCommand[]> {
  if (name === '--version') return [];
  const chosen = SUB_COMMANDS.filter(([n]) => n === name);
  const modules = await Promise.all((chosen.length > 0 ? chosen : SUB_COMMANDS).map(([, load]) => load()));
  return modules.map((m) => m.command);
}

/**
 * Runs the `toil` command line; resolves to the exit code (0 ok, 1 failure, 2 bad input, 3 a job
 * store a command reads could not be reached).
 */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  // A reader that went away (`toil launch-cluster … | head`, a closed terminal) fails the next
  // write to its stream with EPIPE or EIO, which Node throws from the stream's 'error' event: the
  // process died mid-command, leaving what it had made (a leader instance, its security group)
  // running. The command goes on without that output; its exit code still says how it ended.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const program = new Command('toil')
    .description('Run batch workflows on a Mesos cluster of EC2 workers that scales itself.')
    .version(VERSION, '--version')
    // commander's parse errors are written as ours, one `toil …:` line (see the catch below).
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  for (const sub of await loadSubCommands(argv[0])) sub.register(program, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are exits too; commander has already printed what it had to say.
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return 0;
      process.stderr.write(`${await commanderErrorText(e, program, argv)}\n`);
      return 2;
    }
    if (isUserError(e)) {
      process.stderr.write(`toil: ${e.message}\n`);
      return 2;
    }
    if (
      e instanceof JobStoreUnavailableError ||
      e instanceof LeaseLostError ||
      e instanceof JobStoreUnwritableError
    ) {
      // The store could not be reached (an S3 endpoint that does not answer, 5xx after the
      // client's retries, or renewals of the lease until it lapsed) or its disk refused a write
      // (full, read-only): not bad input, not a bug, and its message names the request and why.
      process.stderr.write(`toil: ${e.message}\n`);
      // A command that reads a store (and reports on it), and a run, say so with a code of their own.
      return e instanceof JobStoreUnavailableError && STORE_READING_COMMANDS.has(argv[0] ?? '')
        ? STORE_UNREACHABLE_EXIT
        : 1;
    }
    if (e instanceof ProvisionerError) {
      // The cloud's answer (no capacity, a limit, a permission, an instance ended meanwhile),
      // translated once and naming the call: not a bug of toil's.
      process.stderr.write(`toil: ${e.message}\n`);
      return 1;
    }
    const err = coerceError(e);
    process.stderr.write(`toil: internal error: ${err.stack ?? err.message}\n`);
    return 1;
  }
}

/**
 * commander's parse error as one `toil …:` line. Loaded on this error path only (a run's start-up
 * loads nothing for it); for an unknown option every sub-command is loaded to say whose it is.
 */
async function commanderErrorText(
  e: CommanderError,
  program: Command,
  argv: readonly string[],
): Promise<string> {
  const { commandOf, commanderErrorLine, commandsWithOption } = await import('./commanderErrors.js');
  const flag = e.code === 'commander.unknownOption' ? /'([^']*)'/.exec(e.message)?.[1] : undefined;
  let owners: Command[] = [];
  // The program's own --version, which ssh- and rsync-cluster take too, is not theirs to point at.
  if (flag !== undefined && !program.options.some((o) => o.long === flag)) {
    const all = new Command('toil');
    for (const sub of await loadSubCommands(undefined)) sub.register(all, () => undefined);
    owners = commandsWithOption(all, flag);
  }
  return commanderErrorLine(e, commandOf(program, argv), owners);
}
