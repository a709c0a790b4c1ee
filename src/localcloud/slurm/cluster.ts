/**
 * A real Slurm on this machine: `slurmctld` and one `slurmd` per node, each node on its own
 * loopback address (127.0.0.x) so several nodes share one host, as Slurm's own multi-node test
 * setups do. Used by the local cloud (a running instance is a slurmd) and by the tests.
 *
 * - Nothing listens on 0.0.0.0: `CommunicationParameters=NoCtldInAddrAny,NoInAddrAny`.
 * - auth/none: the daemons trust any local caller. For one machine only.
 * - Each daemon runs in its own PID namespace (`unshare --pid --fork --kill-child`), so killing it
 *   takes every job it started with it (a machine dying), and under `setpriv --pdeathsig KILL`, so
 *   none outlives the process that started it. Each slurmd also gets its own UTS and mount
 *   namespace: its host name is the node's name, and /etc/hosts maps that name to its address.
 * - Nodes are not in slurm.conf: whoever registers a node (`SlurmCli.createNode`) names it, and its
 *   slurmd joins with the same name. One FUTURE placeholder carries the features `spot` and
 *   `ondemand` and a size beyond any instance type's, so a job is accepted before any node that
 *   fits it exists (Slurm refuses a constraint no node has, "Invalid feature specification", and a
 *   size none has, "Requested node configuration is not available").
 * Needs root (namespaces, bind mounts). See `slurmAvailability()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../common/log.js';
import { markOwnedSync, sweepAbandonedDirs } from '../../common/ownedDirs.js';
import { SlurmCli } from '../../slurm/cli.js';
import { PLAIN_SLURM_PLUGINS } from '../../slurm/appliance.js';

export interface SlurmControllerOptions {
  /** Where state, spool, logs and the conf live (created; removed by `stop` when we made it). */
  readonly dir?: string;
  readonly clusterName?: string;
  /** The address slurmctld listens on. Default 127.0.0.1. */
  readonly address?: string;
  /** Default: a free port. */
  readonly port?: number;
  /** Seconds before a silent slurmd is declared DOWN (and its jobs NODE_FAIL). Default 30. */
  readonly slurmdTimeoutSeconds?: number;
  /** Seconds a Slurm command waits for slurmctld's reply before it gives up (MessageTimeout). Default Slurm's 10. */
  readonly messageTimeoutSeconds?: number;
  /** The features the placeholder node declares. Default spot, ondemand. */
  readonly features?: readonly string[];
}

export interface SlurmController {
  readonly dir: string;
  /** The slurm.conf every client and node reads. */
  readonly conf: string;
  readonly address: string;
  readonly port: number;
  readonly slurmdPort: number;
  readonly pid: number;
  /** A client for this controller. */
  readonly cli: SlurmCli;
  /** SIGTERM, then SIGKILL after 5 s; `{kill: true}` is SIGKILL at once (its state is thrown away). */
  stop(options?: { kill?: boolean }): Promise<void>;
  readonly exited: Promise<number | null>;
}

export interface SlurmNodeProcessOptions {
  readonly name: string;
  /** A loopback address of its own (127.0.0.x), or the machine's address on a real host. */
  readonly address: string;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly tmpDiskMb: number;
  readonly features: readonly string[];
}

export interface SlurmNodeProcess {
  readonly name: string;
  readonly address: string;
  readonly pid: number;
  /** The machine dies: SIGKILL; its jobs die with it (PID namespace). */
  kill(): void;
  /** A clean stop: SIGTERM to slurmd, SIGKILL after 3 s. */
  stop(): Promise<void>;
  readonly exited: Promise<number | null>;
}

/** Why Slurm cannot run here, or undefined when it can. Tests skip with this message. */
export function slurmAvailability(): string | undefined {
  for (const tool of ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'unshare', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      return `${tool} is not installed (apt-get install slurm-wlm)`;
    }
  }
  if (process.getuid?.() !== 0) return 'running Slurm daemons on loopback addresses needs root';
  return undefined;
}

