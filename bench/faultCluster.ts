/**
 * The pieces the cluster scenarios of the fault bench share: a local cloud in this process (the
 * EC2 endpoint with its fault injection and a Mesos master with a registry, so either can be
 * faulted or restarted while the leader runs), the leader daemon as a real child process
 * (`toil leader --config …`, so kill -9 is real), sort submissions, and a ledger of every Mesos
 * task the master reported (which job, which attempt, when it started and ended).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RealClock } from '../src/common/clock.js';
import { silentLogger } from '../src/common/log.js';
import { silenceAwsSdkNodeVersionWarning } from '../src/main.js';
import { makeEmbeddedCluster } from '../src/main/embeddedCloud.js';
import { LOCAL_IMAGE } from '../src/localcloud/ec2/catalogue.js';
import type { InstanceRecord } from '../src/localcloud/ec2/ec2Cloud.js';
import { startEc2Endpoint, type Ec2Endpoint } from '../src/localcloud/ec2/index.js';
import { agentProcessLauncher, type AgentProcessHandle } from '../src/localcloud/mesos/agentProcess.js';
import { startMesosMaster, type MesosMasterHandle } from '../src/localcloud/mesos/masterServer.js';
import { MesosMasterClient } from '../src/mesos/masterClient.js';
import type { StateTask } from '../src/mesos/types.js';

export const ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url),
);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const ZONE = 'us-west-2a';
const LIVE = new Set(['pending', 'running']);

export interface BenchCloud {
  readonly ec2: Ec2Endpoint;
  /** The current master (a new handle after `restartMaster`). */
  readonly master: () => MesosMasterHandle;
  readonly mesosMaster: string;
  /** Every worker instance ever launched, in any state. */
  workers(): InstanceRecord[];
  /** Worker instances pending or running. */
  liveWorkers(): InstanceRecord[];
  /** The machine of a worker dies at once: its agent and tasks SIGKILLed, EC2 reclaims it. */
  killSpotWorker(id: string): void;
  /** Stops the master and, `downMs` later, starts a new one on the same port and registry. */
  restartMaster(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A local cloud holding cluster `clusterName` as launch-cluster leaves it (its security group and
 * leader instance): nodes boot in `bootDelayMs`, workers are `toil localcloud agent` processes.
 * The master keeps Mesos' default agent health checks (15 s × 5), as the embedded default does.
 */
export async function startBenchCloud(dir: string, clusterName: string): Promise<BenchCloud> {
  silenceAwsSdkNodeVersionWarning();
  const clock = new RealClock();
  const log = silentLogger();
  const registryPath = join(dir, 'mesos-registry.json');
  let master = await startMesosMaster({ host: '127.0.0.1', port: 0, registryPath, clock, log });
  const port = master.port;
  const agents = new Map<string, AgentProcessHandle>();
  const ec2 = await startEc2Endpoint({
    clock,
    log,
    host: '127.0.0.1',
    region: 'us-west-2',
    bootDelayMs: 1000,
    shutdownDelayMs: 500,
    mesosMaster: master.address,
    launcher: agentProcessLauncher((id, h) => agents.set(id, h)),
  });
  const client = new EC2Client({
    region: ec2.region,
    endpoint: ec2.url,
    credentials: { accessKeyId: 'AKIDLOCALCLOUD000000', secretAccessKey: 'local-cloud-not-a-secret' },
  });
  try {
    await makeEmbeddedCluster({
      ec2: client,
      settings: {
        clusterName,
        zone: ZONE,
        imageId: LOCAL_IMAGE.imageId,
        applianceImage: 'local',
        owner: 'bench',
        extraTags: {},
        nodeStorageGiB: 50,
        leaderStorageGiB: 50,
      },
      clusterName,
      zone: ZONE,
      clock,
      log,
    });
  } finally {
    client.destroy();
  }
  const workers = (): InstanceRecord[] => {
    ec2.cloud.settle();
    return [...ec2.cloud.instances.values()].filter((i) => i.tags.get('ToilNodeType') === 'worker');
  };
  return {
    ec2,
    master: () => master,
    mesosMaster: master.address,
    workers,
    liveWorkers: () => workers().filter((i) => LIVE.has(i.state)),
    killSpotWorker(id) {
      agents.get(id)?.kill();
      ec2.cloud.interruptSpot(id, 0);
      ec2.cloud.settle();
    },
    async restartMaster(downMs) {
      await master.stop();
      await sleep(downMs);
      master = await startMesosMaster({ host: '127.0.0.1', port, registryPath, clock, log });
    },
    async stop() {
      for (const i of workers()) if (LIVE.has(i.state)) ec2.cloud.terminateInstances([i.id]);
      await Promise.all([...agents.values()].map((a) => a.stop()));
      await ec2.stop();
      await master.stop();
    },
  };
}

/**
 * config/leader.yaml for a daemon on `cloud`: state in DIR/state, at most 2 workers (spot or
 * on-demand), a tick every 2 s, idle nodes
 * released after 4 s, nodes kept when the daemon stops (so a restart adopts them).
 */
export function writeDaemonConfig(
  dir: string,
  cloud: BenchCloud,
  clusterName: string,
  more: readonly (readonly [string | RegExp, string])[] = [],
): string {
  let text = readFileSync(join(ROOT, 'config/leader.yaml'), 'utf8');
  for (const [from, to] of [
    ['port: 8080', 'port: 0'],
    ['file:./toil-leader-state', `file:${dir}/state`],
    ['mesosMaster: embedded', `mesosMaster: "${cloud.mesosMaster}"`],
    [
      /provisioner:\n {2}kind: embedded\n {2}clusterName: local\n {2}zone: us-west-2a/,
      `provisioner:\n  kind: aws\n  clusterName: ${clusterName}\n  zone: ${ZONE}\n  endpoint: ${cloud.ec2.url}`,
    ],
    [/localcloud:\n( {2}.*\n)+/, ''],
    ['releaseNodes: true', 'releaseNodes: false'],
    ['scaleInterval: 10s', 'scaleInterval: 2s'],
    ['idleGrace: 20s', 'idleGrace: 4s'],
    ['maxNodes: 4', 'maxNodes: 2\n  maxTotalNodes: 2'],
    ['maxPreemptableNodes: 4', 'maxPreemptableNodes: 2'],
    ...more,
  ] as const) {
    if (text.search(from) < 0) throw new Error(`config/leader.yaml has no ${String(from)}`);
    text = text.replace(from, to);
  }
  const path = join(dir, 'leader.yaml');
  writeFileSync(path, text);
  return path;
}

export interface BenchDaemon {
  readonly child: ChildProcess;
  /** http://host:port */
  readonly url: string;
  output(): string;
  /** kill -9 and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit; SIGKILL after `graceMs`. Resolves whether it exited in time. */
  stop(graceMs?: number): Promise<boolean>;
}

/** Daemons started and not exited yet: a scenario that fails kills them (`killLiveDaemons`). */
const liveDaemons = new Set<ChildProcess>();

export async function killLiveDaemons(): Promise<void> {
  await Promise.all(
    [...liveDaemons].map((c) => {
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGKILL');
      return exited;
    }),
  );
}

/** `node bin/toil.js leader --config PATH` in `cwd` (its output also in cwd/daemon-PID.log), once it serves /status. */
export async function startDaemon(configPath: string, cwd: string): Promise<BenchDaemon> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/toil.js'), 'leader', '--config', configPath], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const log = join(cwd, `daemon-${child.pid}.log`);
  const take = (d: Buffer): void => {
    out += d.toString();
    appendFileSync(log, d);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  liveDaemons.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      liveDaemons.delete(child);
      resolve();
    }),
  );
  const until = Date.now() + 60_000;
  let url: string | undefined;
  while (url === undefined) {
    url = /status at (http:\/\/[0-9.:]+)\/status/.exec(out)?.[1];
    if (url) break;
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`toil leader did not start:\n${out.slice(-2000)}`);
    }
    await sleep(50);
  }
  return {
    child,
    url,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 45_000) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const inTime = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      await exited;
      clearTimeout(timer);
      return inTime;
    },
  };
}

