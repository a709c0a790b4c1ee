import { ToilError } from '../../common/errors.js';
import { yaml } from '../../common/yaml.js';
import type { LeaderConfigFile } from '../../leader/leaderConfig.js';
import type { NodeRole } from '../../ports/provisioner.js';
import { nodeInitEnvironment, type NodeInitCommands } from '../nodeInit.js';
import type { NodeS3Variables } from '../nodeS3Endpoint.js';

/**
 * User data for a Flatcar node: an Ignition v2.2.0 config (as Toil writes) whose systemd unit
 * `toil-<role>.service` runs the appliance image. The leader runs the engine's controller
 * (container `toil_leader`, the one ssh-cluster enters) and the `toil leader` daemon; a worker
 * runs the engine's node daemon pointed at the leader's private address:
 * - `mesos` (default): the Mesos master; workers a Mesos agent with their `preemptable` attribute.
 * - `slurm`: `toil slurm-controller` (munged + slurmctld with the slurm.conf it renders); workers
 *   `toil slurm-node` (munged + a dynamic `slurmd -Z` fetching that conf from the controller,
 *   featured `spot` or `ondemand`, named by its instance id). Both fetch the cluster's munge key
 *   from SSM with their instance profile (mungeKey.ts): the key is never in user data.
 * Every worker also runs `toil-rebalance-watch.service` (`rebalanceWatchUnit`).
 * Nothing secret goes in a worker's: user data is readable by anything on the instance and by
 * anyone with ec2:DescribeInstanceAttribute. Instances get AWS credentials from their instance
 * profile. The one secret, the leader daemon's bearer token, goes in the leader's alone (mode 0600
 * on disk): no job runs on the leader, and whoever may describe its attributes may launch anyway.
 */
export interface UserDataInput {
  readonly role: NodeRole;
  readonly clusterName: string;
  readonly applianceImage: string;
  /**
   * TOIL_CUSTOM_INIT_COMMAND (`host`): `toil-custom-init.service` runs it once the node's Docker is
   * up, before any appliance container starts. TOIL_CUSTOM_DOCKER_INIT_COMMAND (`container`): the
   * appliance's entrypoint runs it in each service container, before the service. Both ride in
   * the containers' environment too: the leader's daemon reads them there for the workers it
   * launches, as Toil's leader does.
   */
  readonly nodeInit?: NodeInitCommands;
  /** TOIL_S3_HOST, TOIL_S3_PORT, TOIL_S3_USE_SSL: in every container, so jobs reach the store the leader uses. */
  readonly s3Variables?: NodeS3Variables;
  readonly zone: string;
  /** Worker only: where the leader's Mesos master listens. */
  readonly leaderPrivateIp?: string;
  readonly preemptable: boolean;
  /** The cluster's tags; the leader passes them on (TOIL_AWS_TAGS) to what it creates. */
  readonly tags: Readonly<Record<string, string>>;
  /** SSH public keys authorised for user `core` (beyond the EC2 key pair). */
  readonly sshAuthorizedKeys?: readonly string[];
  /**
   * Leader only: the worker node types its daemon scales (launch-cluster's --nodeTypes). Absent:
   * the leader's own instance type, on-demand; the operator edits /etc/toil/leader.yaml to change
   * it (the daemon reloads it).
   */
  readonly workerNodeTypes?: readonly WorkerNodeType[];
  /** Leader only: its own instance type (the default worker type). */
  readonly instanceType?: string;
  /** Leader only: the daemon's bearer token (see docs/leader.md, threat model). */
  readonly leaderToken?: string;
  /**
   * Leader only: the workers' root volume (launch-cluster's --nodeStorage), which the daemon both
   * plans with and launches; absent, the daemon's default (50 GiB).
   */
  readonly nodeStorageGiB?: number;
  /**
   * Leader only: launch-cluster's --nodeStorageOverrides, the root volume of the worker types it
   * names, which the daemon plans with and launches in place of nodeStorageGiB.
   */
  readonly nodeStorageOverridesGiB?: Readonly<Record<string, number>>;
  /**
   * Leader only: the image the cluster was launched with (TOIL_AWS_AMI, else the newest Flatcar
   * stable then), which the daemon's workers boot too; the leader's container has no TOIL_AWS_AMI.
   */
  readonly imageId?: string;
  /** The engine the leader runs and the workers join (launch-cluster's --clusterType); default mesos. */
  readonly clusterType?: ClusterType;
}

/** launch-cluster's --clusterType (Toil's flag): the engine the workers run. */
export type ClusterType = 'mesos' | 'slurm';

/** Where the leader's daemon finds the cluster's Slurm controller (Slurm's own default path). */
export const APPLIANCE_SLURM_CONF = '/etc/slurm/slurm.conf';

