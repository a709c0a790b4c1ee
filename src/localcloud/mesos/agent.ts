/**
 * A local Mesos agent: registers with the master, runs launched command tasks under an executor
 * process each (taskExecutor.ts) with the command executor's semantics (`sh -c value`, or argv
 * with `shell:false`; the CommandInfo environment over the agent's own), and reports each task's
 * states with a status update manager like Mesos': every update carries a uuid, the next update
 * of a task goes out only after the current one is acknowledged, and an unacknowledged one is
 * re-sent with doubling delays.
 * It keeps its agent id across master restarts (re-registering with its running tasks).
 * The agent↔master protocol is private to this project (see masterServer.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { RealClock, type Clock } from '../../common/clock.js';
import { coerceError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import {
  endLeftProcesses,
  killMarkedProcesses,
  newProcessMark,
  withProcessMark,
} from '../../common/processMarks.js';
import { masterBaseUrl } from '../../mesos/http.js';
import { parseMesosJson, stringifyMesosJson } from '../../mesos/json.js';
import { readRecords } from '../../mesos/recordio.js';
import { newStatusUuid } from '../../mesos/scheduler.js';
import { isTerminalTaskState } from '../../mesos/types.js';
import type {
  Attribute,
  FrameworkInfo,
  Resource,
  TaskInfo,
  TaskState,
  TaskStatus,
} from '../../mesos/types.js';
import { executorSpawn } from './taskExecutor.js';

export interface AgentOptions {
  /** The master, `host:port`. */
  master: string;
  resources: Resource[];
  attributes: Attribute[];
  hostname: string;
  port: number;
  workDir: string;
  clock?: Clock;
  log?: Logger;
  /** First re-send of an unacknowledged update (Mesos: 10 s, doubling up to 10 min). */
  statusRetryMs?: number;
  /** Delay between attempts to reach the master. */
  reconnectMs?: number;
}

interface AgentTask {
  info: TaskInfo;
  framework: FrameworkInfo;
  state: TaskState;
  child?: ChildProcess;
  /** Carried by every process of the task (see processMarks.ts): its container, as cgroups are Mesos'. */
  readonly mark: string;
  killingState: boolean;
  killReason?: string;
  killTimer?: AbortController;
  queue: TaskStatus[];
  retry?: AbortController;
  retryDelayMs: number;
  forget?: boolean;
}

export class LocalMesosAgent {
  private readonly options: AgentOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly masterUrl: URL;
  private agentId: string | undefined;
  private readonly tasks = new Map<string, AgentTask>();
  private stopped = false;
  private connection: http.ClientRequest | undefined;
  private pingStop = new AbortController();
  private doneResolve!: (reason: string) => void;
  /** Resolves when the agent shuts down (SHUTDOWN from the master, or `stop`). */
  readonly done: Promise<string>;

  constructor(options: AgentOptions) {
    this.options = options;
    this.clock = options.clock ?? new RealClock();
    this.log = (options.log ?? silentLogger()).child({ component: 'localcloud-mesos-agent' });
    this.masterUrl = masterBaseUrl(options.master);
    this.done = new Promise((resolve) => (this.doneResolve = resolve));
    const idFile = this.idFile();
    if (fs.existsSync(idFile)) this.agentId = fs.readFileSync(idFile, 'utf8').trim() || undefined;
  }

  get id(): string | undefined {
    return this.agentId;
  }

  private idFile(): string {
    return path.join(this.options.workDir, 'meta', 'slave_id');
  }

  start(): void {
    fs.mkdirSync(path.join(this.options.workDir, 'meta'), { recursive: true });
    fs.mkdirSync(path.join(this.options.workDir, 'run'), { recursive: true });
    void this.connectLoop();
  }