export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** slurm.conf for a controller with no static nodes. */
export function controllerConf(o: {
  dir: string;
  clusterName: string;
  controllerHost: string;
  address: string;
  port: number;
  slurmdPort: number;
  slurmdTimeoutSeconds: number;
  messageTimeoutSeconds: number;
  features: readonly string[];
}): string {
  const d = o.dir;
  return [
    `ClusterName=${o.clusterName}`,
    `SlurmctldHost=${o.controllerHost}(${o.address})`,
    `SlurmctldPort=${o.port}`,
    `SlurmdPort=${o.slurmdPort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/none',
    'CredType=cred/none',
    'MailProg=/bin/true',
    `StateSaveLocation=${d}/state`,
    `SlurmdSpoolDir=${d}/spool/%n`,
    `SlurmctldPidFile=${d}/run/slurmctld.pid`,
    `SlurmdPidFile=${d}/run/slurmd-%n.pid`,
    `SlurmctldLogFile=${d}/log/slurmctld.log`,
    `SlurmdLogFile=${d}/log/slurmd-%n.log`,
    // Slurm's own record of every finished job (node list, state, exit code), kept on disk.
    'JobCompType=jobcomp/filetxt',
    `JobCompLoc=${d}/log/jobcomp.txt`,
    ...PLAIN_SLURM_PLUGINS,
    // A node is the size it was registered with (an instance type), not this machine's.
    'SlurmdParameters=config_overrides',
    'CommunicationParameters=NoCtldInAddrAny,NoInAddrAny',
    'MaxNodeCount=256',
    'TreeWidth=65533',
    `SlurmdTimeout=${o.slurmdTimeoutSeconds}`,
    `MessageTimeout=${o.messageTimeoutSeconds}`,
    'KillWait=2',
    'MinJobAge=600',
    // Schedule a submitted job at once (the default batches batch jobs for up to 3 s, which on a
    // workflow's critical path costs 3 s per level), and test the whole queue every 2 s.
    'SchedulerParameters=batch_sched_delay=0,sched_interval=2',
    // Never runs anything; as large as any instance type, so a job is accepted (and waits) before
    // a node of its size has joined: the scaler launches one for it.
    `NodeName=toil-features State=FUTURE CPUs=512 RealMemory=33554432 TmpDisk=1073741824 Feature=${o.features.join(',')}`,
    'PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n');
}

/** Runs `command` in its own PID namespace, killed when we die. */
function spawnContained(shellCommand: string, extraNamespaces: string[], logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  try {
    return spawn(
      'setpriv',
      [
        '--pdeathsig',
        'KILL',
        'unshare',
        ...extraNamespaces,
        '--mount',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '--propagation',
        'private',
        'sh',
        '-c',
        shellCommand,
      ],
      { stdio: ['ignore', out, out] },
    );
  } finally {
    fs.closeSync(out);
  }
}

function exitedPromise(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  graceMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (graceMs === 0) killInside(child);
  // unshare passes SIGTERM on to the daemon and waits for it.
  else child.kill('SIGTERM');
  const timer = setTimeout(() => killInside(child), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Kills the namespace's PID 1 (the daemon, or a node's shell above slurmd): its death takes every
 * process there with it, and `unshare` (our child) reaps it and exits. Killing `unshare` instead would leave the
 * daemon a zombie under a PID 1 that may never reap it.
 */
function killInside(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  let inner: number[] = [];
  try {
    inner = fs
      .readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((x) => x !== '')
      .map(Number);
  } catch {
    // Gone already, or no /proc: fall back to killing unshare.
  }
  if (inner.length === 0) child.kill('SIGKILL');
  for (const pid of inner) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The prefix of the directory a controller makes itself in the temp dir. */
const CONTROLLER_DIR_PREFIX = 'toil-slurm-';

/**
 * Removes the controller directories (state, spool, logs) in the temp dir whose maker is gone from
 * this machine, a daemon or local cloud killed with kill -9 whose controller died with it
 * (`--pdeathsig`), and logs them: see `sweepAbandonedDirs` for what is kept. Returns the paths
 * removed.
 */
export async function sweepAbandonedControllerDirs(log: Logger): Promise<string[]> {
  const removed = await sweepAbandonedDirs(os.tmpdir(), CONTROLLER_DIR_PREFIX);
  if (removed.length > 0)
    log.info({ removed }, 'removed the Slurm directories of controllers whose process was killed');
  return removed;
}

export async function startSlurmController(options: SlurmControllerOptions = {}): Promise<SlurmController> {
  const madeDir = options.dir === undefined;
  // Marked as this process's: removed by `stop`, or, if this process is killed first, by the next
  // process to sweep (sweepAbandonedControllerDirs).
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), CONTROLLER_DIR_PREFIX));
  if (madeDir) markOwnedSync(dir);
  for (const sub of ['state', 'spool', 'log', 'run']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? (await freeLoopbackPort(address));
  let slurmdPort = await freeLoopbackPort(address);
  while (slurmdPort === port) slurmdPort = await freeLoopbackPort(address);
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(
    conf,
    controllerConf({
      dir,
      clusterName: options.clusterName ?? 'toil',
      controllerHost: os.hostname().split('.')[0]!,
      address,
      port,
      slurmdPort,
      slurmdTimeoutSeconds: options.slurmdTimeoutSeconds ?? 30,
      messageTimeoutSeconds: options.messageTimeoutSeconds ?? 10,
      features: options.features ?? ['spot', 'ondemand'],
    }),
  );
  const child = spawnContained(
    `exec slurmctld -D -f ${quote(conf)}`,
    [],
    path.join(dir, 'log', 'slurmctld.out'),
  );
  const exited = exitedPromise(child);
  const cli = new SlurmCli({ conf });
  let dead = false;
  void exited.then(() => (dead = true));
  for (let waited = 0; ; waited += 100) {
    try {
      await cli.ping();
      break;
    } catch (e) {
      if (dead || waited > 20_000) {
        child.kill('SIGKILL');
        const log = fs.readFileSync(path.join(dir, 'log', 'slurmctld.out'), 'utf8').slice(-2000);
        throw new Error(`slurmctld did not come up: ${(e as Error).message}\n${log}`, { cause: e });
      }
      await sleep(100);
    }
  }
  return {
    dir,
    conf,
    address,
    port,
    slurmdPort,
    pid: child.pid!,
    cli,
    exited,
    async stop(stopOptions = {}) {
      await stopChild(child, exited, stopOptions.kill ? 0 : 5000);
      if (madeDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A node joins: registered with the controller (FUTURE, with its features and a Weight that puts
 * spot nodes first), its slurmd started; resolves once Slurm shows it ready for jobs (20 s at most).
 */
export async function joinSlurmNode(
  controller: { conf: string; dir: string; cli: SlurmCli },
  o: SlurmNodeProcessOptions,
  spotFeature = 'spot',
): Promise<SlurmNodeProcess> {
  await controller.cli.createNode({ ...o, weight: o.features.includes(spotFeature) ? 1 : 10 });
  const node = startSlurmNode(controller, o);
  try {
    await waitForNodeState(controller.cli, o.name, (s) => s === 'idle' || s === 'mixed' || s === 'allocated');
  } catch (e) {
    node.kill();
    throw e;
  }
  return node;
}

/** Resolves with the node's state once `ok` accepts it (sinfo every 100 ms); throws after `timeoutMs`. */
export async function waitForNodeState(
  cli: SlurmCli,
  name: string,
  ok: (state: string) => boolean,
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '(not listed)';
  for (;;) {
    const n = (await cli.nodes()).find((x) => x.name === name);
    if (n) last = n.state;
    if (n && ok(n.state)) return n.state;
    if (Date.now() > deadline) throw new Error(`Slurm node ${name} stayed ${last} for ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Starts the slurmd of a node (already registered with the controller, or defined in its conf).
 * Its conf is the controller's plus the node's own line: slurmd reads its size from there.
 */
export function startSlurmNode(
  controller: { conf: string; dir: string },
  o: SlurmNodeProcessOptions,
): SlurmNodeProcess {
  const nodeDir = path.join(controller.dir, 'nodes', o.name);
  fs.mkdirSync(nodeDir, { recursive: true });
  fs.mkdirSync(path.join(controller.dir, 'spool', o.name), { recursive: true });
  const hosts = path.join(nodeDir, 'hosts');
  fs.writeFileSync(hosts, `127.0.0.1 localhost\n${o.address} ${o.name}\n`);
  const conf = path.join(nodeDir, 'slurm.conf');
  fs.writeFileSync(
    conf,
    `${fs.readFileSync(controller.conf, 'utf8')}DebugFlags=NO_CONF_HASH\n` +
      `NodeName=${o.name} NodeAddr=${o.address} NodeHostname=${o.name} CPUs=${o.cpus} ` +
      `RealMemory=${o.memoryMb} TmpDisk=${o.tmpDiskMb}` +
      `${o.features.length > 0 ? ` Feature=${o.features.join(',')}` : ''}\n`,
  );
  const child = spawnContained(
    // The shell stays PID 1 of the namespace, slurmd its child: slurmd leaves each job's
    // slurmstepd to PID 1 to reap, and would reap none itself (a zombie holding one of the
    // machine's PIDs per job run, until the node stops). Its wait reaps any child; a SIGTERM
    // (a clean stop) goes on to slurmd.
    `mount --bind ${quote(hosts)} /etc/hosts && hostname ${quote(o.name)} || exit 1\n` +
      `slurmd -D -N ${quote(o.name)} -f ${quote(conf)} &\n` +
      `daemon=$!\ntrap 'kill -TERM $daemon' TERM\n` +
      `while kill -0 $daemon 2>/dev/null; do wait $daemon; done`,
    ['--uts'],
    path.join(nodeDir, 'slurmd.out'),
  );
  const exited = exitedPromise(child);
  return {
    name: o.name,
    address: o.address,
    pid: child.pid!,
    exited,
    kill() {
      killInside(child);
    },
    async stop() {
      await stopChild(child, exited, 3000);
    },
  };
}