export interface WorkerNodeType {
  readonly instanceType: string;
  readonly market: 'spot' | 'on-demand';
  /** Spot bid in $/h. */
  readonly bid?: number;
}

/** Where the appliance keeps the daemon's state: a host directory the container mounts. */
export const APPLIANCE_LEADER_STATE = 'file:/var/lib/toil/leader-state';
/** The daemon's bearer token in the appliance: beside its state, where the daemon looks by default. */
export const APPLIANCE_LEADER_TOKEN = '/var/lib/toil/leader-state.token';
/** The appliance's HTTP port (the Dockerfile's EXPOSE and HEALTHCHECK). */
export const APPLIANCE_HTTP_PORT = 8080;
/** Used when neither worker node types nor the leader's type are known (Toil's docs' example type). */
const FALLBACK_WORKER_TYPE = 't2.medium';

/** EC2's limit on user data, after base64 decoding. */
export const USER_DATA_LIMIT_BYTES = 16_384;

/** The Mesos master's port on the leader: each worker's agent registers there. */
export const MESOS_PORT = 5050;
/** slurmctld's port on the leader (Slurm's default). */
export const SLURMCTLD_PORT = 6817;
/** What the Slurm daemons' containers share with the host (conf, munge socket, state, logs). */
const SLURM_VOLUMES = ['/etc/slurm', '/run/munge', '/var/lib/slurm', '/var/log/slurm'];

/** Quotes one word for a systemd command line when it needs quoting. */
export function systemdQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * One word of a systemd command line that reaches the program as written: systemd would otherwise
 * expand `%x` (specifiers) and `${X}` (its environment) in it, so `%` and `$` are doubled.
 */
export function systemdLiteral(word: string): string {
  return systemdQuote(word.replace(/%/g, '%%').replace(/\$/g, '$$$$'));
}

/** The unit that runs TOIL_CUSTOM_INIT_COMMAND on the node, before any appliance container. */
export const CUSTOM_INIT_UNIT = 'toil-custom-init.service';

/**
 * Once per boot, after Docker (a registry login needs it) and before the appliance's units, which
 * want it: they start even if it fails, as Toil's do, and `systemctl status` shows the failure.
 */
