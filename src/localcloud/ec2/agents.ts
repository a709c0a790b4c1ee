import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
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
 * Runs `toil localcloud agent --master … --resources … --attributes …` (the local Mesos agent) as
 * a child process, with the instance's metadata endpoint in its environment as the AWS SDK names it.
 */
export class CliAgentLauncher implements NodeProcessLauncher {
  private readonly command: readonly string[];
  private readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: { log: Logger; command?: readonly string[]; env?: NodeJS.ProcessEnv }) {
    this.command = options.command ?? [process.execPath, toilBinPath()];
    this.log = options.log;
    this.env = options.env ?? {};
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
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...this.env,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: spec.imdsEndpoint,
        TOIL_INSTANCE_ID: spec.instanceId,
        TOIL_PRIVATE_IP: spec.privateIp,
      },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null)
        this.log.warn({ instanceId: spec.instanceId, code, stderr }, 'agent process exited');
    });
    child.on('error', (err) => this.log.warn({ instanceId: spec.instanceId, err }, 'agent process failed'));
    this.log.info({ instanceId: spec.instanceId, pid: child.pid, master: spec.master }, 'agent started');
    return { pid: child.pid, stop: () => stopChild(child, 3000) };
  }
}
