/**
 * The Mesos v1 scheduler API client (mesos.md §3): one long-lived SUBSCRIBE stream of RecordIO
 * events, and every call on its own connection with the stream's `Mesos-Stream-Id`.
 *
 * What it guarantees, which pymesos (Toil's driver) does not:
 * - The framework id is loaded from and saved to a `FrameworkIdStore` (the leader backs it with
 *   the job store), and `failover_timeout` is set, so a leader restart re-subscribes as the same
 *   framework and its running tasks live on (Mesos' default of 0 kills them all).
 * - A stream that goes silent is dead: heartbeats come every `heartbeat_interval_seconds`, and
 *   after `missedHeartbeats` intervals with no event the stream is dropped and re-subscribed,
 *   with jittered exponential backoff (also after errors, an ERROR event, or a master restart).
 * - After every SUBSCRIBED, tasks are reconciled: explicitly for the tasks the caller knows, then
 *   implicitly; tasks that got no answer are asked about again with backoff until each has one
 *   (a master fresh from failover drops replies for agents that have not re-registered yet).
 * - UPDATEs carrying a uuid are acknowledged after the handler has taken them; master-generated
 *   ones (no uuid) are never acknowledged (trap 13).
 * Time runs on the injected Clock.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import { ToilError, coerceError, isAbortError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { MesosEndpoint, MesosHttpError } from './http.js';
import { parseMesosJson, stringifyMesosJson } from './json.js';
import { readRecords } from './recordio.js';
import type { FrameworkInfo, MasterInfo, Offer, SchedulerEvent, TaskInfo, TaskStatus } from './types.js';

/**
 * Where the framework id lives between leader runs. `load` resolves undefined when there is none
 * yet; `save(undefined)` forgets it (the master removed the framework, so it can never be reused).
 * Both may throw; the client logs the error and retries the subscription later.
 */
export interface FrameworkIdStore {
  load(): Promise<string | undefined>;
  save(frameworkId: string | undefined): Promise<void>;
}

export class MemoryFrameworkIdStore implements FrameworkIdStore {
  private id: string | undefined;
  constructor(initial?: string) {
    this.id = initial;
  }
  async load(): Promise<string | undefined> {
    return this.id;
  }
  async save(frameworkId: string | undefined): Promise<void> {
    this.id = frameworkId;
  }
}

export interface ReconcileTask {
  taskId: string;
  agentId?: string;
}

/**
 * What the client tells its user. Handlers run one at a time, in stream order; the next event is
 * read only when the previous handler has resolved. A handler that throws is logged; the stream
 * goes on (an UPDATE whose handler threw is not acknowledged, so the agent will send it again).
 */
export interface SchedulerHandler {
  subscribed(info: {
    frameworkId: string;
    resubscribed: boolean;
    masterInfo?: MasterInfo;
  }): void | Promise<void>;
  offers(offers: Offer[]): void | Promise<void>;
  rescind(offerId: string): void | Promise<void>;
  update(status: TaskStatus): void | Promise<void>;
  /** An agent was lost (no executorId) or an executor exited. */
  failure?(info: { agentId?: string; executorId?: string; status?: number }): void | Promise<void>;
  message?(info: { agentId: string; executorId: string; data: Buffer }): void | Promise<void>;
  /** The stream ended (any reason); offers held are void. Re-subscription follows by itself. */
  disconnected?(reason: string): void | Promise<void>;
  /** The tasks to reconcile explicitly after each SUBSCRIBED (those launched and not terminal). */
  tasksToReconcile?(): ReconcileTask[];
}

export interface SchedulerOptions {
  master: string | MesosEndpoint;
  framework: {
    name: string;
    user: string;
    /** Seconds the master keeps our tasks running while we are away. Days, not 0. */
    failoverTimeoutSeconds: number;
    roles?: string[];
    principal?: string;
    hostname?: string;
    /** Ask for TASK_UNREACHABLE/GONE/DROPPED/UNKNOWN instead of TASK_LOST. Default true. */
    partitionAware?: boolean;
  };
  frameworkIdStore: FrameworkIdStore;
  clock: Clock;
  log?: Logger;
  /** Intervals with no event after which the stream is dead. Default 5 (Mesos' advice). */
  missedHeartbeats?: number;
  /** Re-subscribe backoff, doubled per failure with ±25% jitter. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** First re-ask for unanswered reconciliation; doubles up to backoffMaxMs. */
  reconcileRetryMs?: number;
  /** Per-call timeout for non-stream calls. */
  callTimeoutMs?: number;
  random?: () => number;
}

