import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import type { Clock } from '../common/clock.js';
import { JobTooBigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { onForcedExitKill } from '../common/forcedExit.js';
import {
  endLeftProcesses,
  killMarkedProcesses,
  LEFT_PROCESS_GRACE_MS,
  newProcessMark,
  withProcessMark,
} from '../common/processMarks.js';
import { formatBytes } from '../common/units.js';
import type { JobCommit, JobTicket } from '../jobstore/jobRecords.js';
import type { WarmRunReply, WarmRunRequest } from '../workflow/warmWorker.js';
import type { WorkerWarning } from '../workflow/worker.js';
import type {
  BatchSystem,
  IssuedJob,
  JobRequirements,
  JobUpdate,
  JobUpdateListener,
  RunningJobView,
} from '../ports/batchSystem.js';

export interface SingleMachineOptions {
  readonly maxCores: number;
  readonly maxMemory: number;
  readonly maxDisk: number;
  /**
   * Toil's `--scale`: each job counts as its cores times this (rounded up to a tenth of a core, at
   * least a tenth), so a workflow written for bigger machines runs on this one. Default 1.
   */
  readonly coreScale?: number;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * The argv of a warm worker (`toil worker --serve`). When given, attempts run in worker
   * processes that stay up between jobs (started on demand, never more than run at once);
   * otherwise each attempt runs its own `IssuedJob.command` in a fresh process.
   */
  readonly warmWorkerCommand?: readonly string[];
  /** Environment for worker processes (the leader's by default). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

interface Running {
  readonly job: IssuedJob;
  readonly startedAt: number;
  child?: ChildProcess;
  /** A fresh worker's: resolves once it has exited and what it left running is ended. */
  ended?: Promise<void>;
  warm?: WarmWorker;
  output: string;
  killed: boolean;
}

interface WarmWorker {
  readonly child: ChildProcess;
  /** Resolves once it has exited and what its jobs left running is ended. */
  readonly ended: Promise<void>;
  running: Running | undefined;
  /**
   * The job it ran last: one killed, or cut short by its worker's death, is the one whose
   * processes are left (each job that ended in it ended its own, see runWorkerJob).
   */
  lastJob: string;
  output: string;
}

const OUTPUT_TAIL = 8 * 1024;
/**
 * How long a worker told to stop gets before its process group is killed: its SIGTERM handler
 * takes up to LEFT_PROCESS_GRACE_MS to end its job's processes and delete its attempt's files,
 * then dies of the signal; the rest is for a busy machine. A Ctrl-C ends a run within it.
 */
const STOP_GRACE_MS = LEFT_PROCESS_GRACE_MS + 1_000;
const EPSILON = 1e-9;
/** Toil's single machine counts cores in tenths (its `minCores`, 0.1). */
const TENTHS = 10;

/** The cores a job asking for `cores` counts as under Toil's `--scale`. */
export function scaledCores(cores: number, scale: number): number {
  if (scale === 1) return cores;
  // Divided, not multiplied by 0.1, so 0.3 is 0.3 (not 0.30000000000000004).
  return Math.max(Math.ceil(cores * scale * TENTHS - EPSILON), 1) / TENTHS;
}

/**
 * Runs jobs as child processes of the leader, as many at once as fit in maxCores, maxMemory and
 * maxDisk (first fit over the issue order). A job asking for more than those limits is refused
 * up front with JobTooBigError. Nothing it runs outlives the leader: workers exit when their IPC
 * channel to the leader closes.
 */
export class SingleMachineBatchSystem implements BatchSystem {
  readonly name = 'single_machine';
  private readonly o: SingleMachineOptions;
  private readonly log: Logger;
  private listener: JobUpdateListener | undefined;
  private readonly queue: IssuedJob[] = [];
  private readonly running = new Map<string, Running>();
  private readonly idle: WarmWorker[] = [];
  private readonly warm = new Set<WarmWorker>();
  /** Job store and name of the jobs already reported for leaving timers or handles open. */
  private readonly leftOpenNamed = new Set<string>();
  private used = { cores: 0, memory: 0, disk: 0 };
  private stopped = false;
  /** The `ended` of every worker process not yet ended (see endOf). */
  private readonly ending = new Set<Promise<void>>();
  /** The process marks of those workers: what their jobs started carries one too. */
  private readonly marks = new Set<string>();
  private offForcedExit: (() => void) | undefined;
  /** The workers told to stop (SIGTERM sent), which get no second SIGTERM (see stopGroup). */
  private readonly stopping = new WeakSet<ChildProcess>();

  constructor(options: SingleMachineOptions) {
    this.o = options;
    this.log = options.log.child({ component: 'single_machine' });
  }

  async start(listener: JobUpdateListener): Promise<void> {
    this.listener = listener;
    // A leader exiting at once (a second Ctrl-C) ends its workers first, so that their jobs'
    // scratch can be removed (see runWorkflow).
    this.offForcedExit ??= onForcedExitKill(() => ({
      workers: this.workerProcesses().flatMap(killGroupNow),
      // What the jobs started outside their workers' groups: the sweep that ends it gets no turn.
      strays: killMarkedProcesses(this.marks).pids,
    }));
  }

  /** The largest job as it declares itself: under `--scale` its cores are the machine's ÷ scale. */
  maxJobRequirements(): JobRequirements {
    const scale = this.o.coreScale ?? 1;
    return {
      cores: this.o.maxCores / scale,
      memory: this.o.maxMemory,
      disk: this.o.maxDisk,
      preemptable: true,
    };
  }

  async issue(issued: IssuedJob): Promise<void> {
    const scale = this.o.coreScale ?? 1;
    const job =
      scale === 1
        ? issued
        : {
            ...issued,
            requirements: { ...issued.requirements, cores: scaledCores(issued.requirements.cores, scale) },
          };
    const r = job.requirements;
    if (r.cores > this.o.maxCores + EPSILON || r.memory > this.o.maxMemory || r.disk > this.o.maxDisk) {
      const scaled = scale === 1 ? '' : ` (${issued.requirements.cores} cores at --scale ${scale})`;
      throw new JobTooBigError(
        job.name,
        `${r.cores} cores${scaled}, ${formatBytes(r.memory)} memory, ${formatBytes(r.disk)} disk`,
        `${this.o.maxCores} cores, ${formatBytes(this.o.maxMemory)} memory, ${formatBytes(this.o.maxDisk)} disk on this machine`,
      );
    }
    this.queue.push(job);
    this.schedule();
  }

  async kill(jobId: string): Promise<void> {
    const queued = this.queue.findIndex((j) => j.jobId === jobId);
    if (queued >= 0) {
      const [job] = this.queue.splice(queued, 1);
      this.emit({ jobId, attempt: job!.attempt, outcome: 'killed' });
      return;
    }
    const run = this.running.get(jobId);
    if (!run) return;
    run.killed = true;
    const proc = run.child ?? run.warm?.child;
    if (!proc) return;
    this.stopGroup(proc);
    await (run.ended ?? run.warm?.ended);
  }

  issuedJobIds(): ReadonlySet<string> {
    return new Set([...this.queue.map((j) => j.jobId), ...this.running.keys()]);
  }

  runningJobs(): readonly RunningJobView[] {
    const node = hostname();
    return [...this.running.values()].map((r) => ({
      jobId: r.job.jobId,
      attempt: r.job.attempt,
      // The worker process running it, fresh or warm: what Toil's single machine calls its id.
      batchJobId: String((r.child ?? r.warm?.child)?.pid ?? '?'),
      node,
      startedAt: r.startedAt,
    }));
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    for (const p of this.workerProcesses()) this.stopGroup(p);
    // Every worker's end, with the sweep of what its jobs left, and the sweeps of those that
    // ended before: the leader exits after this, and nothing of its jobs may run on.
    await Promise.all(this.ending);
    this.idle.length = 0;
    this.warm.clear();
    this.offForcedExit?.();
    this.offForcedExit = undefined;
  }

  /**
   * Stops a worker and every process its job started: SIGTERM to its process group first, so that
   * the worker ends what its job started detached and deletes the files its attempt wrote (see
   * endAttemptOnSigterm) before it dies of the signal. Killed outright, it left those files in the
   * store (billed, on S3) until a --restart committed the job or the store was cleaned. SIGKILL to
   * the group after STOP_GRACE_MS if the worker has not ended (a job blocking its event loop), and
   * as it ends to what of its group outlived it (a tool ignoring SIGTERM, its mark scrubbed). Once
   * per worker: a second SIGTERM (a job killed, then the run shut down) ends a worker at once,
   * mid-deletion.
   */
  private stopGroup(proc: ChildProcess): void {
    if (proc.exitCode !== null || proc.signalCode !== null || this.stopping.has(proc)) return;
    this.stopping.add(proc);
    signalGroup(proc, 'SIGTERM');
    const ended = new AbortController();
    proc.once('exit', () => {
      ended.abort();
      // The group outlives its worker only while a member is left, which keeps its id from reuse
      // (and pids are handed out in turn: a freed one comes round again only after all the others).
      signalGroup(proc, 'SIGKILL');
    });
    this.o.clock.sleep(STOP_GRACE_MS, ended.signal).then(
      () => killGroupNow(proc),
      () => {},
    );
  }

  /** Every worker process, warm or fresh. */
  private workerProcesses(): ChildProcess[] {
    const procs = [...this.warm].map((w) => w.child);
    for (const r of this.running.values()) if (r.child) procs.push(r.child);
    return procs;
  }

  private schedule(): void {
    if (this.stopped) return;
    for (let i = 0; i < this.queue.length;) {
      const job = this.queue[i]!;
      if (this.fits(job.requirements)) {
        this.queue.splice(i, 1);
        this.launch(job);
      } else {
        i++;
      }
      if (this.used.cores >= this.o.maxCores - EPSILON) break;
    }
  }

  private fits(r: JobRequirements): boolean {
    return (
      this.used.cores + r.cores <= this.o.maxCores + EPSILON &&
      this.used.memory + r.memory <= this.o.maxMemory &&
      this.used.disk + r.disk <= this.o.maxDisk
    );
  }

  private launch(job: IssuedJob): void {
    const r = job.requirements;
    this.used = {
      cores: this.used.cores + r.cores,
      memory: this.used.memory + r.memory,
      disk: this.used.disk + r.disk,
    };
    const run: Running = { job, startedAt: this.o.clock.now(), output: '', killed: false };
    this.running.set(job.jobId, run);
    const wantsOwnEnv = job.environment !== undefined && Object.keys(job.environment).length > 0;
    if (this.o.warmWorkerCommand && !wantsOwnEnv) this.launchWarm(run);
    else this.launchFresh(run);
  }

  private launchFresh(run: Running): void {
    const [cmd, ...args] = run.job.command;
    const mark = newProcessMark();
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: withProcessMark({ ...(this.o.env ?? process.env), ...run.job.environment }, mark),
      detached: true, // a process group of its own: see signalGroup
    });
    run.child = child;
    run.ended = this.endOf(child, mark, () => run.job.name);
    const keep = (d: Buffer): void => {
      run.output = (run.output + d.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (e) => {
      run.output += `\ncould not start worker: ${e.message}`;
    });
    child.on('message', (m: WorkerWarning) => {
      if (m?.type === 'warning') this.log.warn({ job: run.job.name }, m.message);
    });
    child.on('close', (code, signal) => this.finished(run, code, signal, run.output));
  }

  private launchWarm(run: Running): void {
    const worker = this.idle.pop() ?? this.spawnWarm();
    worker.running = run;
    run.warm = worker;
    worker.lastJob = run.job.name;
    const request: WarmRunRequest = {
      type: 'run',
      locator: run.job.jobStoreLocator,
      jobId: run.job.jobId,
      attempt: run.job.attempt,
      // The leader's own JobTicket (see IssuedJob.ticket), carried as is.
      ...(run.job.ticket ? { ticket: run.job.ticket as JobTicket } : {}),
    };
    worker.child.send(request);
  }

  private spawnWarm(): WarmWorker {
    const [cmd, ...args] = this.o.warmWorkerCommand!;
    const mark = newProcessMark();
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: withProcessMark({ ...(this.o.env ?? process.env) }, mark),
      detached: true, // a process group of its own: see signalGroup
    });
    const worker: WarmWorker = {
      child,
      ended: this.endOf(child, mark, () => worker.lastJob),
      running: undefined,
      lastJob: 'unknown',
      output: '',
    };
    this.warm.add(worker);
    const keep = (d: Buffer): void => {
      worker.output = (worker.output + d.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (reply: WarmRunReply | WorkerWarning) => {
      // What its job left running, ended as SIGTERM stopped it (see endAttemptOnSigterm).
      if (reply?.type === 'warning') return this.log.warn({ job: worker.lastJob }, reply.message);
      const run = worker.running;
      if (
        reply?.type !== 'done' ||
        !run ||
        run.job.jobId !== reply.jobId ||
        run.job.attempt !== reply.attempt
      )
        return;
      worker.running = undefined;
      // A worker whose job left timers or handles behind exits after this reply (see
      // warmWorker.ts): it takes no other job, so that job's leftovers never fire inside another's.
      if (reply.warning) this.log.warn({ job: run.job.name }, reply.warning);
      if (reply.leftOpen) this.retiring(run.job, reply.leftOpen);
      // A callback of its job threw, uncaught: the worker exits after this reply (a throw after
      // the job returned is named in the warning logged above; one while it ran failed the job).
      else if (!reply.threwUncaught && !this.stopped) this.idle.push(worker);
      this.finished(run, reply.exitCode, null, reply.message ?? '', reply.commit);
    });
    child.on('exit', (code, signal) => {
      this.warm.delete(worker);
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
      const run = worker.running;
      worker.running = undefined;
      if (run) {
        this.finished(
          run,
          code ?? 1,
          signal,
          `the worker process died (${signal ?? `exit code ${code}`})\n${worker.output}`,
        );
      }
    });
    return worker;
  }

  /**
   * Resolves once `child` has exited and the processes carrying `mark` are ended: what the job
   * started outside the worker's process group (detached, setsid), which the group kill misses.
   * Tracked in `ending` until then, so shutdown waits for it.
   */
  private endOf(child: ChildProcess, mark: string, jobName: () => string): Promise<void> {
    this.marks.add(mark);
    const ended = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    })
      .then(async () => {
        await endLeftProcesses(mark, `job '${jobName()}'`, this.o.clock, (m) =>
          this.log.warn({ job: jobName() }, m),
        );
      })
      .finally(() => {
        this.ending.delete(ended);
        this.marks.delete(mark);
      });
    this.ending.add(ended);
    return ended;
  }

  /**
   * Says which job left what open: once per job name and workflow (job store), as every run of
   * that job would say the same; later ones at debug level.
   */
  private retiring(job: IssuedJob, leftOpen: Readonly<Record<string, number>>): void {
    const what = Object.entries(leftOpen)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    const line = `job '${job.name}' left ${what} open; its worker is retired after it so the next job starts clean`;
    const key = `${job.jobStoreLocator}\n${job.name}`;
    if (this.leftOpenNamed.has(key)) {
      this.log.debug(line);
    } else {
      this.leftOpenNamed.add(key);
      this.log.warn(line);
    }
  }

  private finished(
    run: Running,
    code: number | null,
    signal: NodeJS.Signals | null,
    output: string,
    commit?: JobCommit,
  ): void {
    if (this.running.get(run.job.jobId) !== run) return;
    this.running.delete(run.job.jobId);
    const r = run.job.requirements;
    this.used = {
      cores: this.used.cores - r.cores,
      memory: this.used.memory - r.memory,
      disk: this.used.disk - r.disk,
    };
    const outcome = run.killed ? 'killed' : code === 0 ? 'succeeded' : 'failed';
    const message =
      outcome === 'failed'
        ? `${signal ? `killed by ${signal}` : `exit code ${code}`}\n${output}`.trim()
        : undefined;
    this.emit({
      jobId: run.job.jobId,
      attempt: run.job.attempt,
      outcome,
      ...(code === null ? {} : { exitCode: code }),
      wallTimeMs: this.o.clock.now() - run.startedAt,
      node: 'localhost',
      ...(message === undefined ? {} : { message }),
      ...(outcome === 'succeeded' && commit ? { commit } : {}),
    });
    this.schedule();
  }

  private emit(update: JobUpdate): void {
    if (this.stopped) return;
    this.listener?.(update);
  }
}

/**
 * Signals a worker and every process its job started (a service's server, a tool it ran), as
 * Toil's single machine does: each worker runs in a process group of its own (spawned detached),
 * and the group is signalled. Killing the worker alone left them running after the run ended (a
 * service's processes after Ctrl-C, its stop() never called). A worker still alive leads its
 * group, so the group id is not reused. A terminal's Ctrl-C reaches only the leader, which stops
 * the run and stops them so (see stopGroup).
 */
function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (proc.pid === undefined) throw new Error('no pid');
    process.kill(-proc.pid, signal);
  } catch {
    proc.kill(signal);
  }
}

/** Kills the group of a worker still running; returns its pid (none if it had ended). */
function killGroupNow(proc: ChildProcess): number[] {
  if (proc.exitCode !== null || proc.signalCode !== null) return [];
  signalGroup(proc, 'SIGKILL');
  return proc.pid === undefined ? [] : [proc.pid];
}
