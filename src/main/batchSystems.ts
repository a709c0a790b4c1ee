/** The batch systems `--batchSystem` names, and the commands their workers run. */
import { existsSync, statfsSync } from 'node:fs';
import { availableParallelism, hostname, totalmem, userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Clock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { toilBinPath } from '../common/packageRoot.js';
import { formatBytes } from '../common/units.js';
import type { Logger } from '../common/log.js';
import { CorruptJobStoreError, type JobStore } from '../jobstore/jobStore.js';
import { SingleMachineBatchSystem } from '../leader/singleMachine.js';
import { MesosBatchSystem } from '../mesos/batchSystem.js';
import { MesosMasterClient } from '../mesos/masterClient.js';
import { MemoryFrameworkIdStore, MesosSchedulerClient, type FrameworkIdStore } from '../mesos/scheduler.js';
import type { BatchSystem } from '../ports/batchSystem.js';
import { SlurmBatchSystem } from '../slurm/batchSystem.js';
import { SlurmCli } from '../slurm/cli.js';
import type { Env } from './env.js';
import { cancelWorkflowSlurmJobs, damagedRecord } from './forceCancel.js';
import type { SlurmRunSettings } from '../slurm/slurmFlags.js';

/** The argv prefix that runs this copy of `toil` (node and bin/toil.js), for worker processes. */
export function toilCommand(): string[] {
  return [process.execPath, toilBinPath()];
}

/**
 * The argv that runs one attempt of one job in a fresh worker process (see IssuedJob.command);
 * `workDir`, the user's `--workDir`, is where the job's scratch space goes.
 */
export function workerCommand(locator: string, jobId: string, attempt: number, workDir?: string): string[] {
  return [
    ...toilCommand(),
    'worker',
    locator,
    jobId,
    '--attempt',
    String(attempt),
    ...(workDir !== undefined ? ['--workDir', workDir] : []),
  ];
}

/** This machine's cores, memory and the size of the file system holding `dir` (the work directory): single_machine's defaults. */
export function machineResources(dir: string = process.cwd()): {
  cores: number;
  memory: number;
  disk: number;
} {
  // A --workDir not made yet lies on the file system of its nearest existing ancestor.
  let existing = resolve(dir);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const fs = statfsSync(existing);
  return { cores: availableParallelism(), memory: totalmem(), disk: fs.blocks * fs.bsize };
}

/**
 * single_machine's room: --maxCores, --maxMemory and --maxDisk where given, but never more than the
 * machine has. As Toil's single machine batch system, a cap above the machine is lowered to it,
 * said in a line each (`notices`); 64 cores of room on 2 would run 32 one-core jobs at once.
 */
export function singleMachineRoom(
  caps: Pick<CreateBatchSystemOptions, 'maxCores' | 'maxMemory' | 'maxDisk'>,
  machine: { cores: number; memory: number; disk: number },
): { maxCores: number; maxMemory: number; maxDisk: number; notices: string[] } {
  const notices: string[] = [];
  const room = (
    flag: string,
    given: number | undefined,
    has: number,
    show: (n: number) => string,
    what: (has: string) => string,
  ): number => {
    if (given === undefined) return has;
    if (given <= has) return given;
    notices.push(
      `toil: ${flag} ${show(given)} is more than ${what(show(has))}: single_machine uses ${show(has)}`,
    );
    return has;
  };
  return {
    maxCores: room(
      '--maxCores',
      caps.maxCores,
      machine.cores,
      String,
      (has) => `this machine's ${has} cores`,
    ),
    maxMemory: room(
      '--maxMemory',
      caps.maxMemory,
      machine.memory,
      formatBytes,
      (has) => `this machine's ${has} of memory`,
    ),
    maxDisk: room(
      '--maxDisk',
      caps.maxDisk,
      machine.disk,
      formatBytes,
      (has) => `the ${has} of the work directory's file system`,
    ),
    notices,
  };
}

export interface CreateBatchSystemOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** single_machine limits; default this machine's (`machineResources`). */
  readonly maxCores?: number;
  readonly maxMemory?: number;
  readonly maxDisk?: number;
  /** single_machine: Toil's `--scale`, the factor each job's cores count as (default 1). */
  readonly coreScale?: number;
  /** single_machine: keep worker processes warm between jobs (default true). */
  readonly warmWorkers?: boolean;
  /** mesos: the master's host:port (--mesosMaster / --mesosEndpoint). */
  readonly mesosMaster?: string;
  /** mesos: the workflow's job store, which keeps the framework id across --restart. */
  readonly jobStore?: JobStore;
  /** slurm: the partition jobs go to (--slurmPartition; default the cluster's default partition). */
  readonly slurmPartition?: string;
  /** slurm: Toil's other Slurm flags, parsed (src/slurm/slurmFlags.ts); else TOIL_SLURM_ARGS alone. */
  readonly slurm?: SlurmRunSettings;
  /** slurm: the directory jobs start in; single_machine: the jobs' scratch space (its file system sizes --maxDisk). */
  readonly workDir?: string;
  readonly env?: Env;
  /** single_machine: says a cap lowered to what the machine has (default: a warning in the log). */
  readonly notice?: (line: string) => void;
}

