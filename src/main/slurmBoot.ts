/**
 * The appliance's Slurm boot (`toil slurm-controller` on the leader, `toil slurm-node` on a
 * worker; their units come from src/provisioner/aws/userData.ts): fetch the cluster's munge key
 * from SSM with the instance profile's credentials, start munged with it, then run the Slurm
 * daemon in the foreground beside it. Whichever of the two ends, the other is stopped and the
 * command exits (systemd restarts the unit). SIGTERM/SIGINT go to both.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { ClusterMungeKey } from '../provisioner/aws/mungeKey.js';
import type { CatalogueEntry } from '../scaler/catalogue.js';
import { readCatalogue } from '../scaler/catalogueFile.js';
import { diskOverheadBytes, memoryOverheadBytes, NOMINAL_MEMORY_CUT_BYTES } from '../scaler/overhead.js';
import {
  applianceSlurmConf,
  DEFAULT_MUNGE_SOCKET,
  dynamicSlurmdArgs,
  type ApplianceSlurmPaths,
} from '../slurm/appliance.js';
import { startMunged } from '../slurm/munge.js';
import { createSsmClient, ssmEndpointOf } from './awsClients.js';
import type { Env } from './env.js';

export interface SlurmBootCommon {
  readonly clusterName: string;
  readonly region: string;
  readonly mungeSocket: string;
  /** Where the key, munged's pid and seed live (root only). */
  readonly mungeDir: string;
  /** State, spool, pid and log folders under one root (tests); the appliance's own otherwise. */
  readonly dir?: string;
  readonly env: Env;
  readonly log: Logger;
}

export interface ControllerBoot extends SlurmBootCommon {
  readonly conf: string;
  readonly port: number;
  readonly slurmdPort: number;
  /** Default: the instance's private address (metadata service). */
  readonly address?: string;
  readonly confLines: readonly string[];
}

export interface NodeBoot extends SlurmBootCommon {
  readonly confServer: string;
  readonly features: readonly string[];
  /** Default: the instance id (metadata service). */
  readonly nodeName?: string;
  /** Default: the instance's type (metadata service). */
  readonly instanceType?: string;
}

function pathsUnder(dir: string | undefined): ApplianceSlurmPaths | undefined {
  return dir
    ? {
        stateDir: path.join(dir, 'state'),
        spoolDir: path.join(dir, 'spool'),
        runDir: path.join(dir, 'run'),
        logDir: path.join(dir, 'log'),
      }
    : undefined;
}

const APPLIANCE_DIRS = ['/var/lib/slurm/slurmctld', '/var/lib/slurm/slurmd', '/run/slurm', '/var/log/slurm'];

function makeDirs(dir: string | undefined): void {
  const p = pathsUnder(dir);
  const dirs = p ? [p.stateDir, p.spoolDir, p.runDir, p.logDir] : APPLIANCE_DIRS;
  for (const d of dirs) fs.mkdirSync(d, { recursive: true });
}