/** A call that needs a subscription was made while not subscribed. */
export class MesosNotSubscribedError extends ToilError {
  constructor(call: string) {
    super(
      'MESOS_NOT_SUBSCRIBED',
      `cannot send ${call}: the scheduler is not subscribed to the Mesos master`,
      {
        disposition: 'retry',
      },
    );
  }
}

const DEFAULT_HEARTBEAT_SECONDS = 15;

export class MesosSchedulerClient {
  readonly endpoint: MesosEndpoint;
  private readonly options: SchedulerOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private handler: SchedulerHandler | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private stopController = new AbortController();
  private connection: AbortController | undefined;
  private streamId: string | undefined;
  private currentFrameworkId: string | undefined;
  private lastEventAt = 0;
  private heartbeatMs = DEFAULT_HEARTBEAT_SECONDS * 1000;
  private rearmWatchdog: () => void = () => undefined;
  private subscriptions = 0;
  private subscribedWaiters: (() => void)[] = [];
  /** TEARDOWN was sent: the master no longer takes this framework's calls. */
  private tornDown = false;
  /** Task ids awaiting a reconciliation answer in the current subscription. */
  private unanswered = new Map<string, ReconcileTask>();

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.endpoint = typeof options.master === 'string' ? new MesosEndpoint(options.master) : options.master;
    this.log = (options.log ?? silentLogger()).child({ component: 'mesos-scheduler' });
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
  }

  get frameworkId(): string | undefined {
    return this.currentFrameworkId;
  }

  get subscribed(): boolean {
    return this.streamId !== undefined;
  }

  /** How many times SUBSCRIBED has been received (1 after the first subscription). */
  get subscriptionCount(): number {
    return this.subscriptions;
  }

  /** Starts subscribing (and re-subscribing for as long as it runs). */
  start(handler: SchedulerHandler): void {
    if (this.running) return;
    this.handler = handler;
    this.running = true;
    this.loop = this.subscribeLoop();
  }

  /** Resolves once subscribed (now or later); rejects after `timeoutMs` of the clock. */
  async waitSubscribed(timeoutMs: number): Promise<void> {
    if (this.subscribed) return;
    const ac = new AbortController();
    let done!: () => void;
    const subscribed = new Promise<void>((resolve) => (done = resolve));
    this.subscribedWaiters.push(done);
    const timeout = this.clock.sleep(timeoutMs, ac.signal).then(
      () => {
        throw new MesosHttpError(
          'MESOS_SUBSCRIBE_TIMEOUT',
          `not subscribed to the Mesos master within ${timeoutMs} ms`,
          {
            disposition: 'retry',
          },
        );
      },
      () => undefined,
    );
    try {
      await Promise.race([subscribed, timeout]);
    } finally {
      ac.abort();
    }
  }

  /** Drops the stream and stops re-subscribing. The framework stays registered (tasks run on). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopController.abort();
    this.connection?.abort();
    await this.loop;
    this.loop = undefined;
    this.stopController = new AbortController();
  }

  /** Drops the current stream as if the network had; the client re-subscribes by itself. */
  dropStream(): void {
    this.connection?.abort();
  }

  /** TEARDOWN: the master kills every task and forgets the framework; then stop. */
  async teardown(): Promise<void> {
    this.tornDown = true;
    if (this.subscribed) await this.call('TEARDOWN', {});
    await this.options.frameworkIdStore.save(undefined);
    await this.stop();
  }

  // ---- calls -------------------------------------------------------------------------------

  /** ACCEPT with LAUNCH of `tasks` on `offerIds` (all from one agent). Unused resources are declined. */
  async launch(offerIds: string[], tasks: TaskInfo[], refuseSeconds?: number): Promise<void> {
    await this.call('ACCEPT', {
      accept: {
        offer_ids: offerIds.map((value) => ({ value })),
        operations: [{ type: 'LAUNCH', launch: { task_infos: tasks } }],
        ...(refuseSeconds !== undefined ? { filters: { refuse_seconds: refuseSeconds } } : {}),
      },
    });
  }

  /** DECLINE; the agent's resources come back no sooner than `refuseSeconds` (unless freed ones). */
  async decline(offerIds: string[], refuseSeconds?: number): Promise<void> {
    if (offerIds.length === 0) return;
    await this.call('DECLINE', {
      decline: {
        offer_ids: offerIds.map((value) => ({ value })),
        ...(refuseSeconds !== undefined ? { filters: { refuse_seconds: refuseSeconds } } : {}),
      },
    });
  }

  async kill(taskId: string, agentId?: string, gracePeriodMs?: number): Promise<void> {
    await this.call('KILL', {
      kill: {
        task_id: { value: taskId },
        ...(agentId ? { agent_id: { value: agentId } } : {}),
        ...(gracePeriodMs !== undefined
          ? { kill_policy: { grace_period: { nanoseconds: BigInt(Math.round(gracePeriodMs)) * 1_000_000n } } }
          : {}),
      },
    });
  }

  async acknowledge(agentId: string, taskId: string, uuid: string): Promise<void> {
    await this.call('ACKNOWLEDGE', {
      acknowledge: { agent_id: { value: agentId }, task_id: { value: taskId }, uuid },
    });
  }

  /** Explicit reconciliation of `tasks`; an empty list asks for every task the master knows. */
  async reconcile(tasks: ReconcileTask[]): Promise<void> {
    await this.call('RECONCILE', {
      reconcile: {
        tasks: tasks.map((t) => ({
          task_id: { value: t.taskId },
          ...(t.agentId ? { agent_id: { value: t.agentId } } : {}),
        })),
      },
    });
  }

  /** No more offers until REVIVE (offers already out stay valid; updates still flow). */
  async suppress(roles?: string[]): Promise<void> {
    await this.call('SUPPRESS', roles ? { suppress: { roles } } : {});
  }

  /** Offers again, and DECLINE filters cleared. The field is `roles` (an array), never `role`. */
  async revive(roles?: string[]): Promise<void> {
    await this.call('REVIVE', roles ? { revive: { roles } } : {});
  }

  /** One non-subscribe call: 202 Accepted with an empty body means queued. */
  async call(type: string, payload: Record<string, unknown>): Promise<void> {
    const frameworkId = this.currentFrameworkId;
    const streamId = this.streamId;
    if (!frameworkId || !streamId) throw new MesosNotSubscribedError(type);
    await this.endpoint.request({
      method: 'POST',
      path: '/api/v1/scheduler',
      headers: { 'Mesos-Stream-Id': streamId },
      body: stringifyMesosJson({ framework_id: { value: frameworkId }, type, ...payload }),
      timeoutMs: this.options.callTimeoutMs ?? 15_000,
    });
  }

  // ---- the subscription --------------------------------------------------------------------

  private async subscribeLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let wasSubscribed = false;
      try {
        wasSubscribed = await this.subscribeOnce();
      } catch (e) {
        if (!this.running) break;
        const err = coerceError(e);
        this.log.warn(
          { err: { code: (err as ToilError).code, message: err.message } },
          'Mesos subscription failed',
        );
      }
      this.streamId = undefined;
      this.unanswered.clear();
      // The master closes the stream of a framework it tears down: that is the end, not a drop.
      if (!this.running || this.tornDown) break;
      failures = wasSubscribed ? 1 : failures + 1;
      const delay = this.backoff(failures);
      this.log.info({ delayMs: delay }, 're-subscribing to the Mesos master');
      try {
        await this.clock.sleep(delay, this.stopController.signal);
      } catch {
        break;
      }
    }
  }

  private backoff(failures: number): number {
    const initial = this.options.backoffInitialMs ?? 1000;
    const max = this.options.backoffMaxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.max(0, failures - 1));
    return Math.round(base * (0.75 + 0.5 * this.random()));
  }

  /** One stream, from SUBSCRIBE to its end. Resolves true if SUBSCRIBED was received. */
  private async subscribeOnce(): Promise<boolean> {
    const storedId = await this.options.frameworkIdStore.load();
    const f = this.options.framework;
    const capabilities = [{ type: 'MULTI_ROLE' }, { type: 'TASK_KILLING_STATE' }];
    if (f.partitionAware !== false) capabilities.push({ type: 'PARTITION_AWARE' });
    const info: FrameworkInfo = {
      user: f.user,
      name: f.name,
      ...(storedId ? { id: { value: storedId } } : {}),
      failover_timeout: f.failoverTimeoutSeconds,
      checkpoint: true,
      roles: f.roles ?? ['*'],
      capabilities,
      ...(f.hostname ? { hostname: f.hostname } : {}),
      ...(f.principal ? { principal: f.principal } : {}),
    };
    // Re-subscribing needs the id both at the top level and in framework_info, or the master says 400.
    const body = stringifyMesosJson({
      ...(storedId ? { framework_id: { value: storedId } } : {}),
      type: 'SUBSCRIBE',
      subscribe: { framework_info: info },
    });
    const connection = new AbortController();
    this.connection = connection;
    const onStop = (): void => connection.abort();
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    let subscribed = false;
    let reason = 'stream ended';
    // The watchdog measures silence from now: set the mark before it first looks.
    this.lastEventAt = this.clock.now();
    const watchdog = this.watchdog(connection);
    try {
      const res: http.IncomingMessage = await this.endpoint.stream({
        method: 'POST',
        path: '/api/v1/scheduler',
        body,
        signal: connection.signal,
      });
      const streamId = res.headers['mesos-stream-id'];
      if (typeof streamId !== 'string' || streamId === '') {
        res.destroy();
        throw new MesosHttpError('MESOS_PROTOCOL', 'SUBSCRIBE answered without a Mesos-Stream-Id header', {
          disposition: 'retry',
        });
      }
      for await (const record of readRecords(res)) {
        this.lastEventAt = this.clock.now();
        const event = parseMesosJson(record) as SchedulerEvent;
        if (event.type === 'SUBSCRIBED') {
          subscribed = true;
          await this.onSubscribed(event, streamId);
        } else if (event.type === 'ERROR') {
          reason = `ERROR event: ${event.error?.message ?? ''}`;
          await this.onError(event.error?.message ?? '');
          break;
        } else if (subscribed) {
          await this.dispatch(event);
        }
      }
    } catch (e) {
      if (connection.signal.aborted && isAbortError(e)) {
        reason = this.stopController.signal.aborted ? 'stopped' : 'stream dropped';
      } else if (connection.signal.aborted) {
        reason = 'stream dropped';
      } else {
        throw e;
      }
    } finally {
      this.stopController.signal.removeEventListener('abort', onStop);
      connection.abort();
      await watchdog;
      if (subscribed) {
        this.streamId = undefined;
        if (this.running && !this.tornDown) this.log.warn({ reason }, 'Mesos subscription stream ended');
        await this.safely('disconnected', () => this.handler?.disconnected?.(reason));
      }
    }
    return subscribed;
  }

  /** Aborts the connection when no event has arrived for `missedHeartbeats` intervals. */
  private async watchdog(connection: AbortController): Promise<void> {
    const missed = this.options.missedHeartbeats ?? 5;
    while (!connection.signal.aborted) {
      const deadline = this.lastEventAt + this.heartbeatMs * missed;
      const wait = deadline - this.clock.now();
      if (wait <= 0) {
        this.log.warn({ silentMs: this.clock.now() - this.lastEventAt }, 'Mesos stream silent: dropping it');
        connection.abort();
        return;
      }
      // Woken early when SUBSCRIBED announces the real interval, so the deadline is re-computed.
      const wake = new AbortController();
      this.rearmWatchdog = () => wake.abort();
      try {
        await this.clock.sleep(wait, AbortSignal.any([connection.signal, wake.signal]));
      } catch {
        if (connection.signal.aborted) return;
      }
    }
  }

  private async onSubscribed(
    event: Extract<SchedulerEvent, { type: 'SUBSCRIBED' }>,
    streamId: string,
  ): Promise<void> {
    const frameworkId = event.subscribed.framework_id.value;
    const resubscribed = this.currentFrameworkId === frameworkId || this.subscriptions > 0;
    this.currentFrameworkId = frameworkId;
    this.streamId = streamId;
    this.subscriptions++;
    const seconds = Number(event.subscribed.heartbeat_interval_seconds ?? DEFAULT_HEARTBEAT_SECONDS);
    this.heartbeatMs = Math.max(1, seconds * 1000);
    this.rearmWatchdog();
    this.log.info({ frameworkId, streamId, heartbeatSeconds: seconds }, 'subscribed to the Mesos master');
    try {
      await this.options.frameworkIdStore.save(frameworkId);
    } catch (e) {
      this.log.error({ err: coerceError(e) }, 'could not save the framework id');
    }
    for (const wake of this.subscribedWaiters.splice(0)) wake();
    await this.safely('subscribed', () =>
      this.handler?.subscribed({
        frameworkId,
        resubscribed,
        ...(event.subscribed.master_info ? { masterInfo: event.subscribed.master_info } : {}),
      }),
    );
    this.startReconciliation(streamId);
  }

  private async onError(message: string): Promise<void> {
    this.log.error({ message }, 'Mesos master sent ERROR on the subscription stream');
    if (/has been removed|not found/i.test(message)) {
      // A removed framework id can never be used again: subscribe as a new framework.
      this.currentFrameworkId = undefined;
      await this.options.frameworkIdStore.save(undefined);
    }
  }

  /**
   * Explicit reconciliation of the caller's tasks, then implicit; unanswered tasks are asked
   * about again with backoff while this stream lasts. Runs beside the event loop.
   */
  private startReconciliation(streamId: string): void {
    const tasks = this.handler?.tasksToReconcile?.() ?? [];
    this.unanswered = new Map(tasks.map((t) => [t.taskId, t]));
    void (async () => {
      let delay = this.options.reconcileRetryMs ?? 2000;
      try {
        await this.reconcile(tasks);
        await this.reconcile([]);
        while (this.streamId === streamId && this.unanswered.size > 0) {
          await this.clock.sleep(delay, this.connection?.signal);
          if (this.streamId !== streamId || this.unanswered.size === 0) break;
          this.log.info({ tasks: this.unanswered.size }, 're-reconciling tasks with no answer yet');
          await this.reconcile([...this.unanswered.values()]);
          delay = Math.min(delay * 2, this.options.backoffMaxMs ?? 30_000);
        }
      } catch (e) {
        // A stream that ended meanwhile (a TEARDOWN at the workflow's end, a stop, a re-subscribe)
        // makes the master refuse the call ("Framework is not subscribed"): nothing failed then.
        const ended = this.tornDown || !this.running || this.streamId !== streamId;
        if (!isAbortError(e) && !ended) this.log.warn({ err: coerceError(e) }, 'reconciliation call failed');
      }
    })();
  }

  private async dispatch(event: SchedulerEvent): Promise<void> {
    const h = this.handler;
    if (!h) return;
    switch (event.type) {
      case 'HEARTBEAT':
        return;
      case 'OFFERS':
        await this.safely('offers', () => h.offers(event.offers.offers ?? []));
        return;
      case 'RESCIND':
        await this.safely('rescind', () => h.rescind(event.rescind.offer_id.value));
        return;
      case 'UPDATE': {
        const status = event.update.status;
        this.unanswered.delete(status.task_id.value);
        const ok = await this.safely('update', () => h.update(status));
        if (ok && status.uuid && status.agent_id) {
          try {
            await this.acknowledge(status.agent_id.value, status.task_id.value, status.uuid);
          } catch (e) {
            // The agent re-sends unacknowledged updates; the next one gets another chance. Once we
            // stop or tear down, the master refuses it ("not subscribed"), which is no fault.
            if (this.running && !this.tornDown)
              this.log.warn({ err: coerceError(e), taskId: status.task_id.value }, 'acknowledge failed');
          }
        }
        return;
      }
      case 'FAILURE':
        await this.safely('failure', () =>
          h.failure?.({
            ...(event.failure.agent_id ? { agentId: event.failure.agent_id.value } : {}),
            ...(event.failure.executor_id ? { executorId: event.failure.executor_id.value } : {}),
            ...(event.failure.status !== undefined ? { status: event.failure.status } : {}),
          }),
        );
        return;
      case 'MESSAGE':
        await this.safely('message', () =>
          h.message?.({
            agentId: event.message.agent_id.value,
            executorId: event.message.executor_id.value,
            data: Buffer.from(event.message.data ?? '', 'base64'),
          }),
        );
        return;
      default:
        return;
    }
  }

  private async safely(what: string, fn: () => unknown): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (e) {
      this.log.error({ err: coerceError(e), handler: what }, 'scheduler handler failed');
      return false;
    }
  }
}

/** A random 16-byte uuid in Mesos' wire form (base64 with padding), for agents and tests. */
export function newStatusUuid(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64');
}