function customInitUnit(command: string): string {
  return [
    '[Unit]',
    'Description=toil: TOIL_CUSTOM_INIT_COMMAND',
    'After=docker.service',
    'Requires=docker.service',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/usr/bin/bash -c ${systemdLiteral(command)}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

function dockerRun(
  name: string,
  image: string,
  env: Readonly<Record<string, string>>,
  command: readonly string[],
  slurm = false,
): string {
  const args = [
    '/usr/bin/docker',
    'run',
    `--name=${name}`,
    // Slurm's daemons and the leader's `scontrol` (drain, delete) need root in their containers.
    ...(slurm ? ['--user=0'] : []),
    '--net=host',
    '--init',
    '--privileged',
    '-v',
    '/var/run/docker.sock:/var/run/docker.sock',
    '-v',
    '/run/lock:/run/lock',
    '-v',
    '/var/lib/mesos:/var/lib/mesos',
    '-v',
    '/var/lib/docker:/var/lib/docker',
    '-v',
    '/var/lib/toil:/var/lib/toil',
    '-v',
    '/var/lib/cwl:/var/lib/cwl',
    '-v',
    '/var/tmp:/var/tmp',
    '-v',
    '/tmp:/tmp',
    '-v',
    '/opt:/opt',
    ...(slurm ? SLURM_VOLUMES.flatMap((v) => ['-v', `${v}:${v}`]) : []),
  ].map(systemdQuote);
  // Values from the user (TOIL_AWS_TAGS, the init commands) reach the container as written. The
  // image's entrypoint runs the service as TOIL_SERVICE_USER once TOIL_CUSTOM_DOCKER_INIT_COMMAND
  // has run as root: Slurm's services stay root.
  const serviceEnv = slurm ? { ...env, TOIL_SERVICE_USER: 'root' } : env;
  const envArgs = Object.entries(serviceEnv).flatMap(([k, v]) => ['-e', systemdLiteral(`${k}=${v}`)]);
  return [...args, ...envArgs, ...[image, ...command].map(systemdQuote)].join(' ');
}

/** A unit running the appliance; `customInit`: it starts after `CUSTOM_INIT_UNIT` has run. */
function unit(
  description: string,
  name: string,
  execStart: string,
  after: string,
  customInit: boolean,
): string {
  return [
    '[Unit]',
    `Description=${description}`,
    `After=${after}`,
    `Requires=${after}`,
    ...(customInit ? [`After=${CUSTOM_INIT_UNIT}`, `Wants=${CUSTOM_INIT_UNIT}`] : []),
    '',
    '[Service]',
    'Restart=on-failure',
    'RestartSec=2',
    `ExecStartPre=-/usr/bin/docker rm -f ${name}`,
    `ExecStart=${execStart}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** A worker's unit watching for EC2's rebalance recommendation (src/main/rebalanceWatch.ts). */
export const REBALANCE_WATCH_UNIT = 'toil-rebalance-watch.service';

/**
 * `toil rebalance-watch` in the appliance, as a unit of its own beside the engine's: it must
 * outlive a restart of the Mesos agent or slurmd (which it has nothing to do with), and its own
 * failure must not restart them (that kills the node's running jobs). It needs nothing of the
 * host but the metadata service: host network (IMDS at 169.254.169.254 within the launch's hop
 * limit), no privilege, no volume, no environment (region and instance id come from IMDS,
 * credentials from the instance profile). It exits 0 once the instance is tagged, which
 * `Restart=on-failure` leaves at that.
 */
function rebalanceWatchUnit(image: string, customInit: boolean): string {
  const name = 'toil_rebalance_watch';
  const execStart = ['/usr/bin/docker', 'run', `--name=${name}`, '--net=host', '--init', image]
    .concat(['toil', 'rebalance-watch'])
    .map(systemdQuote)
    .join(' ');
  return unit(
    'toil worker: EC2 rebalance recommendation watch',
    name,
    execStart,
    'docker.service',
    customInit,
  );
}

/**
 * The leader appliance's `/etc/toil/leader.yaml`: the daemon against the Mesos master beside it,
 * scaling this cluster on AWS with its instance profile's credentials. Typed as the leader config
 * file itself (`LeaderConfigFile`), so it is what `parseLeaderConfig` accepts; a test parses it
 * out of real user data.
 */
export function applianceLeaderConfig(input: UserDataInput): LeaderConfigFile {
  const region = input.zone.slice(0, -1);
  const types = input.workerNodeTypes?.length
    ? input.workerNodeTypes
    : [{ instanceType: input.instanceType ?? FALLBACK_WORKER_TYPE, market: 'on-demand' as const }];
  return {
    jobStore: APPLIANCE_LEADER_STATE,
    logLevel: 'info',
    // The container runs with --net=host: the health check and operators reach it on the host.
    http: { host: '0.0.0.0', port: APPLIANCE_HTTP_PORT },
    batchSystem:
      input.clusterType === 'slurm'
        ? { kind: 'slurm', slurmConf: APPLIANCE_SLURM_CONF }
        : { kind: 'mesos', mesosMaster: `127.0.0.1:${MESOS_PORT}` },
    provisioner: {
      kind: 'aws',
      region,
      zone: input.zone,
      clusterName: input.clusterName,
      tags: { ...input.tags },
      applianceImage: input.applianceImage,
      ...(input.imageId !== undefined ? { imageId: input.imageId } : {}),
      ...(input.nodeStorageGiB !== undefined ? { nodeStorageGiB: input.nodeStorageGiB } : {}),
    },
    scaler: {
      region,
      zones: [input.zone],
      ...(input.nodeStorageGiB !== undefined ? { nodeStorage: input.nodeStorageGiB } : {}),
      ...(input.nodeStorageOverridesGiB && Object.keys(input.nodeStorageOverridesGiB).length > 0
        ? { nodeStorageOverrides: { ...input.nodeStorageOverridesGiB } }
        : {}),
      nodeTypes: types.map((t) =>
        t.market === 'spot'
          ? { type: t.instanceType, spot: true, ...(t.bid !== undefined ? { bid: t.bid } : {}) }
          : t.instanceType,
      ),
    },
  };
}

export interface IgnitionConfig {
  ignition: { version: '2.2.0' };
  storage: { files: { path: string; filesystem: string; mode: number; contents: { source: string } }[] };
  systemd: { units: { name: string; enabled: boolean; contents: string }[] };
  passwd: { users: { name: string; sshAuthorizedKeys: string[] }[] };
}

export function buildIgnition(input: UserDataInput): IgnitionConfig {
  const env = {
    // `toil run --leader` inside the leader's containers finds the daemon's token.
    ...(input.role === 'leader' && input.leaderToken
      ? { TOIL_LEADER_TOKEN_FILE: APPLIANCE_LEADER_TOKEN }
      : {}),
    TMPDIR: '/var/tmp',
    TOIL_AWS_TAGS: JSON.stringify(input.tags),
    TOIL_AWS_ZONE: input.zone,
    TOIL_APPLIANCE_SELF: input.applianceImage,
    ...nodeInitEnvironment(input.nodeInit),
    ...input.s3Variables,
    // The daemon tags what it launches with the cluster's owner, not the container's user.
    ...(input.tags['Owner'] ? { TOIL_OWNER_TAG: input.tags['Owner'] } : {}),
  };
  const units: IgnitionConfig['systemd']['units'] = [];
  const hostInit = input.nodeInit?.host;
  if (hostInit !== undefined)
    units.push({ name: CUSTOM_INIT_UNIT, enabled: true, contents: customInitUnit(hostInit) });
  const customInit = hostInit !== undefined;
  const files: IgnitionConfig['storage']['files'] = [
    {
      path: '/etc/coreos/update.conf',
      filesystem: 'root',
      mode: 0o644,
      contents: { source: `data:,${encodeURIComponent('GROUP=stable\nREBOOT_STRATEGY=off\n')}` },
    },
  ];
  const slurm = input.clusterType === 'slurm';
  const region = input.zone.slice(0, -1);
  if (input.role === 'leader') {
    const controller = slurm
      ? dockerRun(
          'toil_leader',
          input.applianceImage,
          env,
          [
            'toil',
            'slurm-controller',
            `--clusterName=${input.clusterName}`,
            `--region=${region}`,
            `--port=${SLURMCTLD_PORT}`,
            `--conf=${APPLIANCE_SLURM_CONF}`,
          ],
          true,
        )
      : dockerRun('toil_leader', input.applianceImage, env, [
          'mesos-master',
          '--log_dir=/var/lib/mesos',
          '--registry=in_memory',
          `--cluster=${input.clusterName}`,
          `--port=${MESOS_PORT}`,
        ]);
    units.push({
      name: 'toil-leader.service',
      enabled: true,
      contents: unit(
        slurm ? 'toil leader: munged and slurmctld' : 'toil leader: Mesos master',
        'toil_leader',
        controller,
        'docker.service',
        customInit,
      ),
    });
    const daemon = dockerRun(
      'toil_leader_daemon',
      input.applianceImage,
      env,
      ['toil', 'leader', '--config=/etc/toil/leader.yaml'],
      slurm,
    );
    units.push({
      name: 'toil-leader-daemon.service',
      enabled: true,
      contents: unit('toil leader daemon', 'toil_leader_daemon', daemon, 'toil-leader.service', customInit),
    });
    if (input.leaderToken)
      files.push({
        path: APPLIANCE_LEADER_TOKEN,
        filesystem: 'root',
        mode: 0o600,
        contents: { source: `data:,${encodeURIComponent(`${input.leaderToken}\n`)}` },
      });
    const leaderConfig = yaml().stringify(applianceLeaderConfig(input));
    files.push({
      path: '/etc/toil/leader.yaml',
      filesystem: 'root',
      mode: 0o644,
      contents: { source: `data:,${encodeURIComponent(leaderConfig)}` },
    });
  } else {
    if (!input.leaderPrivateIp)
      throw new ToilError('USER_DATA_INVALID', 'a worker needs the leader private address');
    const agent = slurm
      ? dockerRun(
          'toil_worker',
          input.applianceImage,
          env,
          [
            'toil',
            'slurm-node',
            `--clusterName=${input.clusterName}`,
            `--region=${region}`,
            `--conf-server=${input.leaderPrivateIp}:${SLURMCTLD_PORT}`,
            `--feature=${input.preemptable ? 'spot' : 'ondemand'}`,
          ],
          true,
        )
      : dockerRun('toil_worker', input.applianceImage, env, [
          'mesos-agent',
          '--log_dir=/var/lib/mesos',
          '--work_dir=/var/lib/mesos',
          `--master=${input.leaderPrivateIp}:${MESOS_PORT}`,
          `--attributes=preemptable:${input.preemptable ? 'true' : 'false'}`,
          '--no-hostname_lookup',
          '--no-systemd_enable_support',
        ]);
    units.push({
      name: 'toil-worker.service',
      enabled: true,
      contents: unit(
        slurm ? 'toil worker: munged and slurmd' : 'toil worker: Mesos agent',
        'toil_worker',
        agent,
        'docker.service',
        customInit,
      ),
    });
    units.push({
      name: REBALANCE_WATCH_UNIT,
      enabled: true,
      contents: rebalanceWatchUnit(input.applianceImage, customInit),
    });
  }
  return {
    ignition: { version: '2.2.0' },
    storage: { files },
    systemd: { units },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: [...(input.sshAuthorizedKeys ?? [])] }] },
  };
}

/** The base64 user data for RunInstances; throws if it would exceed EC2's 16 KiB limit. */
export function buildUserData(input: UserDataInput): string {
  const json = JSON.stringify(buildIgnition(input));
  const bytes = Buffer.byteLength(json);
  if (bytes > USER_DATA_LIMIT_BYTES)
    throw new ToilError(
      'USER_DATA_TOO_LARGE',
      `user data is ${bytes} bytes, over EC2's limit of ${USER_DATA_LIMIT_BYTES}`,
    );
  return Buffer.from(json).toString('base64');
}