/** The batch system `--batchSystem` names. Throws UserInputError for one that is not available. */
export function createBatchSystem(
  name: 'single_machine' | 'mesos' | 'slurm',
  options: CreateBatchSystemOptions,
): BatchSystem {
  if (name === 'slurm') return createSlurmBatchSystem(options);
  if (name === 'single_machine') {
    const { notices, ...room } = singleMachineRoom(options, machineResources(options.workDir));
    for (const line of notices) (options.notice ?? ((l: string) => options.log.warn(l)))(line);
    return new SingleMachineBatchSystem({
      ...room,
      ...(options.coreScale !== undefined ? { coreScale: options.coreScale } : {}),
      clock: options.clock,
      log: options.log,
      ...(options.warmWorkers === false
        ? {}
        : {
            warmWorkerCommand: [
              ...toilCommand(),
              'worker',
              '--serve',
              ...(options.workDir !== undefined ? ['--workDir', options.workDir] : []),
            ],
          }),
      ...(options.env ? { env: options.env } : {}),
    });
  }
  if (name === 'mesos') {
    const store = options.jobStore;
    const master = options.mesosMaster ?? DEFAULT_MESOS_MASTER;
    return createMesosBatchSystem(master, {
      clock: options.clock,
      log: options.log,
      ...(store ? { frameworkIdStore: jobStoreFrameworkIds(store, master, options.log) } : {}),
      teardownWhenIdle: true,
    });
  }
  throw new UserInputError(
    'BATCH_SYSTEM_UNAVAILABLE',
    `--batchSystem ${String(name)} is not available (expected single_machine, mesos or slurm)`,
    { batchSystem: name },
  );
}

/**
 * The Slurm batch system through Slurm's own tools. SLURM_CONF (Slurm's variable) names the
 * cluster's slurm.conf when it is not the system's; TOIL_SLURM_ARGS adds sbatch flags, as in Toil.
 */
