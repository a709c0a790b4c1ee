import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import type { TrackedBatchSystem } from '../../src/leader/workloadTracker.js';
import {
  daemonTestConfig,
  fakeDaemonDeps,
  scriptedBatchSystem,
  sortAttempt,
} from '../fixtures/leaderFakes.js';

/**
 * `/status` and `/metrics` count queued and running jobs from the batch system at the request,
 * not from the last tick: on a ManualClock no tick runs between the steps below, yet both answer
 * what the batch system holds at once (the "within one second" of the operator's view is 0 s).
 */

t.test(
  '/status and /metrics job counts are the batch system’s at the request, not the last tick’s',
  async (t) => {
    const clock = new ManualClock();
    const config = daemonTestConfig({ nodeTypes: ['t2.medium'], scaleInterval: '10m' });
    const scripted = scriptedBatchSystem();
    let batchSystem: TrackedBatchSystem | undefined;
    let end: (() => void) | undefined;
    const deps = fakeDaemonDeps(clock, config);
    const daemon = new LeaderDaemon({
      ...deps,
      newBatchSystem: () => scripted.system,
      runWorkflow: async (_submission, bs) => {
        batchSystem = bs;
        await bs.start(() => {}); // as the workflow runner does: updates flow from here on
        return new Promise((resolve) => (end = () => resolve({ status: 'succeeded', jobsRun: 3 })));
      },
    });
    const url = await daemon.start();
    t.teardown(async () => {
      end?.();
      await daemon.stop();
    });
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    const counts = async () => {
      const status = (await (await fetch(`${url}/status`)).json()) as {
        queue: { queued: number; running: number; source: string };
        lastTick?: { seq: number };
      };
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
      return {
        status: [status.queue.queued, status.queue.running],
        source: status.queue.source,
        metrics: [gauge('toil_queued_jobs'), gauge('toil_running_jobs')],
        tick: status.lastTick?.seq,
      };
    };

    await settle();
    daemon.submit({ workflowFile: 'wf.ts', jobStore: 'file:js', args: [] });
    await settle();
    if (!batchSystem) throw new Error('runWorkflow was not called');
    const before = await counts();
    t.same(before.status, [0, 0], 'nothing issued yet');
    for (let i = 1; i <= 3; i++) await batchSystem.issue(sortAttempt(`job-${i}`));

    // The clock does not move, so no tick runs: whatever /status says now, it read just now.
    const issued = await counts();
    t.same(issued.status, [3, 0], '/status: three queued as soon as they are issued');
    t.same(issued.metrics, [3, 0], '/metrics: the same');
    t.equal(issued.source, 'live');
    t.equal(issued.tick, before.tick, 'no tick ran in between');

    scripted.onAgent.add('job-1');
    scripted.onAgent.add('job-2');
    const running = await counts();
    t.same(running.status, [1, 2], 'two placed on the agent: 1 queued, 2 running');
    t.same(running.metrics, [1, 2]);

    for (const id of ['job-1', 'job-2', 'job-3']) scripted.finish(id);
    const ended = await counts();
    t.same(ended.status, [0, 0], 'after they end: none');
    t.same(ended.metrics, [0, 0]);
    t.equal(ended.tick, before.tick, 'still no tick: the counts never came from one');
  },
);
