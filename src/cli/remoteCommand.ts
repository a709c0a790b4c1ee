import type { Command } from 'commander';
import { VERSION } from '../common/version.js';

/**
 * ssh-cluster or rsync-cluster, parsed as Toil parses them (`args` with `nargs=argparse.REMAINDER`
 * after the cluster name): toil's own options go before the name, and every word after it belongs
 * to the remote command or to rsync verbatim, even one spelled like an option of toil's (`-z`,
 * `--logLevel`, `--insecure`, `--help`, `--version`, `--`). A `--` before the name only ends
 * toil's options.
 */
export function remoteCommand(program: Command, name: string): Command {
  // commander passes words through only when the program reads its own options before the
  // sub-command's name alone. The program's one option is --version, and a program is built with
  // the named sub-command only (or with all of them when none is named, which localcloud already
  // makes positional), so no other sub-command parses differently; this one takes --version
  // itself, as every Toil utility does.
  program.enablePositionalOptions();
  return program
    .command(name)
    .version(VERSION, '--version')
    .passThroughOptions()
    .option('-p, --provisioner <name>', 'the cloud (aws)', 'aws')
    .option(
      '-z, --zone <zone>',
      'availability zone (default: TOIL_AWS_ZONE; a region will do: TOIL_AWS_REGION, AWS_REGION, the AWS profile)',
    );
}