export interface DaemonStatus {
  nodes: { owned: string[] };
  workflows: { id: string; status: string; message?: string }[];
}

export async function daemonStatus(url: string): Promise<DaemonStatus> {
  return (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
}

export interface SortRun {
  readonly id: string;
  readonly input: string;
  readonly output: string;
}

/** POSTs examples/sort.ts (all its jobs preemptable) with its own job store, input and output. */
export async function submitSort(url: string, dir: string, name: string, numLines: number): Promise<SortRun> {
  const input = join(dir, `${name}.in`);
  const output = join(dir, `${name}.out`);
  const res = await fetch(`${url}/workflows`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${readFileSync(`${dir}/state.token`, 'utf8').trim()}`,
    },
    body: JSON.stringify({
      workflowFile: join(ROOT, 'examples/sort.ts'),
      jobStore: `file:${join(dir, `${name}.js`)}`,
      args: ['--numLines', String(numLines), '--N', '20000', '--fileToSort', input, '--outputFile', output],
      defaultPreemptable: true,
    }),
  });
  if (res.status !== 202) throw new Error(`POST /workflows: ${res.status} ${await res.text()}`);
  return { id: ((await res.json()) as { id: string }).id, input, output };
}

/** The output holds the input's lines in byte order (`LC_ALL=C sort`). */
export function sortedCorrectly(run: SortRun): boolean {
  if (!existsSync(run.input) || !existsSync(run.output)) return false;
  const lines = (p: string): string[] => readFileSync(p, 'utf8').split('\n').filter(Boolean);
  const want = lines(run.input).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const got = lines(run.output);
  return want.length === got.length && want.every((l, i) => l === got[i]);
}

const TERMINAL_OK = 'TASK_FINISHED';
const TERMINAL = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNREACHABLE',
]);

export interface TaskSeen {
  readonly taskId: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly agentId: string;
  /** Seconds (epoch), from the master's status timestamps, or when first polled. */
  readonly startedAt: number;
  state: string;
  endedAt: number | undefined;
}

/**
 * Every task of every framework the master reported, polled every 250 ms and kept across master
 * restarts (a restarted master forgets finished tasks).
 */
export class TaskLedger {
  readonly tasks = new Map<string, TaskSeen>();
  /** Agent id → hostname (the instance's private address). */
  readonly agentHosts = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  private readonly cloud: BenchCloud;

  constructor(cloud: BenchCloud) {
    this.cloud = cloud;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => (this.polling = undefined));
    }, 250);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    await this.poll();
  }

  async poll(): Promise<void> {
    let state;
    try {
      state = await new MesosMasterClient(this.cloud.master().address).state();
    } catch {
      return; // the master is restarting
    }
    for (const a of state.slaves) this.agentHosts.set(a.id, a.hostname);
    const now = Date.now() / 1000;
    for (const fw of [...state.frameworks, ...(state.completed_frameworks ?? [])])
      for (const t of [...fw.tasks, ...fw.unreachable_tasks, ...fw.completed_tasks] as (StateTask & {
        labels?: { key: string; value?: string }[];
      })[]) {
        const label = (k: string): string | undefined => t.labels?.find((l) => l.key === k)?.value;
        const jobId = label('toil.jobId');
        if (jobId === undefined) continue;
        const stamps = t.statuses.map((s) => s.timestamp);
        let seen = this.tasks.get(t.id);
        if (!seen) {
          seen = {
            taskId: t.id,
            jobId,
            attempt: Number(label('toil.attempt')),
            agentId: t.slave_id,
            startedAt: stamps.length > 0 ? Math.min(...stamps) : now,
            state: t.state,
            endedAt: undefined,
          };
          this.tasks.set(t.id, seen);
        }
        seen.state = t.state;
        if (TERMINAL.has(t.state) && seen.endedAt === undefined)
          seen.endedAt = stamps.length > 0 ? Math.max(...stamps) : now;
      }
  }

  /** Tasks running (not ended) on agents whose hostname is one of `hosts`. */
  runningOn(hosts: ReadonlySet<string>): TaskSeen[] {
    return [...this.tasks.values()].filter(
      (t) => t.endedAt === undefined && hosts.has(this.agentHosts.get(t.agentId) ?? ''),
    );
  }

  /**
   * jobsLost: jobs with a task but none finished. completedJobsRerun: jobs with a task started
   * after another of its tasks had finished. attemptsLost: tasks that ended other than finished.
   */
  figures(): { jobs: number; jobsLost: number; completedJobsRerun: number; attemptsLost: number } {
    const byJob = new Map<string, TaskSeen[]>();
    for (const t of this.tasks.values()) byJob.set(t.jobId, [...(byJob.get(t.jobId) ?? []), t]);
    let jobsLost = 0;
    let rerun = 0;
    for (const ts of byJob.values()) {
      const finished = ts.filter((t) => t.state === TERMINAL_OK);
      if (finished.length === 0) jobsLost++;
      const firstFinish = Math.min(...finished.map((t) => t.endedAt ?? Infinity));
      if (ts.some((t) => t.startedAt > firstFinish)) rerun++;
    }
    return {
      jobs: byJob.size,
      jobsLost,
      completedJobsRerun: rerun,
      attemptsLost: [...this.tasks.values()].filter((t) => TERMINAL.has(t.state) && t.state !== TERMINAL_OK)
        .length,
    };
  }
}

/** Counts the daemon's log lines: lost jobs run again (no retry spent) and retries spent. */
export function retryFigures(output: string): { lostRerunNoRetry: number; retriesSpent: number } {
  return {
    lostRerunNoRetry: output.split('running it again (no retry spent)').length - 1,
    retriesSpent: (output.match(/failed; trying again/g) ?? []).length,
  };
}

/**
 * Waits (up to `timeoutMs`) until every run has ended and the cluster has scaled in to no worker;
 * returns the runs' final statuses and the workers still live (none owned by the daemon: orphans;
 * owned: left running).
 */
export async function waitForQuiet(
  daemon: BenchDaemon,
  cloud: BenchCloud,
  runs: readonly SortRun[],
  timeoutMs: number,
): Promise<{
  statuses: Map<string, string>;
  messages: string[];
  orphans: string[];
  leftRunning: string[];
}> {
  const until = Date.now() + timeoutMs;
  let s = await daemonStatus(daemon.url);
  const statuses = new Map<string, string>();
  for (;;) {
    s = await daemonStatus(daemon.url);
    for (const r of runs) statuses.set(r.id, s.workflows.find((w) => w.id === r.id)?.status ?? 'unknown');
    const running = [...statuses.values()].some((x) => x === 'running');
    if ((!running && cloud.liveWorkers().length === 0) || Date.now() > until) break;
    await sleep(500);
  }
  const live = cloud.liveWorkers().map((i) => i.id);
  return {
    statuses,
    messages: s.workflows.filter((w) => w.status !== 'succeeded').map((w) => `${w.status}: ${w.message}`),
    orphans: live.filter((id) => !s.nodes.owned.includes(id)),
    leftRunning: live,
  };
}
