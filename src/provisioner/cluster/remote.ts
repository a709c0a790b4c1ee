import { spawn } from 'node:child_process';
import type { Clock } from '../../common/clock.js';
import { UserInputError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ProvisionedNode } from '../../ports/provisioner.js';
import type { Ec2Calls } from '../aws/ec2Calls.js';
import { clustersHere } from './clustersHere.js';

/** Toil's conventions for reaching the leader: user `core` on Flatcar, the appliance container. */
export const SSH_USER = 'core';
export const LEADER_CONTAINER = 'toil_leader';

export interface RemoteOptions {
  /** Skip host-key checking (Toil's --insecure). */
  readonly insecure: boolean;
  /** Extra arguments for ssh, each as given (`--sshOption=-oPort=2222`). */
  readonly sshOptions: readonly string[];
}

const INSECURE = ['-oUserKnownHostsFile=/dev/null', '-oStrictHostKeyChecking=no'];

/** The leader's address: public if it has one, else private (Toil's effectiveIP). */
export async function leaderAddress(
  calls: Ec2Calls,
  clusterName: string,
  clock: Clock,
  log: Logger,
  region: string,
): Promise<{ readonly ip: string; readonly instanceId: string }> {
  const leader = await runningLeader(calls, clusterName, clock, log, region);
  const ip = leader.publicIp ?? leader.privateIp;
  if (!ip) throw new UserInputError('NO_LEADER_ADDRESS', `the leader of '${clusterName}' has no address yet`);
  return { ip, instanceId: leader.instanceId };
}

/**
 * The leader's private address: where its Mesos master listens for the workers (their agents are
 * started with `--master=<this>:5050`), and so the master a run on the cluster defaults to.
 */
export async function leaderPrivateAddress(
  calls: Ec2Calls,
  clusterName: string,
  clock: Clock,
  log: Logger,
  region: string,
): Promise<{ readonly ip: string; readonly instanceId: string; readonly imageId: string | undefined }> {
  const leader = await runningLeader(calls, clusterName, clock, log, region);
  if (!leader.privateIp)
    throw new UserInputError(
      'NO_LEADER_ADDRESS',
      `the leader of '${clusterName}' has no private address yet`,
    );
  return { ip: leader.privateIp, instanceId: leader.instanceId, imageId: leader.imageId };
}

/** The cluster's first-launched leader, refused unless it is running. */
async function runningLeader(
  calls: Ec2Calls,
  clusterName: string,
  clock: Clock,
  log: Logger,
  region: string,
): Promise<ProvisionedNode> {
  // The EC2 client library loads here, not with ssh-cluster's flags: a typo is reported at once.
  const { AwsCluster } = await import('../aws/awsCluster.js');
  const cluster = new AwsCluster({ calls, clusterName, clock, log });
  const leaders = (await cluster.liveInstances())
    .filter((n) => n.role === 'leader')
    .sort((a, b) => a.launchTime - b.launchTime);
  const leader = leaders[0];
  if (!leader) {
    const others = await cluster.clusterNamesInRegion();
    throw new UserInputError(
      'NO_SUCH_CLUSTER',
      `cluster '${clusterName}' has no leader in region ${region}; ${clustersHere(others)}; check the name and --zone`,
      { clusterName, clustersHere: others },
    );
  }
  if (leader.state !== 'running')
    throw new UserInputError(
      'LEADER_NOT_RUNNING',
      `the leader of '${clusterName}' (${leader.instanceId}) is ${leader.state}, not running`,
    );
  return leader;
}

/**
 * `ssh [-tt] -L 5050:localhost:5050 [opts] core@IP docker exec -i [-t] toil_leader CMD…`.
 * A terminal is asked for only when there is one (Toil always passes -tt, which mangles output
 * that a script reads). Each word of CMD is quoted for the remote shell, so
 * `sh -c 'exit 7'` arrives as three words (Toil joins them unquoted).
 */
export function sshArgs(
  ip: string,
  command: readonly string[],
  o: RemoteOptions & { tty: boolean },
): string[] {
  const cmd = command.length > 0 ? command : ['bash'];
  return [
    ...(o.tty ? ['-tt'] : []),
    '-L',
    '5050:localhost:5050',
    ...(o.insecure ? INSECURE : []),
    ...o.sshOptions,
    `${SSH_USER}@${ip}`,
    'docker',
    'exec',
    '-i',
    ...(o.tty ? ['-t'] : []),
    LEADER_CONTAINER,
    ...cmd.map(shellWord),
  ];
}

function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * `rsync -e "ssh [opts]" --rsync-path "docker exec -i toil_leader rsync" ARGS…`, where the one
 * argument that starts with ':' is the leader's path and gets `core@IP` in front.
 */
export function rsyncArgs(ip: string, args: readonly string[], o: RemoteOptions): string[] {
  const remote = args.filter((a) => a.startsWith(':'));
  if (remote.length !== 1)
    throw new UserInputError(
      'BAD_RSYNC_ARGS',
      remote.length === 0
        ? "rsync-cluster: name the leader's side with a leading ':' (e.g. toil rsync-cluster NAME file.txt :/tmp)"
        : "rsync-cluster: only one argument may start with ':' (the leader's side)",
    );
  const ssh = ['ssh', ...(o.insecure ? INSECURE : []), ...o.sshOptions].map(shellWord).join(' ');
  return [
    '-e',
    ssh,
    '--rsync-path',
    `docker exec -i ${LEADER_CONTAINER} rsync`,
    ...args.map((a) => (a.startsWith(':') ? `${SSH_USER}@${ip}${a}` : a)),
  ];
}

/** Runs a program with this process's terminal; resolves to its exit code. */
export function runInherited(
  program: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], { stdio: 'inherit', ...(env ? { env } : {}) });
    child.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ENOENT'
        ? reject(
            new UserInputError(
              'MISSING_PROGRAM',
              `'${program}' is not installed (it is needed to reach the cluster)`,
            ),
          )
        : reject(err),
    );
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