  /** Kills every task and stops (what a shut-down agent does). */
  async stop(reason = 'stopped'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.pingStop.abort();
    this.connection?.destroy();
    for (const t of this.tasks.values()) {
      t.retry?.abort();
      t.killTimer?.abort();
      if (t.child) signalGroup(t.child, 'SIGKILL');
    }
    // Its containers go with the agent: what left the tasks' process groups too.
    killMarkedProcesses([...this.tasks.values()].map((t) => t.mark));
    this.doneResolve(reason);
  }

  private async connectLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.registerOnce();
      } catch (e) {
        if (!this.stopped) this.log.warn({ err: coerceError(e).message }, 'lost the master; reconnecting');
      }
      this.pingStop.abort();
      if (this.stopped) return;
      await this.clock.sleep(this.options.reconnectMs ?? 1000);
    }
  }

  private async registerOnce(): Promise<void> {
    const body = stringifyMesosJson({
      ...(this.agentId ? { agentId: this.agentId } : {}),
      hostname: this.options.hostname,
      port: this.options.port,
      resources: this.options.resources,
      attributes: this.options.attributes,
      // Every task still held, terminal ones included: their last update has not been acknowledged.
      tasks: [...this.tasks.values()].map((t) => ({ task: t.info, framework: t.framework, state: t.state })),
    });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(new URL('/internal/agent/register', this.masterUrl), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        agent: false,
      });
      this.connection = req;
      req.on('response', resolve);
      req.on('error', reject);
      req.end(body);
    });
    if (res.statusCode !== 200) {
      res.resume();
      throw new Error(`registration answered ${res.statusCode}`);
    }
    for await (const record of readRecords(res)) {
      const msg = parseMesosJson(record) as Record<string, unknown>;
      await this.onMessage(msg);
      if (this.stopped) return;
    }
  }

  private async onMessage(msg: Record<string, unknown>): Promise<void> {
    switch (msg['type']) {
      case 'REGISTERED': {
        this.agentId = String(msg['agent_id']);
        fs.writeFileSync(this.idFile(), this.agentId);
        this.log.info({ agentId: this.agentId }, 'registered with the master');
        this.startPinging(Number(msg['ping_interval_ms'] ?? 5000));
        // Updates still waiting for an ACK go out again on the new connection.
        for (const [id, t] of this.tasks) if (t.queue.length > 0) this.sendHead(id, t);
        return;
      }
      case 'LAUNCH':
        this.launch(
          msg['task'] as TaskInfo,
          msg['framework'] as FrameworkInfo,
          msg['killing_state'] === true,
        );
        return;
      case 'KILL':
        this.kill(
          String(msg['task_id']),
          Number(msg['grace_ms'] ?? 3000),
          msg['reason'] as string | undefined,
          msg['forget'] === true,
        );
        return;
      case 'ACK':
        this.acknowledged(String(msg['task_id']), String(msg['uuid']));
        return;
      case 'SHUTDOWN':
        this.log.warn({ message: msg['message'] }, 'master told this agent to shut down');
        await this.stop(typeof msg['message'] === 'string' ? msg['message'] : 'shutdown');
        return;
      default:
        return;
    }
  }

  private startPinging(intervalMs: number): void {
    this.pingStop.abort();
    const stop = new AbortController();
    this.pingStop = stop;
    void (async () => {
      while (!stop.signal.aborted) {
        try {
          await this.post('/internal/agent/ping', { agent_id: this.agentId });
        } catch {
          // The stream's end drives reconnection; a lost ping only ages us in the master's eyes.
        }
        try {
          await this.clock.sleep(intervalMs, stop.signal);
        } catch {
          return;
        }
      }
    })();
  }

  private sandbox(info: TaskInfo, framework: FrameworkInfo): string {
    return path.join(
      this.options.workDir,
      'slaves',
      this.agentId ?? 'unregistered',
      'frameworks',
      framework.id?.value ?? 'unknown',
      'executors',
      info.task_id.value,
      'runs',
      'latest',
    );
  }

  private launch(info: TaskInfo, framework: FrameworkInfo, killingState: boolean): void {
    const taskId = info.task_id.value;
    if (this.tasks.has(taskId) && !isTerminalTaskState(this.tasks.get(taskId)!.state)) return;
    const task: AgentTask = {
      info,
      framework,
      state: 'TASK_STAGING',
      mark: newProcessMark(),
      killingState,
      queue: [],
      retryDelayMs: this.options.statusRetryMs ?? 10_000,
    };
    this.tasks.set(taskId, task);
    const cmd = info.command ?? {};
    const sandbox = this.sandbox(info, framework);
    fs.mkdirSync(sandbox, { recursive: true });
    const env: Record<string, string> = { ...(process.env as Record<string, string>) };
    for (const v of cmd.environment?.variables ?? []) if (v.value !== undefined) env[v.name] = v.value;
    Object.assign(env, withProcessMark(env, task.mark));
    env['MESOS_SANDBOX'] = sandbox;
    env['MESOS_TASK_ID'] = taskId;
    env['MESOS_AGENT_ID'] = this.agentId ?? '';
    env['MESOS_FRAMEWORK_ID'] = framework.id?.value ?? '';
    this.update(taskId, 'TASK_STARTING', 'SOURCE_EXECUTOR');
    const shell = cmd.shell !== false;
    const stdout = fs.openSync(path.join(sandbox, 'stdout'), 'a');
    const stderr = fs.openSync(path.join(sandbox, 'stderr'), 'a');
    let child: ChildProcess;
    try {
      // Through an executor, as on a real agent: a job that kills its parent hits that, not us.
      const { file, args } = executorSpawn({
        shell,
        value: cmd.value ?? '',
        arguments: cmd.arguments ?? [],
      });
      child = spawn(file, args, { cwd: sandbox, env, stdio: ['ignore', stdout, stderr], detached: true });
    } finally {
      fs.closeSync(stdout);
      fs.closeSync(stderr);
    }
    task.child = child;
    const pgidFile = path.join(this.options.workDir, 'run', `${encodeURIComponent(taskId)}.pgid`);
    child.once('spawn', () => {
      if (child.pid) fs.writeFileSync(pgidFile, String(child.pid));
      this.update(taskId, 'TASK_RUNNING', 'SOURCE_EXECUTOR');
    });
    child.once('error', (e) => {
      fs.rmSync(pgidFile, { force: true });
      this.update(
        taskId,
        'TASK_FAILED',
        'SOURCE_EXECUTOR',
        `Failed to launch command: ${e.message}`,
        'REASON_COMMAND_EXECUTOR_FAILED',
      );
    });
    child.once('exit', (code, signal) => {
      // Mesos destroys the task's container when its command ends, every process in it too: what
      // the command started (a service's server) must not outlive it, reparented to init. Its
      // process group first; then what left the group (detached, setsid) but carries its mark.
      signalGroup(child, 'SIGKILL');
      task.killTimer?.abort();
      const warn = (message: string): void => this.log.warn({ taskId }, message);
      void endLeftProcesses(task.mark, `task '${info.name}'`, this.clock, warn).then(() => {
        fs.rmSync(pgidFile, { force: true });
        this.ended(task, code, signal);
      });
    });
  }

  /** Reports the end of a task whose command exited and whose container is destroyed. */
  private ended(task: AgentTask, code: number | null, signal: NodeJS.Signals | null): void {
    const taskId = task.info.task_id.value;
    if (task.killReason !== undefined || (signal && task.state === 'TASK_KILLING')) {
      this.update(
        taskId,
        'TASK_KILLED',
        'SOURCE_EXECUTOR',
        `Command terminated with signal ${signal ?? code}`,
        task.killReason || undefined,
      );
    } else if (code === 0) {
      this.update(taskId, 'TASK_FINISHED', 'SOURCE_EXECUTOR', 'Command exited with status 0');
    } else if (signal) {
      this.update(
        taskId,
        'TASK_FAILED',
        'SOURCE_EXECUTOR',
        `Command terminated with signal ${signal}`,
        'REASON_COMMAND_EXECUTOR_FAILED',
      );
    } else {
      this.update(
        taskId,
        'TASK_FAILED',
        'SOURCE_EXECUTOR',
        `Command exited with status ${code}`,
        'REASON_COMMAND_EXECUTOR_FAILED',
      );
    }
    if (task.forget) this.tasks.delete(taskId);
  }

  private kill(taskId: string, graceMs: number, reason: string | undefined, forget: boolean): void {
    const task = this.tasks.get(taskId);
    if (!task || isTerminalTaskState(task.state)) return;
    task.killReason = reason ?? '';
    task.forget = forget;
    const child = task.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (task.killingState) this.update(taskId, 'TASK_KILLING', 'SOURCE_EXECUTOR', undefined, reason);
    signalGroup(child, 'SIGTERM');
    const timer = new AbortController();
    task.killTimer = timer;
    this.clock.sleep(graceMs, timer.signal).then(
      () => signalGroup(child, 'SIGKILL'),
      () => undefined,
    );
  }

  private update(
    taskId: string,
    state: TaskState,
    source: TaskStatus['source'],
    message?: string,
    reason?: string,
  ): void {
    const task = this.tasks.get(taskId);
    // A stopped agent reports nothing: its tasks die with it, as on a machine that went away.
    if (!task || isTerminalTaskState(task.state) || this.stopped) return;
    task.state = state;
    const status: TaskStatus = {
      task_id: { value: taskId },
      state,
      ...(message ? { message } : {}),
      source,
      ...(reason ? { reason } : {}),
      agent_id: { value: this.agentId ?? '' },
      executor_id: { value: taskId },
      timestamp: this.clock.now() / 1000,
      uuid: newStatusUuid(),
    };
    task.queue.push(status);
    if (task.queue.length === 1) this.sendHead(taskId, task);
    // The master's view shows the latest state even while earlier updates await their ACK.
    else
      void this.post('/internal/agent/status', {
        agent_id: this.agentId,
        framework_id: task.framework.id?.value,
        task_id: taskId,
        latest_state: state,
      }).catch(() => undefined);
  }

  /** Sends the oldest unacknowledged update, and arms its re-send. */
  private sendHead(taskId: string, task: AgentTask): void {
    const head = task.queue[0];
    if (!head || !this.agentId) return;
    task.retry?.abort();
    const retry = new AbortController();
    task.retry = retry;
    void this.post('/internal/agent/status', {
      agent_id: this.agentId,
      framework_id: task.framework.id?.value,
      status: head,
      latest_state: task.state,
    })
      .then((reply) => {
        if ((reply as { drop?: boolean }).drop) {
          retry.abort();
          this.tasks.delete(taskId);
        }
      })
      .catch(() => undefined);
    this.clock.sleep(task.retryDelayMs, retry.signal).then(
      () => {
        task.retryDelayMs = Math.min(task.retryDelayMs * 2, 600_000);
        this.sendHead(taskId, task);
      },
      () => undefined,
    );
  }

  private acknowledged(taskId: string, uuid: string): void {
    const task = this.tasks.get(taskId);
    if (!task || task.queue[0]?.uuid !== uuid) return;
    task.retry?.abort();
    task.queue.shift();
    task.retryDelayMs = this.options.statusRetryMs ?? 10_000;
    if (task.queue.length > 0) this.sendHead(taskId, task);
    else if (isTerminalTaskState(task.state)) this.tasks.delete(taskId);
  }

  private async post(pathname: string, body: unknown): Promise<unknown> {
    const text = stringifyMesosJson(body);
    return new Promise((resolve, reject) => {
      const req = http.request(new URL(pathname, this.masterUrl), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) },
        agent: false,
        timeout: 10_000,
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 ? parseMesosJson(Buffer.concat(chunks).toString('utf8')) : {});
          } catch {
            resolve({});
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(text);
    });
  }
}

/** Tasks run in their own process group, so a kill reaches whatever the command started. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}
