import type { Clock } from '../../common/clock.js';
import { ToilError, coerceError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { LeaderBeat } from '../../ports/leaderHeartbeat.js';
import type { Provisioner } from '../../ports/provisioner.js';
import type { ProvisionerCalls } from './calls.js';
import type { TickConfig } from './config.js';
import type { TickError } from './report.js';

/**
 * The leader's heartbeat on the instances it launched (src/ports/leaderHeartbeat.ts): written in
 * the launch's own tags, then every `tick.leaderHeartbeat` on all of them (and in the tick that
 * launched or adopted one, on any not beaten yet). Marked at launch, an instance never exists
 * unmarked: a leader killed the moment EC2 launched it (before it heard back, before any later
 * call) leaves an instance another leader can see is orphaned once the mark is stale.
 *
 * A mark is written only by a leader that has shown it can renew it: a beat written, or, before
 * its first launch, the cloud's word that it may (`checkLeaderMark`, a dry run). A leader whose
 * credentials may not tag (a cluster whose leader policy predates the heartbeat) launches its
 * instances unmarked, which no other leader retires, rather than marked and soon stale. A failed
 * beat is retried at the next interval, and said loudly: if it keeps failing after instances were
 * marked, the marks go stale and another leader may retire them; while beats fail, a launch is
 * marked only if the dry run says yes again.
 */
const NEEDS_CREATE_TAGS =
  "The leader's credentials need ec2:CreateTags of the toil-leader tags on its instances (launch-cluster gives it)";

export class LeaderHeartbeat {
  private readonly d: { provisioner: Provisioner; calls: ProvisionerCalls; clock: Clock; log: Logger };
  /** Instances beaten by this process since it started. */
  private readonly marked = new Set<string>();
  private nextFullBeatAt: number | undefined;
  private failing = false;
  /** This leader has written a beat, or been told it may: its launches carry the mark. */
  private mayMark = false;
  /** When to ask again whether the mark may be written, after the cloud said no. */
  private nextCheckAt: number | undefined;

  constructor(deps: { provisioner: Provisioner; calls: ProvisionerCalls; clock: Clock; log: Logger }) {
    this.d = deps;
  }

  /**
   * The last word of a leader that stops and keeps its instances (`--keepNodes`,
   * `shutdown.releaseNodes: false`): marks them kept, so no other leader takes the silence that
   * follows for death and retires what the user meant to keep. The next start beats over it.
   */
  async keep(tick: TickConfig, leaderId: string, owned: readonly string[]): Promise<void> {
    if (owned.length === 0) return;
    const beat = { leaderId, at: this.d.clock.now(), everyMs: tick.leaderHeartbeat, kept: true as const };
    try {
      await this.d.calls.run(tick, 'markLeaderLive', () => this.d.provisioner.markLeaderLive(owned, beat));
    } catch (e) {
      this.d.log.warn(
        { err: coerceError(e), instances: owned.length },
        `could not mark the ${owned.length} instance(s) this leader keeps as kept: another leader of the ` +
          `cluster may retire them once this leader's heartbeat on them is stale`,
      );
    }
  }

  /**
   * The mark a launch of this leader carries in its own tags, or undefined when it may not write
   * one: until it has written a beat, and while its beats fail (a throttled beat, or a permission
   * taken away), it asks the cloud first (one dry run, then again every interval while refused),
   * and a launch goes unmarked while the answer is no.
   */
  async forLaunch(tick: TickConfig, leaderId: string): Promise<LeaderBeat | undefined> {
    const now = this.d.clock.now();
    const beat = { leaderId, at: now, everyMs: tick.leaderHeartbeat };
    if (this.mayMark && !this.failing) return beat;
    if (this.nextCheckAt !== undefined && now < this.nextCheckAt) return undefined;
    try {
      await this.d.calls.run(tick, 'checkLeaderMark', () => this.d.provisioner.checkLeaderMark(beat), {
        queued: false,
      });
    } catch (e) {
      const err = coerceError(e);
      const code = err instanceof ToilError ? err.code : 'UNKNOWN';
      // Said without a stack: what is wrong is the cluster or the credentials, not this code.
      if (this.nextCheckAt === undefined)
        this.d.log.warn(
          { code, reason: err.message },
          code === 'CLUSTER_NOT_FOUND'
            ? `this leader cannot write its heartbeat: ${err.message}; its launches will fail the same way ` +
                `until the cluster exists: check --clusterName and --zone (toil launch-cluster makes the cluster)`
            : `this leader may not write its heartbeat on its instances (${code}): it launches them unmarked, ` +
                'and no other leader of the cluster retires an unmarked instance if this leader dies. Asked again ' +
                `every ${Math.round(tick.leaderHeartbeat / 1000)} s. ${NEEDS_CREATE_TAGS}`,
        );
      this.nextCheckAt = now + tick.leaderHeartbeat;
      return undefined;
    }
    if (this.nextCheckAt !== undefined)
      this.d.log.info('this leader may write its heartbeat again: its launches are marked');
    this.nextCheckAt = undefined;
    this.mayMark = true;
    return beat;
  }

  /** Instances launched with this leader's mark in their tags: beaten already. */
  markedAtLaunch(ids: readonly string[]): void {
    for (const id of ids) this.marked.add(id);
  }

  /** Beats if due; resolves with the failed call's error, if any (the tick reports it). */
  async beat(tick: TickConfig, leaderId: string, owned: readonly string[]): Promise<TickError | undefined> {
    const now = this.d.clock.now();
    for (const id of this.marked) if (!owned.includes(id)) this.marked.delete(id);
    const due = this.nextFullBeatAt === undefined || now >= this.nextFullBeatAt;
    if (!due && this.failing) return undefined;
    const ids = due ? owned : owned.filter((id) => !this.marked.has(id));
    if (due) this.nextFullBeatAt = now + tick.leaderHeartbeat;
    if (ids.length === 0) return undefined;
    const beat = { leaderId, at: now, everyMs: tick.leaderHeartbeat };
    try {
      await this.d.calls.run(tick, 'markLeaderLive', () => this.d.provisioner.markLeaderLive(ids, beat));
    } catch (e) {
      const err = coerceError(e);
      const code = err instanceof ToilError ? err.code : 'UNKNOWN';
      this.failing = true;
      this.nextFullBeatAt = now + tick.leaderHeartbeat;
      this.d.log.warn(
        { err, code, instances: ids.length },
        `could not write this leader's heartbeat on ${ids.length} instance(s) (${code}): tried again in ` +
          `${Math.round(tick.leaderHeartbeat / 1000)} s. Instances never marked stay unmarked (no leader retires ` +
          `them); a marked instance whose beat goes ${tick.leaderHeartbeatMisses} intervals stale may be retired by ` +
          `another leader of the cluster. ${NEEDS_CREATE_TAGS}`,
      );
      return {
        action: 'markLeaderLive',
        code,
        message: err.message,
        plan: 0,
        ...(err instanceof ToilError && err.disposition ? { disposition: err.disposition } : {}),
      };
    }
    if (this.failing) this.d.log.info({ instances: ids.length }, "this leader's heartbeat is written again");
    this.failing = false;
    this.mayMark = true;
    for (const id of ids) this.marked.add(id);
    return undefined;
  }
}
