import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { VERSION } from '../../src/common/version.js';
import { localClusterWithLeader } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * ssh-cluster and rsync-cluster read their command line as Toil's do (`args` with
 * `nargs=argparse.REMAINDER` after the cluster name): toil's own options go before the name, and
 * every word after it is the remote command's or rsync's, verbatim, even one spelled like an option
 * of toil's. Each row runs the CLI against a local EC2 endpoint that holds the cluster's leader
 * (public address 127.0.0.1), with `ssh` and `rsync` on PATH replaced by a program that records the
 * arguments it was handed.
 */
t.setTimeout(180_000);

const CLUSTER = 'words';
const ZONE = 'us-west-2a';
/** A zone of another region, where the cluster is not: the command finds it only by --zone ZONE. */
const OTHER_ZONE = 'us-east-1a';

const RECORDER = `#!/bin/sh
printf '%s\\0' "\${0##*/}" "$@" > "$ARGV_FILE"
`;

const LEADER = 'core@127.0.0.1';
/** The remote command's log file: toil must not make it here. */
const REMOTE_LOG = join(tmpdir(), `toil-words-after-name-${process.pid}.log`);
const INSECURE = ['-oUserKnownHostsFile=/dev/null', '-oStrictHostKeyChecking=no'];
/** What ssh-cluster hands ssh (no terminal: the test's stdin is none). */
const ssh = (options: string[], command: string[]): string[] => [
  'ssh',
  ...['-L', '5050:localhost:5050', ...options, LEADER],
  ...['docker', 'exec', '-i', 'toil_leader', ...command],
];
/** What rsync-cluster hands rsync. */
const rsync = (sshCommand: string, args: string[]): string[] => [
  'rsync',
  ...['-e', sshCommand, '--rsync-path', 'docker exec -i toil_leader rsync', ...args],
];

/** What the row shows, toil's arguments, TOIL_AWS_ZONE, the program run with its arguments, all of toil's stderr. */
type Row = [name: string, args: string[], zone: string, ran: string[], stderr?: string];

const ROWS: Row[] = [
  [
    "rsync-cluster: -avz after the name is rsync's, -z before it the zone",
    ['rsync-cluster', '-z', ZONE, CLUSTER, '-avz', 'sort.ts', ':/tmp'],
    OTHER_ZONE,
    rsync('ssh', ['-avz', 'sort.ts', `${LEADER}:/tmp`]),
  ],
  [
    "rsync-cluster: -z after the name is rsync's, not the zone",
    ['rsync-cluster', CLUSTER, '-z', OTHER_ZONE, ':/tmp/x'],
    ZONE,
    rsync('ssh', ['-z', OTHER_ZONE, `${LEADER}:/tmp/x`]),
  ],
  [
    "ssh-cluster: -z after the name is the command's, not the zone",
    ['ssh-cluster', CLUSTER, 'ls', '-z', OTHER_ZONE],
    ZONE,
    ssh([], ['ls', '-z', OTHER_ZONE]),
  ],
  [
    "ssh-cluster: --logLevel after the name is the command's, unchecked by toil",
    ['ssh-cluster', CLUSTER, 'toil', 'status', '--logLevel', 'loud', 'aws:us-west-2:store'],
    ZONE,
    ssh([], ['toil', 'status', '--logLevel', 'loud', 'aws:us-west-2:store']),
  ],
  [
    "ssh-cluster: --logDebug and --logFile after the name are the command's",
    ['ssh-cluster', CLUSTER, 'toil', 'clean', '--logDebug', '--logFile', REMOTE_LOG, 'file:store'],
    ZONE,
    ssh([], ['toil', 'clean', '--logDebug', '--logFile', REMOTE_LOG, 'file:store']),
  ],
  [
    "ssh-cluster: --insecure and --sshOption after the name are the command's",
    ['ssh-cluster', CLUSTER, 'echo', '--insecure', '--sshOption=-oPort=2222'],
    ZONE,
    ssh([], ['echo', '--insecure', '--sshOption=-oPort=2222']),
  ],
  [
    "ssh-cluster: --insecure, --sshOption and -z before the name are toil's",
    ['ssh-cluster', '--insecure', '--sshOption=-oPort=2222', '-z', ZONE, CLUSTER, 'ls', '-z'],
    OTHER_ZONE,
    ssh([...INSECURE, '-oPort=2222'], ['ls', '-z']),
  ],
  [
    "rsync-cluster: --insecure, --sshOption and --zone before the name are toil's",
    ['rsync-cluster', '--insecure', '--sshOption', '-p2222', `--zone=${ZONE}`, CLUSTER, '-a', ':/x', '.'],
    OTHER_ZONE,
    rsync(`ssh ${INSECURE.join(' ')} -p2222`, ['-a', `${LEADER}:/x`, '.']),
  ],
  [
    "ssh-cluster: --help and --version after the name are the command's",
    ['ssh-cluster', CLUSTER, 'ls', '--help', '--version'],
    ZONE,
    ssh([], ['ls', '--help', '--version']),
  ],
  [
    "ssh-cluster: -- before the name ends toil's options and is not passed on",
    ['ssh-cluster', '--', CLUSTER, 'ls', '-z'],
    ZONE,
    ssh([], ['ls', '-z']),
  ],
  [
    'ssh-cluster: a -- right after the name is dropped (no program is named --), the rest runs verbatim',
    ['ssh-cluster', CLUSTER, '--', 'ls', '-z'],
    ZONE,
    ssh([], ['ls', '-z']),
  ],
  [
    "ssh-cluster: a first word spelled like an option runs as the command, with Toil's warning",
    ['ssh-cluster', CLUSTER, '-z', 'ls'],
    ZONE,
    ssh([], ['-z', 'ls']),
    "toil: ssh-cluster: '-z' is taken as the command to run on the leader, though it looks like an option (toil's own options go before the cluster name)\n",
  ],
  [
    "rsync-cluster: -- after the name is rsync's",
    ['rsync-cluster', CLUSTER, '-av', '--', '-a.txt', ':/tmp'],
    ZONE,
    rsync('ssh', ['-av', '--', '-a.txt', `${LEADER}:/tmp`]),
  ],
  [
    "rsync-cluster: -- before the name ends toil's options and is not passed on",
    ['rsync-cluster', '--', CLUSTER, 'a.txt', ':/tmp'],
    ZONE,
    rsync('ssh', ['a.txt', `${LEADER}:/tmp`]),
  ],
];

