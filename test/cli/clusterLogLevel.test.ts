import { Command } from 'commander';
import t from 'tap';
import { clusterLogLevel } from '../../src/cli/clusterLogging.js';
import { command as destroyCluster } from '../../src/cli/destroyCluster.js';
import { command as launchCluster } from '../../src/cli/launchCluster.js';
import { command as rsyncCluster } from '../../src/cli/rsyncCluster.js';
import { command as sshCluster } from '../../src/cli/sshCluster.js';
import type { SubCommand } from '../../src/cli/main.js';

/**
 * The log level of a cluster utility comes from the options it parsed as its own: the last of
 * `--logLevel` and the `--log<Level>` switches given (as in Toil, where they share one setting), else warning. On ssh- and rsync-cluster a switch after the
 * cluster name is the remote command's or rsync's, and leaves toil's level alone.
 */
const SUBS: Readonly<Record<string, SubCommand>> = {
  'ssh-cluster': sshCluster,
  'rsync-cluster': rsyncCluster,
  'launch-cluster': launchCluster,
  'destroy-cluster': destroyCluster,
};

function parsed(name: string, args: string[]): { level: string; operands: string[] } {
  const program = new Command();
  SUBS[name]!.register(program, () => undefined);
  const cmd = program.commands.find((c) => c.name() === name)!;
  const { operands } = cmd.parseOptions(args);
  return { level: clusterLogLevel(cmd.opts()), operands };
}

const ROWS: [name: string, command: string, args: string[], level: string, operands: string[]][] = [
  ['no option: warning', 'ssh-cluster', ['c', 'ls'], 'warning', ['c', 'ls']],
  ['a switch before the name', 'ssh-cluster', ['--logDebug', 'c', 'ls'], 'debug', ['c', 'ls']],
  [
    "a switch after the name is the command's",
    'ssh-cluster',
    ['c', 'toil', 'clean', '--logDebug', 'file:s'],
    'warning',
    ['c', 'toil', 'clean', '--logDebug', 'file:s'],
  ],
  [
    "--logLevel after the name is the command's",
    'ssh-cluster',
    ['--logError', 'c', 'toil', 'status', '--logLevel', 'debug'],
    'error',
    ['c', 'toil', 'status', '--logLevel', 'debug'],
  ],
  [
    "rsync-cluster: a switch after the name is rsync's",
    'rsync-cluster',
    ['--logInfo', 'c', '--logTrace', ':/tmp'],
    'info',
    ['c', '--logTrace', ':/tmp'],
  ],
  [
    'the last switch wins',
    'rsync-cluster',
    ['--logInfo', '--logError', 'c', 'a', ':b'],
    'error',
    ['c', 'a', ':b'],
  ],
  ['the last switch wins, either way', 'ssh-cluster', ['--logError', '--logInfo', 'c'], 'info', ['c']],
  [
    '--logLevel, then a switch: the switch',
    'ssh-cluster',
    ['--logLevel', 'info', '--logDebug', 'c'],
    'debug',
    ['c'],
  ],
  [
    'a switch, then --logLevel: --logLevel',
    'launch-cluster',
    ['--logDebug', '--logLevel=info', 'c'],
    'info',
    ['c'],
  ],
  ['launch-cluster: a switch after the name', 'launch-cluster', ['c', '--logDebug'], 'debug', ['c']],
  ['destroy-cluster: --logOff', 'destroy-cluster', ['--logOff', 'c'], 'critical', ['c']],
];

t.test("a cluster utility's log level is from the options it parsed as its own", async (t) => {
  for (const [name, command, args, level, operands] of ROWS)
    t.same(parsed(command, args), { level, operands }, `${command}: ${name}`);
});