/** One value from the instance's metadata service (IMDSv2, as the launch requires). */
export async function instanceMetadata(item: string, env: Env): Promise<string> {
  const base = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT?.trim() || 'http://169.254.169.254').replace(/\/$/, '');
  const token = await fetch(`${base}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
  });
  const reply = await fetch(`${base}/latest/meta-data/${item}`, {
    headers: { 'X-aws-ec2-metadata-token': await token.text() },
  });
  if (!token.ok || !reply.ok)
    throw new UserInputError('NO_INSTANCE_METADATA', `the instance metadata service did not give ${item}`);
  return (await reply.text()).trim();
}

async function fetchMungeKey(o: SlurmBootCommon): Promise<Buffer> {
  const ssm = await createSsmClient(o.region, o.env);
  if (!ssm)
    throw new UserInputError(
      'NO_MUNGE_KEY',
      'no SSM endpoint (AWS_ENDPOINT_URL_SSM) for a local cloud: the munge key cannot be fetched',
    );
  try {
    return await new ClusterMungeKey({
      ssm,
      clusterName: o.clusterName,
      endpoint: ssmEndpointOf(o.region, o.env),
    }).read();
  } finally {
    ssm.destroy();
  }
}

/** munged, then the daemon in the foreground; resolves with the exit code once both are down. */
async function runBesideMunged(
  o: SlurmBootCommon,
  command: string,
  args: readonly string[],
): Promise<number> {
  const key = await fetchMungeKey(o);
  const munged = await startMunged(key, {
    dir: o.mungeDir,
    socket: o.mungeSocket,
    logFile: path.join(o.dir ? path.join(o.dir, 'log') : '/var/log/slurm', 'munged.log'),
  });
  o.log.info({ socket: o.mungeSocket, command, args }, 'munged up; starting the Slurm daemon');
  const daemon = spawn(command, [...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  const daemonExit = new Promise<number>((resolve) =>
    daemon.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  const stop = (signal: NodeJS.Signals): void => {
    daemon.kill(signal);
    munged.child.kill(signal);
  };
  const onSignal = (signal: NodeJS.Signals): void => stop(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const first = await Promise.race([
      daemonExit.then((c) => ({ who: command, c })),
      munged.exited.then((c) => ({ who: 'munged', c })),
    ]);
    o.log.info({ exited: first.who, code: first.c }, 'a Slurm boot process ended; stopping the other');
    stop('SIGTERM');
    const code = await daemonExit;
    await munged.exited;
    return first.who === 'munged' ? 1 : code;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** The leader: renders the cluster's slurm.conf for this host, then munged + `slurmctld -D`. */
export async function bootSlurmController(o: ControllerBoot): Promise<number> {
  const address = o.address ?? (await instanceMetadata('local-ipv4', o.env));
  const paths = pathsUnder(o.dir);
  const conf = applianceSlurmConf({
    clusterName: o.clusterName,
    controllerHost: os.hostname().split('.')[0]!,
    controllerAddress: address,
    slurmctldPort: o.port,
    slurmdPort: o.slurmdPort,
    ...(paths ? { paths } : {}),
    ...(o.mungeSocket !== DEFAULT_MUNGE_SOCKET ? { mungeSocket: o.mungeSocket } : {}),
    extraLines: o.confLines,
  });
  makeDirs(o.dir);
  fs.mkdirSync(path.dirname(o.conf), { recursive: true });
  fs.writeFileSync(o.conf, conf);
  return runBesideMunged(o, 'slurmctld', ['-D', '-f', o.conf]);
}

const MiB = 2 ** 20;

/**
 * What a node offers Slurm. Its instance type known (the shipped catalogue): what the scaler packs
 * onto that type (its cores; memory less Toil's 0.1 GiB and the reserve, as `packableResources`),
 * so Slurm takes exactly the jobs the scaler launched the node for; never more memory than the
 * machine has (slurmd would refuse the node). Unknown type: the machine's CPUs, its memory less
 * the same reserve. TmpDisk (what `--tmp` asks for): the temp folder's file system (the root
 * volume) less the scaler's disk reserve.
 */
export function slurmNodeSize(
  machine: { cpus: number; memoryBytes: number; tmpBytes: number },
  type: Pick<CatalogueEntry, 'cores' | 'memoryBytes'> | undefined,
): { cpus: number; memoryMiB: number; tmpDiskMiB: number } {
  const tmpDiskMiB = Math.floor((machine.tmpBytes - diskOverheadBytes(machine.tmpBytes)) / MiB);
  const fromMachine = machine.memoryBytes - memoryOverheadBytes(machine.memoryBytes);
  if (!type) return { cpus: machine.cpus, memoryMiB: Math.max(1, Math.floor(fromMachine / MiB)), tmpDiskMiB };
  const nominal = type.memoryBytes - NOMINAL_MEMORY_CUT_BYTES;
  const planned = nominal - memoryOverheadBytes(nominal);
  return {
    cpus: Math.min(type.cores, machine.cpus),
    memoryMiB: Math.max(1, Math.floor(Math.min(planned, machine.memoryBytes) / MiB)),
    tmpDiskMiB,
  };
}

/**
 * A worker: munged + `slurmd -Z` registering itself with the controller, named by its instance
 * id, sized as the scaler planned its instance type (`slurmNodeSize`).
 */
export async function bootSlurmNode(o: NodeBoot): Promise<number> {
  const name = o.nodeName ?? (await instanceMetadata('instance-id', o.env));
  const typeName = o.instanceType ?? (await instanceMetadata('instance-type', o.env));
  const type = (await readCatalogue()).types.get(typeName);
  if (!type)
    o.log.warn({ instanceType: typeName }, 'instance type not in the catalogue: sized by this machine');
  const tmp = fs.statfsSync('/tmp');
  const size = slurmNodeSize(
    { cpus: os.availableParallelism(), memoryBytes: os.totalmem(), tmpBytes: tmp.blocks * tmp.bsize },
    type,
  );
  makeDirs(o.dir);
  return runBesideMunged(
    o,
    'slurmd',
    dynamicSlurmdArgs({ name, confServer: o.confServer, features: o.features, ...size }),
  );
}
