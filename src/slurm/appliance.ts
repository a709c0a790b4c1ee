/**
 * Slurm in the appliance on EC2 (`launch-cluster --clusterType slurm`): the leader's slurm.conf and
 * a worker's slurmd command line, as data. The leader's boot (`toil slurm-controller`) writes the
 * conf with its own host name and private address, known only once it runs; workers fetch it from
 * the controller (configless: `slurmd --conf-server`) and register themselves as dynamic nodes
 * (`slurmd -Z`), named by their instance id (how the scaler ties a node to its instance), with
 * the feature `spot` or `ondemand` and the size the scaler plans with.
 *
 * The conf keeps to what Slurm 22.05 (Debian bookworm) accepts for dynamic nodes: `MaxNodeCount`
 * (room for nodes not in the file), `TreeWidth=65533` (the controller talks to each node
 * directly; node-to-node forwarding would need names every node resolves), no `cloud_dns`. A
 * dynamic node's address is the one it registers from, its private IP. Authentication is munge
 * with the cluster's key (docs/slurm.md).
 */

/** Slurm's default ports; the cluster's security group lets every member reach every other. */
export const SLURMCTLD_PORT = 6817;
export const SLURMD_PORT = 6818;
/** Slurm's own default conf path: the appliance's, and the daemon's `slurmConf` there. */
export const DEFAULT_SLURM_CONF = '/etc/slurm/slurm.conf';
/** Slurm's default munge socket: a configless slurmd fetches its conf through it. */
export const DEFAULT_MUNGE_SOCKET = '/run/munge/munge.socket.2';
/** The features jobs are constrained by (the batch system's defaults). */
export const SPOT_FEATURE = 'spot';
export const ON_DEMAND_FEATURE = 'ondemand';

export interface ApplianceSlurmConfInput {
  readonly clusterName: string;
  /** The controller's short host name (slurmctld refuses to run on a host the conf does not name). */
  readonly controllerHost: string;
  /** The controller's private address, which every slurmd reaches it on. */
  readonly controllerAddress: string;
  readonly slurmctldPort?: number;
  readonly slurmdPort?: number;
  /** State, spool, pid and log locations; the appliance's own by default. */
  readonly paths?: Partial<ApplianceSlurmPaths>;
  /** munged's socket when not Slurm's default (/run/munge/munge.socket.2). */
  readonly mungeSocket?: string;
  /** Extra `Key=Value` lines (tests: `CommunicationParameters` for loopback). */
  readonly extraLines?: readonly string[];
  /** Dynamic nodes the controller makes room for. Default 1024. */
  readonly maxNodes?: number;
}

export interface ApplianceSlurmPaths {
  readonly stateDir: string;
  readonly spoolDir: string;
  readonly runDir: string;
  readonly logDir: string;
}

/**
 * The plugins every slurm.conf of ours names (the appliance's and the local cloud's): processes
 * tracked without cgroups (none in a container), cores and memory as what jobs consume, no
 * accounting daemon, and a node that comes back is taken back.
 */
export const PLAIN_SLURM_PLUGINS: readonly string[] = [
  'ProctrackType=proctrack/linuxproc',
  'TaskPlugin=task/none',
  'SelectType=select/cons_tres',
  'SelectTypeParameters=CR_Core_Memory',
  'JobAcctGatherType=jobacct_gather/none',
  'AccountingStorageType=accounting_storage/none',
  'MpiDefault=none',
  'ReturnToService=2',
];

const DEFAULT_PATHS: ApplianceSlurmPaths = {
  stateDir: '/var/lib/slurm/slurmctld',
  spoolDir: '/var/lib/slurm/slurmd',
  runDir: '/run/slurm',
  logDir: '/var/log/slurm',
};

/** The cluster's slurm.conf, as the leader's boot writes it and every slurmd fetches it. */
export function applianceSlurmConf(o: ApplianceSlurmConfInput): string {
  const p = { ...DEFAULT_PATHS, ...o.paths };
  return [
    `ClusterName=${o.clusterName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`,
    `SlurmctldHost=${o.controllerHost}(${o.controllerAddress})`,
    `SlurmctldPort=${o.slurmctldPort ?? SLURMCTLD_PORT}`,
    `SlurmdPort=${o.slurmdPort ?? SLURMD_PORT}`,
    // Workers fetch this file from the controller (`slurmd --conf-server`): nothing to copy.
    'SlurmctldParameters=enable_configless',
    // The appliance's containers run the daemons as root; jobs run as the user who submits them.
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    ...(o.mungeSocket ? [`AuthInfo=socket=${o.mungeSocket}`] : []),
    'MailProg=/bin/true',
    `StateSaveLocation=${p.stateDir}`,
    `SlurmdSpoolDir=${p.spoolDir}`,
    `SlurmctldPidFile=${p.runDir}/slurmctld.pid`,
    `SlurmdPidFile=${p.runDir}/slurmd.pid`,
    `SlurmctldLogFile=${p.logDir}/slurmctld.log`,
    `SlurmdLogFile=${p.logDir}/slurmd.log`,
    ...PLAIN_SLURM_PLUGINS,
    'JobCompType=jobcomp/none',
    `MaxNodeCount=${o.maxNodes ?? 1024}`,
    'TreeWidth=65533',
    'SlurmdTimeout=60',
    'KillWait=10',
    'MinJobAge=600',
    'SchedulerParameters=batch_sched_delay=0,sched_interval=2',
    ...(o.extraLines ?? []),
    // Never runs anything (FUTURE): it declares both features and a size beyond any instance
    // type's, so a job is accepted (and waits, for the scaler to see) before a node that fits joins.
    `NodeName=toil-features State=FUTURE CPUs=512 RealMemory=33554432 TmpDisk=1073741824 Feature=${SPOT_FEATURE},${ON_DEMAND_FEATURE}`,
    'PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n');
}

export interface DynamicNodeInput {
  /** The node's name: its instance id. */
  readonly name: string;
  /** HOST:PORT of the controller. */
  readonly confServer: string;
  readonly features: readonly string[];
  readonly cpus: number;
  readonly memoryMiB: number;
  /** What `--tmp` may ask for (Slurm's TmpFS is /tmp). */
  readonly tmpDiskMiB: number;
}

/** `slurmd` in the foreground as a dynamic node; spot nodes weigh less, so Slurm fills them first. */
export function dynamicSlurmdArgs(o: DynamicNodeInput): string[] {
  const weight = o.features.includes(SPOT_FEATURE) ? 1 : 10;
  return [
    '-D',
    '-Z',
    '-N',
    o.name,
    '--conf-server',
    o.confServer,
    '--conf',
    `Feature=${o.features.join(',')} CPUs=${o.cpus} RealMemory=${o.memoryMiB} TmpDisk=${o.tmpDiskMiB} Weight=${weight}`,
  ];
}
