/**
 * An agent as a real process (`toil localcloud agent …`), for tests and for the local EC2
 * endpoint, whose running instances are agents. `kill()` is a machine dying: the agent and every
 * task it started vanish at once, with no goodbye to the master (a spot interruption).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toilBinPath } from '../../common/packageRoot.js';
import { killMarkedProcesses, newProcessMark, withProcessMark } from '../../common/processMarks.js';
import type { NodeProcessLauncher } from '../ec2/agents.js';

export interface AgentProcessOptions {
  /** The master, `host:port`. */
  master: string;
  /** `cpus:2;mem:4096;disk:10000` */
  resources: string;
  /** `preemptable:true` (or `preemptible:True`, as Toil writes it). */
  attributes?: string;
  hostname?: string;
  port?: number;
  /**
   * Kept between restarts so the agent keeps its id. When absent, a fresh temp dir that is the
   * machine's disk: removed once the agent has exited after `stop()` or `kill()`.
   */
  workDir?: string;
  statusRetryMs?: number;
  reconnectMs?: number;
  env?: Record<string, string>;
  logLevel?: string;
  /** Where the agent's own stdout/stderr go; inherited by default is noisy, so a file in workDir. */
  logFile?: string;
  /** The agent stops when this process is gone. Default: this process, so no agent outlives its starter. */
  exitWith?: number | null;
}

export interface AgentProcessHandle {
  readonly pid: number;
  readonly workDir: string;
  /** Resolves with the agent id once the agent has registered (reads its work dir). */
  agentId(timeoutMs?: number): Promise<string>;
  /** The machine dies: SIGKILL to the agent and to every task's process group. */
  kill(): void;
  /** A clean stop: SIGTERM (the agent kills its tasks and exits). */
  stop(): Promise<void>;
  readonly exited: Promise<number | null>;
}

function ownTmp(workDir: string): string {
  const tmp = path.join(workDir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  return tmp;
}

export function startAgentProcess(options: AgentProcessOptions): AgentProcessHandle {
  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'toil-mesos-agent-'));
  fs.mkdirSync(workDir, { recursive: true });
  // A terminated instance's disk goes with it; a dir the caller named is the caller's.
  const removeOwnDir = (): Promise<void> =>
    options.workDir === undefined
      ? exited
          // Killed tasks may still be writing into their sandboxes for a moment.
          .then(() => fs.promises.rm(workDir, { recursive: true, force: true, maxRetries: 3 }))
          .catch(() => undefined)
      : Promise.resolve();
  const args = [
    toilBinPath(),
    'localcloud',
    'agent',
    '--master',
    options.master,
    '--resources',
    options.resources,
    '--work-dir',
    workDir,
  ];
  // The agent removes a dir of its own itself, so it goes even when its starter dies without
  // stopping it (the agent then exits through --exit-with).
  if (options.workDir === undefined) args.push('--remove-work-dir');
  if (options.attributes) args.push('--attributes', options.attributes);
  if (options.hostname) args.push('--hostname', options.hostname);
  if (options.port !== undefined) args.push('--port', String(options.port));
  if (options.statusRetryMs !== undefined) args.push('--status-retry', `${options.statusRetryMs}ms`);
  if (options.reconnectMs !== undefined) args.push('--reconnect', `${options.reconnectMs}ms`);
  if (options.logLevel) args.push('--logLevel', options.logLevel);
  const exitWith = options.exitWith === undefined ? process.pid : options.exitWith;
  if (exitWith !== null) args.push('--exit-with', String(exitWith));
  const logFd = fs.openSync(options.logFile ?? path.join(workDir, 'agent.log'), 'a');
  // Carried by the agent and everything it starts (see processMarks.ts): the machine's processes,
  // which end with it, even those that left their task's process group and outlived the agent.
  const machineMark = newProcessMark();
  const endMachineProcesses = (): void => void killMarkedProcesses(machineMark);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, {
      stdio: ['ignore', logFd, logFd],
      // An agent on a temp dir of its own is a machine: its tasks' temp files go with its disk.
      env: withProcessMark(
        {
          ...process.env,
          ...(options.workDir === undefined ? { TMPDIR: ownTmp(workDir) } : {}),
          ...options.env,
        },
        machineMark,
      ),
    });
  } finally {
    fs.closeSync(logFd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const idFile = path.join(workDir, 'meta', 'slave_id');
  const taskGroups = (): number[] => {
    const dir = path.join(workDir, 'run');
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .map((f) => Number(fs.readFileSync(path.join(dir, f), 'utf8')))
      .filter((n) => Number.isInteger(n) && n > 0);
  };
  return {
    pid: child.pid ?? -1,
    workDir,
    exited,
    async agentId(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (fs.existsSync(idFile)) {
          const id = fs.readFileSync(idFile, 'utf8').trim();
          if (id) return id;
        }
        if (child.exitCode !== null)
          throw new Error(`agent exited (${child.exitCode}) before registering; see ${workDir}/agent.log`);
        if (Date.now() > deadline)
          throw new Error(`agent did not register within ${timeoutMs} ms; see ${workDir}/agent.log`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill() {
      // The agent first: alive for a moment longer, it would see its tasks die and report them
      // FAILED, which a vanished machine never does.
      child.kill('SIGKILL');
      for (const pgid of taskGroups()) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // That task had already ended.
        }
      }
      endMachineProcesses();
      void removeOwnDir();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      endMachineProcesses();
      await removeOwnDir();
    },
  };
}

/**
 * How the embedded local cloud's running workers become processes: a local Mesos agent per
 * instance, reporting the instance's private address as hostname (as on AWS, which is how the
 * scaler ties an agent to its instance) and reaching the instance's metadata service.
 * `onStarted` gets each agent's handle (a bench kills machines through it).
 */
export function agentProcessLauncher(
  onStarted?: (instanceId: string, agent: AgentProcessHandle) => void,
): NodeProcessLauncher {
  return {
    startAgent: (spec) => {
      const h = startAgentProcess({
        master: spec.master,
        resources: `cpus:${spec.cpus};mem:${spec.memoryMiB};disk:${spec.diskMiB}`,
        attributes: Object.entries(spec.attributes)
          .map(([k, v]) => `${k}:${v}`)
          .join(';'),
        hostname: spec.privateIp,
        port: 0,
        env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: spec.imdsEndpoint, TOIL_INSTANCE_ID: spec.instanceId },
        logLevel: 'warn',
      });
      onStarted?.(spec.instanceId, h);
      return { pid: h.pid, stop: () => h.stop() };
    },
  };
}
