import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import type { ClusterBatchSystem } from '../../src/ports/batchSystem.js';
import type { TickReport } from '../../src/scaler/tick/report.js';
import {
  daemonTestConfig,
  fakeDaemonDeps,
  queueOnlyBatchSystem,
  settleDaemon,
  sortAttempt,
  startDaemonHoldingRuns,
  type RecordingProvisioner,
} from '../fixtures/leaderFakes.js';

/**
 * A spot interruption notice that appears between two ticks keeps new jobs off its node within
 * `tick.noticePoll` (default 5 s), not at the next tick a `scaleInterval` (10 minutes here) later,
 * and the tick it wakes launches the replacement at once. The notice is recorded and counted once,
 * by that tick. On a ManualClock: no real sleeps.
 */
const SCALE_INTERVAL_MS = 600_000;
const NOTICE_POLL_MS = 5_000;

/** A batch system whose agents are the provisioner's live nodes; it places nothing on a marked agent. */
function spotNodesBatchSystem(provisioner: RecordingProvisioner, clock: ManualClock) {
  const placedOn = new Map<string, string>();
  /** Agent id → when it was marked draining. */
  const marks = new Map<string, number>();
  const agentOf = (instanceId: string): string => `agent-${instanceId}`;
  const system: ClusterBatchSystem = {
    ...queueOnlyBatchSystem(),
    clusterAgents: async () =>
      provisioner.live().map((n) => ({
        agentId: agentOf(n.instanceId),
        hostname: n.privateIp ?? n.instanceId,
        instanceId: n.instanceId,
        preemptable: n.market === 'spot',
        runningJobIds: [...placedOn].filter(([, on]) => on === n.instanceId).map(([job]) => job),
      })),
    markDraining: (agentId) => void (marks.has(agentId) || marks.set(agentId, clock.now())),
    unmarkDraining: async (agentId) => void marks.delete(agentId),
    isEmpty: () => false,
    drain: async () => {},
    nodeLost: () => [],
  };
  /** Starts the job on the node, as the batch system would; false when the node's agent is marked. */
  const place = (jobId: string, instanceId: string): boolean => {
    if (marks.has(agentOf(instanceId))) return false;
    placedOn.set(jobId, instanceId);
    return true;
  };
  return { system, marks, place, agentOf };
}

t.test(
  'a spot notice between ticks: its node is kept from new jobs within tick.noticePoll and replaced at once, counted once',
  async (t) => {
    const clock = new ManualClock();
    const config = daemonTestConfig({
      nodeTypes: ['t2.medium:0.03'],
      maxNodes: 4,
      scaleInterval: `${SCALE_INTERVAL_MS / 1000}s`,
    });
    const deps = fakeDaemonDeps(clock, config);
    const cluster = spotNodesBatchSystem(deps.provisioner, clock);
    const { daemon, batchSystem } = await startDaemonHoldingRuns(t, deps, () => cluster.system);
    const reports: TickReport[] = [];
    daemon.events.on('tick', (r) => reports.push(r));
    const settle = settleDaemon;
    const noticesCounted = async (): Promise<number> =>
      (await deps.metrics.registry.getSingleMetric('toil_spot_interruption_notices_total')!.get()).values[0]!
        .value;
    await settle();

    daemon.submit({ workflowFile: 'wf.ts', jobStore: 'file:js', args: [] });
    await settle();
    const job = sortAttempt('job-1');
    await batchSystem().issue({ ...job, requirements: { ...job.requirements, preemptable: true } });
    await clock.advance(1_000);
    await settle();
    const [node] = deps.provisioner.live();
    if (!node) throw new Error('the queued job launched no node');
    t.equal(node.market, 'spot', 'a spot node for the preemptable job');
    t.ok(cluster.place('job-1', node.instanceId), 'its job runs there');
    await clock.advance(20_000);
    await settle();
    const ticksBefore = reports.length;
    t.equal(deps.provisioner.launchCalls.length, 1, 'steady: one launch so far');

    const noticedAt = clock.now();
    deps.provisioner.notices = [{ instanceId: node.instanceId, noticedAt, terminateAt: noticedAt + 120_000 }];
    await clock.advance(NOTICE_POLL_MS);
    await settle();
    const markedAt = cluster.marks.get(cluster.agentOf(node.instanceId));
    t.not(markedAt, undefined, `the noticed node's agent is marked draining within ${NOTICE_POLL_MS} ms`);
    t.ok(markedAt! - noticedAt <= NOTICE_POLL_MS, `marked ${markedAt! - noticedAt} ms after the notice`);
    t.notOk(cluster.place('job-2', node.instanceId), 'no new job starts on the noticed node');
    t.equal(
      deps.provisioner.launchCalls.length,
      2,
      'the tick the notice woke launched the replacement, a scaleInterval early',
    );
    const woken = reports.slice(ticksBefore);
    t.same(
      woken.map((r) => r.interruptionNotices),
      [[node.instanceId]],
      'one tick woken, which records the notice',
    );
    t.equal(await noticesCounted(), 1, 'counted once');

    // The notice stays up until the reclaim: later reads neither wake ticks nor count it again.
    await clock.advance(6 * NOTICE_POLL_MS);
    await settle();
    t.equal(reports.length, ticksBefore + 1, 'no further tick woken by the same notice');
    t.equal(await noticesCounted(), 1, 'still counted once');
    t.equal(deps.provisioner.launchCalls.length, 2, 'one notice, one replacement');
  },
);
