import type { Clock } from '../../common/clock.js';
import { coerceError, isAbortError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ClusterPort } from '../../ports/cluster.js';
import type { Provisioner } from '../../ports/provisioner.js';
import type { ProvisionerCalls } from './calls.js';
import { agentOfNode } from './clusterView.js';
import type { TickConfig } from './config.js';

export interface NoticeWatcherDeps {
  readonly provisioner: Provisioner;
  readonly cluster: ClusterPort;
  readonly calls: ProvisionerCalls;
  readonly clock: Clock;
  readonly log: Logger;
  /** The tick settings in force (read at each poll: a reload changes the cadence). */
  readonly tick: () => TickConfig;
  /** The nodes whose notice a tick has recorded already (TickState.noticed). */
  readonly recorded: () => ReadonlySet<string>;
  /** A node's private address as the ticks last saw it (for an agent that names its host only). */
  readonly addressOf: (instanceId: string) => string | undefined;
  /** Told once per poll that found a notice no tick has recorded: wakes a tick. */
  readonly onNotice: () => void;
}

/**
 * Reads the spot interruption notices every `tick.noticePoll`, between ticks, so that a notice
 * keeps new work off its node within seconds instead of at the next tick (up to a scaleInterval
 * of the notice's two minutes, during which the batch systems kept placing jobs there to be lost
 * at the reclaim). A notice no tick has recorded yet has its node's agent marked draining at once,
 * with the call the tick makes for noticed nodes (`ClusterPort.markDraining`), and wakes a tick.
 *
 * The watcher records nothing: the tick it wakes sees the notice as new, as it would have without
 * the watcher, and is the one place a notice is recorded, counted (`interruptionNotices` in the
 * report, `toil_spot_interruption_notices_total`) and has its replacement planned.
 */
export class NoticeWatcher {
  private readonly d: NoticeWatcherDeps;
  /** Nodes this watcher marked, so a notice is marked and wakes a tick once. */
  private readonly marked = new Set<string>();

  constructor(deps: NoticeWatcherDeps) {
    this.d = deps;
  }

  /** Polls until `signal` aborts; resolves then. Off (resolves at once) when `tick.noticePoll` is 0. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const every = this.d.tick().noticePoll;
      if (every === 0) return;
      try {
        await this.d.clock.sleep(every, signal);
      } catch (e) {
        if (signal.aborted) return;
        throw e;
      }
      await this.poll();
    }
  }

  /** One read of the notices; marks and tells of the new ones. Never throws (a failure is logged). */
  async poll(): Promise<void> {
    try {
      const tick = this.d.tick();
      // One try: the next poll is the retry, and a throttled account is not asked again at once.
      const notices = await this.d.calls.run(
        { ...tick, maxAttempts: 1 },
        'interruptionNotices',
        () => this.d.provisioner.interruptionNotices(),
        { queued: false, paced: true },
      );
      const noticed = new Set(notices.map((n) => n.instanceId));
      for (const id of this.marked) if (!noticed.has(id)) this.marked.delete(id);
      const recorded = this.d.recorded();
      const fresh = notices.filter((n) => !recorded.has(n.instanceId) && !this.marked.has(n.instanceId));
      if (fresh.length === 0) return;
      const { agents } = await this.d.cluster.read();
      for (const n of fresh) {
        this.marked.add(n.instanceId);
        const agent = agentOfNode(agents, n.instanceId, this.d.addressOf(n.instanceId));
        // Not registered yet: nothing to keep off; the tick marks its agent once it registers.
        if (agent) this.d.cluster.markDraining(agent.agentId);
        this.d.log.info(
          {
            nodeId: n.instanceId,
            terminateAt: new Date(n.terminateAt).toISOString(),
            ...(agent ? { agentId: agent.agentId } : {}),
          },
          agent
            ? 'spot interruption notice read between ticks: no new job is placed on the node from now; a tick replaces it'
            : 'spot interruption notice read between ticks for a node with no agent yet; a tick replaces it',
        );
      }
      this.d.onNotice();
    } catch (e) {
      if (isAbortError(e)) return;
      this.d.log.warn(
        { err: coerceError(e) },
        'could not read spot interruption notices between ticks; the next read or tick tries again',
      );
    }
  }
}