t.test('the words after the cluster name go to the remote command or rsync verbatim', async (t) => {
  const { endpoint } = await localClusterWithLeader(t, CLUSTER, '127.0.0.1/32');
  await waitFor('the leader to be running', () =>
    [...endpoint.cloud.instances.values()].every((i) => i.state === 'running'),
  );
  t.teardown(() => rmSync(REMOTE_LOG, { force: true }));
  const dir = testDir(t);
  for (const program of ['ssh', 'rsync']) writeFileSync(join(dir, program), RECORDER, { mode: 0o755 });
  const argvFile = join(dir, 'argv');
  const env = (zone: string) => ({
    AWS_ENDPOINT_URL_EC2: endpoint.url,
    TOIL_AWS_ZONE: zone,
    ARGV_FILE: argvFile,
    PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
  });

  for (const [name, args, zone, expected, stderr = ''] of ROWS) {
    rmSync(argvFile, { force: true });
    const r = await runToil(args, env(zone));
    t.equal(r.code, 0, `${name}: exit 0 (stderr: ${r.stderr.slice(0, 2000)})`);
    const ran = existsSync(argvFile) ? readFileSync(argvFile, 'utf8').split('\0').slice(0, -1) : [];
    t.same(ran, expected, `${name}: the arguments handed on`);
    t.equal(r.stderr, stderr, `${name}: stderr`);
  }

  t.notOk(existsSync(REMOTE_LOG), '--logFile after the name made no file here');

  rmSync(argvFile, { force: true });
  const badLevel = await runToil(['ssh-cluster', '--logLevel', 'loud', CLUSTER, 'true'], env(ZONE));
  t.equal(badLevel.code, 2, "--logLevel before the name is toil's, and checked: exit 2");
  t.match(badLevel.stderr, /^toil: --logLevel: 'loud' is not one of /);
  t.notOk(existsSync(argvFile), 'and nothing is run');

  const unknown = await runToil(['ssh-cluster', '--bogus', CLUSTER, 'ls'], env(ZONE));
  t.equal(unknown.code, 2, 'an option before the name that toil does not know: exit 2');
  t.equal(
    unknown.stderr,
    'toil ssh-cluster: unknown option --bogus: toil ssh-cluster --help lists its options\n',
  );
  t.notOk(existsSync(argvFile), 'and nothing is run');
});

t.test(
  "--version and --help are toil's before the cluster name, and after any other command's name",
  async (t) => {
    for (const args of [
      ['ssh-cluster', '--version'],
      ['rsync-cluster', '-z', ZONE, '--version'],
      ['status', '--version'],
      ['run', '--version'],
      ['launch-cluster', '--version'],
    ]) {
      const r = await runToil(args);
      t.equal(r.code, 0, `${args.join(' ')}: exit 0`);
      t.equal(r.stdout, `${VERSION}\n`, `${args.join(' ')}: the version`);
    }
    const localcloud = await runToil(['localcloud', '--version']);
    t.equal(localcloud.code, 2, 'localcloud reads its options after its name: --version is not one');
    t.notMatch(localcloud.stderr, /ssh-cluster/, "and the error does not call it ssh-cluster's option");
    const sshHelp = await runToil(['ssh-cluster', '--insecure', '--help']);
    t.equal(sshHelp.code, 0);
    t.match(sshHelp.stdout, /^Usage: toil ssh-cluster \[options\] <clusterName> \[command\.\.\.\]$/m);
    t.match(sshHelp.stdout, /every word after the\s+cluster name, verbatim/);
    const rsyncHelp = await runToil(['rsync-cluster', '--help']);
    t.equal(rsyncHelp.code, 0);
    t.match(rsyncHelp.stdout, /^Usage: toil rsync-cluster \[options\] <clusterName> <args\.\.\.>$/m);
  },
);
