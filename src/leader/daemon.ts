import { randomUUID } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../common/clock.js';
import { IllegalStateError, UserInputError, coerceError, isAbortError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { AgentReport } from '../mesos/batchSystem.js';
import type { Provisioner } from '../provisioner/provisioner.js';
import { buildHttp, type ReadinessCheck } from './http.js';
import type { LeaderProgress } from './leader.js';
import type { LeaderConfig } from './leaderConfig.js';
import type { LeaderMetrics } from './metrics.js';
import { ScalerTick, type TickReport, type TickStateStore } from './scalerTick.js';
import { ClusterWorkload, TrackedBatchSystem, type DrainableBatchSystem } from './workloadTracker.js';

export type DaemonState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

/** A workflow submitted to the daemon (`toil run … --leader URL`). */
export interface Submission {
  readonly workflowFile: string;
  readonly jobStore: string;
  readonly args: readonly string[];
  /** Jobs that declare nothing may run on spot nodes (--defaultPreemptable). */
  readonly defaultPreemptable?: boolean;
  /**
   * `toil run` options for this run (the in-process seed form passes the user's flags). Absent:
   * a new workflow, or a restart when the job store already exists, with Toil's defaults.
   */
  readonly options?: SubmissionOptions;
}

export interface SubmissionOptions {
  readonly restart?: boolean;
  readonly clean?: 'always' | 'onSuccess' | 'onError' | 'never';
  readonly retryCount?: number;
  /** Spot losses before a job runs on on-demand (default 3; Infinity: unlimited). */
  readonly preemptableRetries?: number;
  readonly defaults?: { readonly cores: number; readonly memory: number; readonly disk: number };
  readonly workDir?: string;
  /** The workflow module already bundled (the seed form checks it first); a new run uses it as is. */
  readonly bundle?: Uint8Array;
}

export interface WorkflowRun {
  readonly id: string;
  readonly submission: Submission;
  status: 'running' | 'succeeded' | 'failed';
  readonly submittedAt: number;
  finishedAt?: number;
  jobsRun?: number;
  message?: string;
  /** The run was refused for bad input (a UserInputError): `toil run` exits 2. */
  userError?: boolean;
  /** The workflow's progress as its leader last reported it. */
  progress?: LeaderProgress;
}

export interface DaemonDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: LeaderMetrics;
  /** The config in force; `config()` is read at every tick, so a reload applies at the next one. */
  readonly config: () => LeaderConfig;
  readonly provisioner: Provisioner;
  readonly tickStore: TickStateStore;
  /** A fresh Mesos batch system (one framework per workflow, as in Toil). */
  readonly newBatchSystem: () => DrainableBatchSystem;
  /** Agents as the master reports them, when no workflow is running. */
  readonly masterAgents: () => Promise<AgentReport[]>;
  /** Runs one workflow to the end on the given batch system. */
  readonly runWorkflow: (
    submission: Submission,
    batchSystem: TrackedBatchSystem,
    onProgress: (progress: LeaderProgress) => void,
    /** Aborted by `cancel`: the run ends with the reason as its error. */
    signal: AbortSignal,
  ) => Promise<{ status: 'succeeded' | 'failed'; jobsRun: number; message?: string }>;
  readonly readiness: readonly ReadinessCheck[];
  /**
   * Where submitted workflows are remembered: a leader restarted after a crash resumes the ones
   * still running (from their job stores, with `--restart` semantics). Optional for tests.
   */
  readonly runStore?: RunStore;
}

/** The workflows a daemon has taken, persisted so a restarted daemon resumes those still running. */
export interface RunStore {
  load(): Promise<readonly WorkflowRun[]>;
  save(runs: readonly WorkflowRun[]): Promise<void>;
}

/**
 * The leader daemon: a state machine (starting → running → draining → stopped, or failed) that
 * owns the scaler loop, the HTTP surface and the workflows submitted to it.
 *
 * Stop (SIGTERM): no more launches, no new workflows; in-flight provisioner calls finish; the tick
 * state is persisted; HTTP closes. `abort()` (a second signal) cancels in-flight retries at once.
 */
