/**
 * The engine the daemon's workers run (`batchSystem.kind`): one Mesos framework per workflow on a
 * Mesos master, or Slurm jobs on a slurmctld. Everything the composition root needs of it: the
 * address the local cloud's workers join, what they start there, a batch system per workflow, the
 * cluster's nodes when no workflow runs, the shared node control (Slurm) and the readiness check.
 */
import type { Clock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { BatchSystemConfig, LeaderConfig } from '../leader/leaderConfig.js';
import type { ReadinessCheck } from '../leader/http.js';
import type { SharedNodeControl } from '../leader/workloadTracker.js';
import type { NodeProcessLauncher } from '../localcloud/ec2/agents.js';
import type { ClusterAgent, ClusterBatchSystem } from '../ports/batchSystem.js';
import type { Env } from './env.js';
import type { JobStore } from '../jobstore/jobStore.js';
import { parseSlurmFlags, slurmPartitionOf } from '../slurm/slurmFlags.js';

export interface ClusterEngine {
  /** HOST:PORT the local cloud's running workers join (the Mesos master, the slurmctld). */
  readonly joinAddress: string;
  /** What a running worker of the local cloud becomes (default: a Mesos agent process). */
  readonly launcher?: NodeProcessLauncher;
  /** For the banner: what runs where. */
  readonly description: string;
  /** slurm: the slurm.conf Slurm's tools read to reach the controller (SLURM_CONF). */
  readonly slurmConf?: string;
  /** A workflow's batch system; what a restarted leader or `toil kill --force` needs goes to `store`. */
  newBatchSystem(store?: JobStore): ClusterBatchSystem;
  idleClusterAgents(): Promise<ClusterAgent[]>;
  readonly sharedNodes?: SharedNodeControl;
  readonly readiness: ReadinessCheck;
  /** Stops what this engine started (the embedded master or controller). */
  stop(): Promise<void>;
}

export async function startClusterEngine(o: {
  config: LeaderConfig;
  clock: Clock;
  log: Logger;
  env: Env;
}): Promise<ClusterEngine> {
  const b = o.config.batchSystem;
  return b.kind === 'slurm' ? startSlurmEngine(b, o) : startMesosEngine(b, o);
}

type Of<K extends BatchSystemConfig['kind']> = Extract<BatchSystemConfig, { kind: K }>;

async function startMesosEngine(b: Of<'mesos'>, o: { clock: Clock; log: Logger }): Promise<ClusterEngine> {
  const [{ idleClusterAgents }, { MesosMasterClient }, { createMesosBatchSystem, jobStoreFrameworkIds }] =
    await Promise.all([
      import('../mesos/batchSystem.js'),
      import('../mesos/masterClient.js'),
      import('./batchSystems.js'),
    ]);
  let address = b.mesosMaster;
  let stop = async (): Promise<void> => {};
  if (address === 'embedded') {
    const { startMesosMaster } = await import('../localcloud/mesos/masterServer.js');
    const master = await startMesosMaster({ host: '127.0.0.1', port: 0, clock: o.clock, log: o.log });
    stop = () => master.stop();
    address = master.address;
  }
  const mesosMaster = address;
  const masterClient = new MesosMasterClient(mesosMaster);
  return {
    joinAddress: mesosMaster,
    description: `Mesos master ${mesosMaster}`,
    newBatchSystem: (store) =>
      createMesosBatchSystem(mesosMaster, {
        clock: o.clock,
        log: o.log,
        ...(store ? { frameworkIdStore: jobStoreFrameworkIds(store, mesosMaster, o.log) } : {}),
        // A workflow's framework ends with it; one stopped with tasks out stays for its resumption.
        teardownWhenIdle: true,
      }),
    idleClusterAgents: () => idleClusterAgents(masterClient),
    readiness: { name: 'mesosMaster', check: async () => void (await masterClient.version()) },
    stop,
  };
}

/**
 * Slurm: every workflow's jobs are Slurm jobs (a `SlurmBatchSystem` each); one more instance, never
 * issued to, is the shared node control: drain marks are the nodes' own states in slurmctld, so one
 * mark serves every workflow, and a node is deleted from the controller before its instance goes.
 * `slurmConf: embedded` starts a real slurmctld here, and each running worker of the local cloud a
 * slurmd joined to it (`SlurmdLauncher`).
 */
async function startSlurmEngine(
  b: Of<'slurm'>,
  o: { clock: Clock; log: Logger; env: Env },
): Promise<ClusterEngine> {
  const { createSlurmBatchSystem } = await import('./batchSystems.js');
  // Toil's Slurm flags from the config, for every workflow's jobs (the logs directory made now):
  // checked before a controller starts, so a mistake ends the start at once and leaves nothing.
  const settings = parseSlurmFlags(b, o.env, (flag) => `batchSystem.${flag.slice(2)}`);
  const partition = slurmPartitionOf(b.slurmPartition, o.env);
  let conf = b.slurmConf;
  let launcher: NodeProcessLauncher | undefined;
  let joinAddress: string;
  let stopController = async (): Promise<void> => {};
  if (conf === 'embedded') {
    const [{ slurmAvailability, startSlurmController, sweepAbandonedControllerDirs }, { SlurmdLauncher }] =
      await Promise.all([
        import('../localcloud/slurm/cluster.js'),
        import('../localcloud/slurm/launcher.js'),
      ]);
    const why = slurmAvailability();
    if (why) throw new UserInputError('SLURM_UNAVAILABLE', `batchSystem.slurmConf embedded: ${why}`);
    // A daemon killed with kill -9 left its controller's directory behind.
    await sweepAbandonedControllerDirs(o.log);
    const controller = await startSlurmController({});
    stopController = () => controller.stop();
    launcher = new SlurmdLauncher({ controller, log: o.log });
    conf = controller.conf;
    joinAddress = `${controller.address}:${controller.port}`;
  } else joinAddress = conf;
  const env = { ...o.env, SLURM_CONF: conf };
  // A workflow's jobs are watched every 500 ms: each level of its critical path waits for a poll
  // to see the last one end. The shared control's 1 s (it only confirms drains) is enough.
  const slurm = (pollMs: number, store?: JobStore): ReturnType<typeof createSlurmBatchSystem> =>
    createSlurmBatchSystem({
      clock: o.clock,
      log: o.log,
      env,
      pollMs,
      nodesJoinOnDemand: true,
      ...(store ? { jobStore: store } : {}),
      slurm: settings,
      ...(partition ? { slurmPartition: partition } : {}),
    });
  const shared = slurm(1000);
  try {
    await shared.start(() => {});
  } catch (e) {
    await stopController();
    throw e;
  }
  return {
    joinAddress,
    ...(launcher ? { launcher } : {}),
    description: `Slurm controller ${joinAddress} (SLURM_CONF=${conf})`,
    slurmConf: conf,
    newBatchSystem: (store) => slurm(500, store),
    idleClusterAgents: () => shared.clusterAgents(),
    sharedNodes: shared,
    readiness: { name: 'slurmController', check: () => shared.ping() },
    async stop() {
      await shared.shutdown();
      await stopController();
    },
  };
}
