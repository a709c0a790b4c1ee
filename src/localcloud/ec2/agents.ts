import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../common/log.js';

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

export function formatResources(spec: Pick<AgentSpec, 'cpus' | 'memoryMiB' | 'diskMiB'>): string {
  return `cpus:${spec.cpus};mem:${spec.memoryMiB};disk:${spec.diskMiB}`;
}

export function formatAttributes(attributes: Readonly<Record<string, string>>): string {
  return Object.entries(attributes)
    .map(([k, v]) => `${k}:${v}`)
    .join(';');
}

/** bin/toil.js of this package, found from this module's place in src/ or dist/src/. */
export function toilBinPath(): string {
  for (const rel of ['../../../bin/toil.js', '../../../../bin/toil.js']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('bin/toil.js not found beside this package');
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
  options: { home: string; tmp: string; s3Endpoint?: string; nodeOptions?: string },
): Record<string, string> {
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: options.home,
    TMPDIR: options.tmp,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: spec.imdsEndpoint,
    ...(options.s3Endpoint ? { AWS_ENDPOINT_URL_S3: options.s3Endpoint } : {}),
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
    ];
    // The instance's disk: its home, the agent's work dir and its temp dir, removed when it stops.
    const home = mkdtempSync(join(tmpdir(), `toil-localcloud-${spec.instanceId}-`));
    const tmp = join(home, 'tmp');
    mkdirSync(tmp);
    args.push('--work-dir', join(home, 'agent'));
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: instanceEnvironment(spec, {
        home,
        tmp,
        ...(this.s3Endpoint ? { s3Endpoint: this.s3Endpoint } : {}),
        ...(process.env.NODE_OPTIONS ? { nodeOptions: process.env.NODE_OPTIONS } : {}),
      }),
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null)
        this.log.warn({ instanceId: spec.instanceId, code, stderr }, 'agent process exited');
    });
    child.on('error', (err) => this.log.warn({ instanceId: spec.instanceId, err }, 'agent process failed'));
    this.log.info({ instanceId: spec.instanceId, pid: child.pid, master: spec.master }, 'agent started');
    return {
      pid: child.pid,
      stop: async () => {
        await stopChild(child, 3000);
        rmSync(home, { recursive: true, force: true });
      },
    };
  }
}