export class LeaderDaemon {
  private readonly d: DaemonDeps;
  private readonly log: Logger;
  readonly tick: ScalerTick;
  readonly workload: ClusterWorkload;
  private stateValue: DaemonState = 'starting';
  private readonly stopLoop = new AbortController();
  private wake: AbortController | undefined;
  private wakeScheduled = false;
  private loopDone: Promise<void> = Promise.resolve();
  private app: FastifyInstance | undefined;
  private readonly runs = new Map<string, WorkflowRun>();
  private readonly runPromises = new Set<Promise<void>>();
  private readonly cancels = new Map<string, AbortController>();
  readonly startedAt: number;
  /** When each queue change was seen and when the next launch call followed, for measurements. */
  readonly queueChanges: number[] = [];

  constructor(deps: DaemonDeps) {
    this.d = deps;
    this.log = deps.log.child({ component: 'daemon' });
    this.startedAt = deps.clock.now();
    this.workload = new ClusterWorkload(deps.masterAgents);
    this.tick = new ScalerTick({
      provisioner: deps.provisioner,
      agents: this.workload,
      workload: this.workload,
      store: deps.tickStore,
      clock: deps.clock,
      log: deps.log,
      metrics: deps.metrics,
      config: () => deps.config(),
      onReport: (r) => this.onReport(r),
    });
  }

  get state(): DaemonState {
    return this.stateValue;
  }

  private transition(to: DaemonState): void {
    this.log.info({ from: this.stateValue, to }, 'leader state');
    this.stateValue = to;
  }

  /** Adopts the last leader's instances, starts the loop, serves HTTP; resolves with the URL. */
  async start(): Promise<string> {
    if (this.stateValue !== 'starting') throw new IllegalStateError(`start() in state ${this.stateValue}`);
    try {
      await this.tick.restore();
      const previous = (await this.d.runStore?.load()) ?? [];
      for (const r of previous) if (r.status !== 'running') this.runs.set(r.id, r);
      this.app = this.buildApp();
      const { host, port } = this.d.config().http;
      const address = await this.app.listen({ host, port });
      this.loopDone = this.loop();
      this.transition('running');
      for (const r of previous)
        if (r.status === 'running') {
          this.log.info({ workflow: r.id }, 'resuming a workflow the last leader was running');
          this.submit(r.submission, r.id);
        }
      return address;
    } catch (e) {
      this.transition('failed');
      throw e;
    }
  }

  /** Takes a workflow; it runs in this process with its own batch system. */
  submit(submission: Submission, id: string = randomUUID()): WorkflowRun {
    if (this.stateValue !== 'running')
      throw new IllegalStateError(`the leader is ${this.stateValue}; it takes no new workflows`);
    const run: WorkflowRun = {
      id,
      submission,
      status: 'running',
      submittedAt: this.d.clock.now(),
    };
    this.runs.set(run.id, run);
    this.saveRuns();
    const tracked = new TrackedBatchSystem(this.d.newBatchSystem(), this.d.clock, () => this.queueChanged());
    this.workload.add(tracked);
    const cancel = new AbortController();
    this.cancels.set(run.id, cancel);
    const p = this.d
      .runWorkflow(submission, tracked, (progress) => (run.progress = progress), cancel.signal)
      .then(
        (r) => {
          run.status = r.status;
          run.jobsRun = r.jobsRun;
          if (r.message !== undefined) run.message = r.message;
        },
        (e: unknown) => {
          run.status = 'failed';
          run.message = coerceError(e).message;
          if (e instanceof UserInputError) run.userError = true;
          this.log.error({ err: coerceError(e), workflow: run.id }, 'workflow failed to run');
        },
      )
      .finally(() => {
        this.cancels.delete(run.id);
        run.finishedAt = this.d.clock.now();
        this.workload.remove(tracked);
        this.runPromises.delete(p);
        this.saveRuns();
        this.queueChanged();
      });
    this.runPromises.add(p);
    this.log.info(
      {
        workflow: run.id,
        workflowFile: submission.workflowFile,
        jobStore: submission.jobStore,
        args: submission.args,
        ...(submission.options?.restart ? { restart: true } : {}),
      },
      'workflow submitted',
    );
    return run;
  }

  private saveRuns(): void {
    const store = this.d.runStore;
    if (!store) return;
    // Chained so writes land in order; a failed write is logged, the next one carries the state.
    this.runsSaved = this.runsSaved
      .then(() =>
        store.save(
          [...this.runs.values()].map((run) => withoutBundle(run)).map(({ progress: _p, ...r }) => r),
        ),
      )
      .catch((e: unknown) => this.log.warn({ err: coerceError(e) }, 'could not persist the workflow list'));
  }