export function createSlurmBatchSystem(
  options: Pick<
    CreateBatchSystemOptions,
    'clock' | 'log' | 'env' | 'slurmPartition' | 'slurm' | 'workDir' | 'jobStore'
  > & {
    /** How often squeue is asked (default 1 s). */
    readonly pollMs?: number;
    /** The scaler launches the cluster's nodes as jobs need them. */
    readonly nodesJoinOnDemand?: boolean;
  },
): SlurmBatchSystem {
  const env = options.env ?? process.env;
  const store = options.jobStore;
  const extraArgs =
    options.slurm?.extraArgs ?? (env.TOIL_SLURM_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  return new SlurmBatchSystem({
    cli: new SlurmCli(env.SLURM_CONF ? { conf: env.SLURM_CONF } : {}),
    clock: options.clock,
    log: options.log,
    ...(options.slurmPartition ? { partition: options.slurmPartition } : {}),
    ...(options.workDir ? { workDir: options.workDir } : {}),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    ...(options.nodesJoinOnDemand ? { nodesJoinOnDemand: true } : {}),
    ...(extraArgs.length > 0 ? { extraArgs } : {}),
    ...(options.slurm ? { jobFlags: options.slurm.jobFlags } : {}),
    ...(store ? { onStart: () => recordSlurmUse(store, env, options.log) } : {}),
  });
}

/**
 * Records the cluster the workflow's jobs go to (for `toil kill --force`). A store that already
 * names one is a restart after a leader that died without cancelling its jobs (SIGKILL, a lost
 * machine): they are cancelled first, as `toil kill --force` would, since the restarted leader
 * runs every one of those jobs again and theirs would only hold the nodes (and, queued, start
 * later). The record is written first: it fences the store, so a leader that does not own it
 * cancels nothing.
 */
async function recordSlurmUse(store: JobStore, env: Env, leaderLog: Logger): Promise<void> {
  const log = leaderLog.child({ component: 'slurm-batch' });
  // A damaged record names no cluster to cancel in; it is written again below, as for any restart.
  const before = await store.readSlurmUse().catch((e: unknown) => {
    if (!(e instanceof CorruptJobStoreError)) throw e;
    log.warn(
      { key: e.key },
      `the Slurm jobs a previous leader of this workflow left queued or running, if any, were not cancelled: ${damagedRecord(e)}`,
    );
    return undefined;
  });
  await store.writeSlurmUse(env.SLURM_CONF ? { conf: resolve(env.SLURM_CONF) } : {});
  if (!before) return;
  const left = await cancelWorkflowSlurmJobs(store, { use: before });
  if (!left || (left.ours?.length === 0 && !left.error)) return;
  if (left.error)
    log.warn(
      { err: left.error, slurmJobs: left.failed },
      `could not cancel the Slurm jobs a previous leader of this workflow left in ${left.cluster}: they may still be queued or running`,
    );
  else
    log.info(
      { slurmJobs: left.ours },
      `cancelled the ${left.ours!.length} Slurm job(s) a previous leader of this workflow left queued or running in ${left.cluster}`,
    );
}

/**
 * A workflow's framework id kept in its job store: a restarted leader re-subscribes as the same
 * framework (its old tasks reconciled, not orphaned), and the master is kept beside the id, so
 * `toil kill --force` tears the framework down there.
 */
export function jobStoreFrameworkIds(store: JobStore, master: string, log: Logger): FrameworkIdStore {
  return {
    // A damaged record would fail every subscription, and the run would wait on them for ever;
    // the framework subscribes anew instead, and its record is written again once it has.
    load: async () => {
      try {
        return await store.readFrameworkId();
      } catch (e) {
        if (!(e instanceof CorruptJobStoreError)) throw e;
        log.warn(
          { key: e.key },
          `subscribing as a new Mesos framework: the tasks of the framework a previous leader of this workflow subscribed as, if any, run on until the master's failover timeout ends them: ${damagedRecord(e)}`,
        );
        return undefined;
      }
    },
    save: (id: string | undefined) => store.writeFrameworkId(id, master),
  };
}

/** Where a Mesos master is looked for without --mesosMaster (Toil's default, this machine). */
export const DEFAULT_MESOS_MASTER = '127.0.0.1:5050';

/**
 * The Mesos batch system against the master at `address` (host:port). The framework id lives in
 * `frameworkIdStore` (in memory unless the caller keeps it somewhere that survives the leader);
 * the failover timeout is a week, so a leader restart does not kill running tasks.
 */
export function createMesosBatchSystem(
  address: string,
  options: {
    clock: Clock;
    log: Logger;
    frameworkIdStore?: FrameworkIdStore;
    failoverTimeoutSeconds?: number;
    teardownWhenIdle?: boolean;
  },
): MesosBatchSystem {
  const master = new MesosMasterClient(address);
  const scheduler = new MesosSchedulerClient({
    master: master.endpoint,
    framework: {
      name: 'toil',
      user: userInfo().username,
      hostname: hostname(),
      failoverTimeoutSeconds: options.failoverTimeoutSeconds ?? 7 * 24 * 3600,
    },
    frameworkIdStore: options.frameworkIdStore ?? new MemoryFrameworkIdStore(),
    clock: options.clock,
    log: options.log,
  });
  return new MesosBatchSystem({
    scheduler,
    master,
    clock: options.clock,
    log: options.log,
    ...(options.teardownWhenIdle ? { teardownWhenIdle: true } : {}),
  });
}
