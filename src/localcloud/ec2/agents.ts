import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from '../../common/log.js';
import { markOwnedSync, sweepAbandonedDirs } from '../../common/ownedDirs.js';
import { toilBinPath } from '../../common/packageRoot.js';

/** What a running worker instance becomes: a Mesos agent process on this machine. */
export interface AgentSpec {
  readonly instanceId: string;
  readonly privateIp: string;
  /** HOST:PORT of the master the agent registers with. */
  readonly master: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly diskMiB: number;
  readonly attributes: Readonly<Record<string, string>>;
  /**
   * Present when the user data starts a slurmd (`toil slurm-node`), not a Mesos agent: its
   * `--feature` flags. Each launcher starts only the node its engine runs.
   */
  readonly slurmFeatures?: readonly string[];
  /** Base URL of this instance's metadata service (what AWS_EC2_METADATA_SERVICE_ENDPOINT names). */
  readonly imdsEndpoint: string;
}

export interface NodeProcess {
  readonly pid: number | undefined;
  /** Kills the process (SIGTERM, then SIGKILL after a grace period); resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts the process a running instance stands for. Tests may pass their own. */
export interface NodeProcessLauncher {
  /** The engine whose nodes it starts (default mesos): a worker whose user data joins another starts nothing. */
  readonly engine?: 'mesos' | 'slurm';
  startAgent(spec: AgentSpec): NodeProcess;
}

/** A `toil` command a unit of an instance's user data runs (the rebalance watch), to run as its process. */
export interface NodeCommandSpec {
  readonly instanceId: string;
  readonly privateIp: string;
  /** The unit that runs it (for logs). */
  readonly unit: string;
  /** The `toil` arguments as the unit gives them, from the sub-command on. */
  readonly args: readonly string[];
  readonly imdsEndpoint: string;
}

/** Starts the `toil` commands of a running instance's units beside its engine's process. */
export interface NodeCommandLauncher {
  startCommand(spec: NodeCommandSpec): NodeProcess;
}

export function formatResources(spec: Pick<AgentSpec, 'cpus' | 'memoryMiB' | 'diskMiB'>): string {
  return `cpus:${spec.cpus};mem:${spec.memoryMiB};disk:${spec.diskMiB}`;
}

export function formatAttributes(attributes: Readonly<Record<string, string>>): string {
  return Object.entries(attributes)
    .map(([k, v]) => `${k}:${v}`)
    .join(';');
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * The whole environment of the process an instance stands for: what the instance itself would
 * have, and nothing of whoever started the local cloud (no keys, no profile, no endpoints). Its
 * AWS credentials come from its metadata service, through the SDK's default chain; its home is
 * its own, so no `~/.aws` of this machine is read, and so is its temp dir, which goes with the
 * instance as its disk would. NODE_OPTIONS is how this machine runs Node (the test suite's
 * loopback guard), not a setting of the caller's account.
 */
export function instanceEnvironment(
  spec: Pick<AgentSpec, 'instanceId' | 'privateIp' | 'imdsEndpoint'>,
  options: { home: string; tmp: string; s3Endpoint?: string; ec2Endpoint?: string; nodeOptions?: string },
): Record<string, string> {
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: options.home,
    TMPDIR: options.tmp,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: spec.imdsEndpoint,
    ...(options.s3Endpoint ? { AWS_ENDPOINT_URL_S3: options.s3Endpoint } : {}),
    ...(options.ec2Endpoint ? { AWS_ENDPOINT_URL_EC2: options.ec2Endpoint } : {}),
    ...(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
    TOIL_INSTANCE_ID: spec.instanceId,
    TOIL_PRIVATE_IP: spec.privateIp,
  };
}

/**
 * Runs `toil localcloud agent --master … --resources … --attributes …` (the local Mesos agent) as
 * a child process with the instance's own environment (`instanceEnvironment`): its metadata
 * endpoint as the AWS SDK names it, the S3 endpoint the local cloud offers its nodes, a home of
 * its own.
 */
export class CliAgentLauncher implements NodeProcessLauncher {
  private readonly command: readonly string[];
  private readonly log: Logger;
  private readonly s3Endpoint: string | undefined;

  constructor(options: { log: Logger; command?: readonly string[]; s3Endpoint?: string }) {
    this.command = options.command ?? [process.execPath, toilBinPath()];
    this.log = options.log;
    this.s3Endpoint = options.s3Endpoint;
  }

  startAgent(spec: AgentSpec): NodeProcess {
    const [cmd, ...pre] = this.command;
    const args = [
      ...pre,
      'localcloud',
      'agent',
      '--master',
      spec.master,
      '--resources',
      formatResources(spec),
      '--attributes',
      formatAttributes(spec.attributes),
      // The agent reports its instance's private address, as on AWS: that is how the scaler
      // ties a Mesos agent to its instance.
      '--hostname',
      spec.privateIp,
      '--logLevel',
      'warn',
      // The instance goes with the local cloud, even one killed with kill -9 (whose sweep at its
      // next start then removes the home).
      '--exit-with',
      String(process.pid),
    ];
    // The agent's work dir is on the instance's disk, which goes with it.
    return spawnOnInstance(spec, {
      command: [cmd!, ...args],
      extraArgs: (home) => ['--work-dir', join(home, 'agent')],
      what: 'agent',
      log: this.log,
      ...(this.s3Endpoint ? { s3Endpoint: this.s3Endpoint } : {}),
      details: { master: spec.master },
    });
  }
}

/** The prefix of an instance's home in the temp dir: `toil-localcloud-i-…-`. */
const INSTANCE_HOME_PREFIX = 'toil-localcloud-';

/**
 * Removes the instance homes in the temp dir that a local cloud killed before it could stop its
 * instances left (kill -9): those marked by a process of this host that is gone. The homes of a
 * local cloud still running (another one on this machine) are kept. Returns the paths removed.
 */
export function sweepAbandonedInstanceHomes(): Promise<string[]> {
  return sweepAbandonedDirs(tmpdir(), `${INSTANCE_HOME_PREFIX}i-`);
}

/**
 * Spawns a process standing for something an instance runs, with the instance's own environment
 * (`instanceEnvironment`) and disk (a home and temp dir of its own, removed when it stops, and
 * marked as this process's so that a later local cloud removes it if this one is killed first).
 */
function spawnOnInstance(
  spec: Pick<AgentSpec, 'instanceId' | 'privateIp' | 'imdsEndpoint'>,
  o: {
    command: readonly string[];
    extraArgs?: (home: string) => readonly string[];
    what: string;
    log: Logger;
    s3Endpoint?: string;
    ec2Endpoint?: string;
    details?: Record<string, unknown>;
  },
): NodeProcess {
  const home = mkdtempSync(join(tmpdir(), `${INSTANCE_HOME_PREFIX}${spec.instanceId}-`));
  markOwnedSync(home);
  const tmp = join(home, 'tmp');
  mkdirSync(tmp);
  const [cmd, ...args] = [...o.command, ...(o.extraArgs?.(home) ?? [])];
  const child = spawn(cmd!, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: instanceEnvironment(spec, {
      home,
      tmp,
      ...(o.s3Endpoint ? { s3Endpoint: o.s3Endpoint } : {}),
      ...(o.ec2Endpoint ? { ec2Endpoint: o.ec2Endpoint } : {}),
      ...(process.env.NODE_OPTIONS ? { nodeOptions: process.env.NODE_OPTIONS } : {}),
    }),
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null)
      o.log.warn({ instanceId: spec.instanceId, code, stderr }, `${o.what} process exited`);
  });
  child.on('error', (err) => o.log.warn({ instanceId: spec.instanceId, err }, `${o.what} process failed`));
  o.log.info({ instanceId: spec.instanceId, pid: child.pid, ...o.details }, `${o.what} started`);
  return {
    pid: child.pid,
    stop: async () => {
      await stopChild(child, 3000);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Runs a unit's `toil` command (`toil rebalance-watch`) as the instance's process: this package's
 * bin/toil.js with the arguments the unit gives, the instance's environment, and the EC2 endpoint
 * offered to the nodes as `AWS_ENDPOINT_URL_EC2` (on AWS, the region's endpoint). Credentials
 * come from the instance's metadata service alone, as on a node.
 */
export class CliNodeCommandLauncher implements NodeCommandLauncher {
  private readonly command: readonly string[];
  private readonly log: Logger;
  private readonly ec2Endpoint: () => string;

  constructor(options: { log: Logger; ec2Endpoint: () => string; command?: readonly string[] }) {
    this.command = options.command ?? [process.execPath, toilBinPath()];
    this.log = options.log;
    this.ec2Endpoint = options.ec2Endpoint;
  }

  startCommand(spec: NodeCommandSpec): NodeProcess {
    return spawnOnInstance(spec, {
      // An instance's processes end with the instance; the local cloud's, killed with -9, with it.
      command: [...this.command, ...spec.args, '--exit-with', String(process.pid)],
      what: `toil ${spec.args[0] ?? ''}`.trim(),
      log: this.log,
      ec2Endpoint: this.ec2Endpoint(),
      details: { unit: spec.unit },
    });
  }
}