  private runsSaved: Promise<void> = Promise.resolve();

  workflow(id: string): WorkflowRun | undefined {
    return this.runs.get(id);
  }

  /**
   * Ends a running workflow with `reason` as its error (a UserInputError marks it as the user's
   * to fix). Its jobs stop being issued; what runs is left to finish or to the batch system.
   */
  cancel(id: string, reason: Error): void {
    this.cancels.get(id)?.abort(reason);
  }

  /** Graceful stop: no launches, in-flight calls finish, state persisted, HTTP closed. */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped' || this.stateValue === 'draining') return;
    this.transition('draining');
    this.tick.stopLaunching();
    this.stopLoop.abort();
    this.wake?.abort();
    // In-flight calls get shutdown.grace; then they and their retries are aborted.
    const settled = (async () => {
      await this.loopDone;
      await this.tick.idle();
    })();
    const timer = new AbortController();
    const timedOut = await Promise.race([
      settled.then(() => false),
      this.d.clock.sleep(this.d.config().shutdown.grace, timer.signal).then(
        () => true,
        () => false,
      ),
    ]);
    timer.abort();
    if (timedOut) {
      this.log.warn(
        { graceMs: this.d.config().shutdown.grace },
        'shutdown grace over: aborting in-flight calls',
      );
      this.tick.abortInFlight();
      await settled.catch(() => undefined);
    }
    if (this.d.config().shutdown.releaseNodes) await this.releaseNodes();
    await this.d.tickStore.save(this.tick.persisted);
    await this.runsSaved;
    await this.app?.close();
    this.transition('stopped');
  }

  /** A second signal: cancel in-flight calls and retries now. */
  abort(): void {
    this.log.warn('aborting in-flight calls');
    this.tick.abortInFlight();
  }

  /** Waits for every submitted workflow to end (for the seed's one-workflow form and tests). */
  async workflowsDone(): Promise<void> {
    while (this.runPromises.size > 0) await Promise.all([...this.runPromises]);
  }

  private async releaseNodes(): Promise<void> {
    const owned = Object.keys(this.tick.persisted.owned);
    if (owned.length === 0) return;
    this.log.info({ nodes: owned.length }, 'releasing every node this leader launched');
    await this.d.provisioner.terminate(owned);
  }

  private queueChanged(): void {
    this.queueChanges.push(this.d.clock.now());
    if (this.wakeScheduled || this.stopLoop.signal.aborted) return;
    this.wakeScheduled = true;
    // Debounced: a burst of issues becomes one tick, soon.
    void this.d.clock.sleep(this.d.config().tick.queueDebounce, this.stopLoop.signal).then(
      () => {
        this.wakeScheduled = false;
        this.wake?.abort();
      },
      () => (this.wakeScheduled = false),
    );
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopLoop.signal.aborted) {
      let waitMs: number;
      try {
        waitMs = (await this.tick.reconcile()).requeueAfterMs;
        failures = 0;
      } catch (e) {
        if (isAbortError(e) && this.stopLoop.signal.aborted) break;
        failures++;
        waitMs = Math.min(60_000, 1000 * 2 ** Math.min(failures, 6));
        this.d.metrics.ticks.inc({ result: 'error' });
        this.log.error({ err: coerceError(e), retryInMs: waitMs }, 'scaler tick failed');
      }
      if (this.stopLoop.signal.aborted) break;
      this.wake = new AbortController();
      const both = AbortSignal.any([this.wake.signal, this.stopLoop.signal]);
      await this.d.clock.sleep(waitMs, both).catch(() => undefined);
    }
  }

  private onReport(r: TickReport): void {
    this.log.debug({ durationMs: r.durationMs, plans: r.plans }, 'scaler tick done');
  }

  status(): unknown {
    const t = this.tick.persisted;
    const report = this.tick.report;
    const { queued, running } = this.workload.workload();
    return {
      state: this.stateValue,
      startedAt: new Date(this.startedAt).toISOString(),
      queue: { queued: queued.length, running: running.length },
      nodes: { owned: Object.keys(t.owned), draining: Object.keys(t.draining) },
      unavailableOfferings: t.unavailable,
      costDollars: Number(t.costDollars.toFixed(6)),
      lastTick: report && {
        seq: report.seq,
        at: new Date(report.at).toISOString(),
        durationMs: report.durationMs,
        plans: report.plans,
        launched: report.launched,
        launches: report.launches,
        terminated: report.terminated,
        errors: report.errors,
        plan: report.plan,
      },
      // The last ticks that acted or failed, so a refusal and what the re-plan launched in the
      // same tick can be read together after the fact.
      recentTicks: this.tick.recentReports.map((r) => ({
        seq: r.seq,
        at: new Date(r.at).toISOString(),
        plans: r.plans,
        launches: r.launches,
        terminated: r.terminated,
        drained: r.drained,
        errors: r.errors,
      })),
      fatalErrors: this.tick.fatalErrors.map((f) => ({
        ...f,
        firstAt: new Date(f.firstAt).toISOString(),
        lastAt: new Date(f.lastAt).toISOString(),
        backedOffUntil: new Date(f.backedOffUntil).toISOString(),
      })),
      ...(this.tick.launchesPausedUntil > this.d.clock.now()
        ? { launchesPausedUntil: new Date(this.tick.launchesPausedUntil).toISOString() }
        : {}),
      spotInterruptions: t.spotInterruptions ?? 0,
      workflows: [...this.runs.values()].map((r) => withoutBundle(r)),
    };
  }

  private buildApp(): FastifyInstance {
    const cfg = this.d.config();
    const app = buildHttp({
      clock: this.d.clock,
      log: this.d.log,
      metrics: this.d.metrics,
      lastTickAt: () => this.tick.lastCompletedAt,
      startedAt: this.startedAt,
      maxTickAgeMs: cfg.http.maxTickAge,
      readiness: this.d.readiness,
      status: () => this.status(),
      planNow: () => this.tick.planNow(),
      ...(cfg.http.statusPage ? { statusPage: () => statusPage(this.status()) } : {}),
    });
    app.post('/workflows', async (req, reply) => {
      const body = (req.body ?? {}) as Partial<Submission>;
      if (typeof body.workflowFile !== 'string' || typeof body.jobStore !== 'string')
        return reply.code(400).send({ error: 'expected JSON {workflowFile, jobStore, args?}' });
      const unreadable = await unreadableWorkflowFile(body.workflowFile);
      if (unreadable) return reply.code(400).send({ error: unreadable });
      try {
        const run = this.submit({
          workflowFile: body.workflowFile,
          jobStore: body.jobStore,
          args: Array.isArray(body.args) ? body.args.map(String) : [],
          ...(typeof body.defaultPreemptable === 'boolean'
            ? { defaultPreemptable: body.defaultPreemptable }
            : {}),
        });
        return reply.code(202).send(run);
      } catch (e) {
        const code = e instanceof UserInputError ? 400 : 503;
        return reply.code(code).send({ error: coerceError(e).message });
      }
    });
    app.get('/workflows/:id', async (req, reply) => {
      const run = this.workflow((req.params as { id: string }).id);
      return run ? withoutBundle(run) : reply.code(404).send({ error: 'no such workflow' });
    });
    return app;
  }
}

/** A run as shown and persisted: the bundled module (bytes) stays out of JSON. */
function withoutBundle(run: WorkflowRun): WorkflowRun {
  const options = run.submission.options;
  if (options?.bundle === undefined) return run;
  const { bundle: _b, ...rest } = options;
  return { ...run, submission: { ...run.submission, options: rest } };
}

/**
 * The daemon runs a workflow from its own file system: a path it cannot read is refused at once,
 * with what to do about it, rather than failing later inside the run.
 */
async function unreadableWorkflowFile(path: string): Promise<string | undefined> {
  if (!isAbsolute(path)) return `workflowFile ${path}: expected an absolute path on the leader's machine`;
  try {
    await access(path, constants.R_OK);
    return undefined;
  } catch (e) {
    return (
      `workflowFile ${path}: the leader cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'}); ` +
      `it reads workflow files from its own file system: copy the file to the leader (toil rsync-cluster) and submit that path`
    );
  }
}

function statusPage(status: unknown): string {
  const escaped = JSON.stringify(status, null, 2).replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>toil leader</title></head><body><h1>toil leader</h1><p><a href="/metrics">metrics</a> · <a href="/scaler/plan">dry-run plan</a></p><pre>${escaped}</pre></body></html>`;
}
