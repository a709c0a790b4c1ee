import { Command, CommanderError } from 'commander';
import { coerceError, isUserError } from '../common/errors.js';
import { VERSION } from '../common/version.js';

/**
 * A sub-command: one file in src/cli each, thin (parse flags, call a module). `register` adds it
 * to the root program; the action resolves to the process exit code.
 */
export interface SubCommand {
  register(program: Command, setExitCode: (code: number) => void): void;
}

/** The sub-commands, in the order `toil --help` lists them. */
async function loadSubCommands(): Promise<SubCommand[]> {
  const modules = await Promise.all([
    // Each entry is `import('./<name>.js')` of a module exporting `command: SubCommand`.
    import('./run.js'),
    import('./status.js'),
    import('./clean.js'),
    import('./leader.js'),
    import('./config.js'),
    import('./simulate.js'),
    import('./launchCluster.js'),
    import('./sshCluster.js'),
    import('./rsyncCluster.js'),
    import('./destroyCluster.js'),
    import('./localcloud.js'),
    import('./worker.js'),
  ] as Promise<{ command: SubCommand }>[]);
  return modules.map((m) => m.command);
}

/** Runs the `toil` command line; resolves to the exit code (0 ok, 1 failure, 2 bad input). */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('toil')
    .description('Run batch workflows on a Mesos cluster of EC2 workers that scales itself.')
    .version(VERSION, '--version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const sub of await loadSubCommands()) sub.register(program, (code) => (exitCode = code));
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
      return 2;
    }
    if (isUserError(e)) {
      process.stderr.write(`toil: ${e.message}\n`);
      return 2;
    }
    const err = coerceError(e);
    process.stderr.write(`toil: internal error: ${err.stack ?? err.message}\n`);
    return 1;
  }
}
