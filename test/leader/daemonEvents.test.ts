import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { createLeaderMetrics } from '../../src/leader/metrics.js';
import {
  MemoryTickStore,
  RecordingProvisioner,
  queueOnlyBatchSystem,
  tickTestConfig,
} from '../fixtures/leaderFakes.js';

/**
 * The daemon's typed events, awaited instead of polled: `tick` with the report /status shows,
 * `launched` with the nodes the provisioner has, `workflowFinished` with the run's outcome.
 */

t.test('tick, launched and workflowFinished are emitted with what they describe in place', async (t) => {
  const clock = new ManualClock();
  const provisioner = new RecordingProvisioner(clock);
  const config = tickTestConfig({ minNodes: 1 });
  let finish: ((jobsRun: number) => void) | undefined;
  const daemon = new LeaderDaemon({
    clock,
    log: silentLogger(),
    metrics: createLeaderMetrics({ withProcessMetrics: false }),
    config: () => ({ ...config, http: { ...config.http, port: 0 } }),
    provisioner,
    tickStore: new MemoryTickStore(),
    newBatchSystem: queueOnlyBatchSystem,
    idleClusterAgents: async () => [],
    runWorkflow: () =>
      new Promise((resolve) => (finish = (jobsRun) => resolve({ status: 'succeeded', jobsRun }))),
    readiness: [],
  });
  const tick = daemon.events.next('tick');
  const launched = daemon.events.next('launched');
  await daemon.start();
  t.teardown(() => daemon.stop());

  const report = await tick;
  t.equal(report.seq, 1, 'the first tick');
  t.equal(daemon.scaler.report, report, 'the report is the daemon’s last when the event comes');
  const nodes = await launched;
  t.equal(nodes.tick, 1, 'launched by the first tick');
  t.same(
    nodes.nodeIds,
    provisioner.live().map((n) => n.instanceId),
    'the nodes the provisioner has (minNodes 1)',
  );

  const finished = daemon.events.next('workflowFinished');
  const run = daemon.submit({ workflowFile: 'wf.ts', jobStore: 'file:js', args: [] });
  for (let i = 0; i < 5 && !finish; i++) await new Promise((r) => setImmediate(r));
  if (!finish) throw new Error('runWorkflow was not called');
  finish(3);
  t.same(await finished, { id: run.id, status: 'succeeded', jobsRun: 3 }, 'the run and its outcome');
  t.match(
    (daemon.status() as { workflows: { id: string; finishedAt?: string }[] }).workflows,
    [{ id: run.id, finishedAt: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ }],
    'finished in /status when the event comes',
  );
});

t.test('a resumed run keeps the count of jobs found already done (toil run --leader says it)', async (t) => {
  const clock = new ManualClock();
  const config = tickTestConfig({});
  const daemon = new LeaderDaemon({
    clock,
    log: silentLogger(),
    metrics: createLeaderMetrics({ withProcessMetrics: false }),
    config: () => ({ ...config, http: { ...config.http, port: 0 } }),
    provisioner: new RecordingProvisioner(clock),
    tickStore: new MemoryTickStore(),
    newBatchSystem: queueOnlyBatchSystem,
    idleClusterAgents: async () => [],
    runWorkflow: async () => ({ status: 'succeeded', jobsRun: 5, replayed: 18 }),
    readiness: [],
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const finished = daemon.events.next('workflowFinished');
  const run = daemon.submit({ workflowFile: 'wf.ts', jobStore: 'file:js', args: [] });
  await finished;
  t.match(daemon.workflow(run.id), { status: 'succeeded', jobsRun: 5, jobsReplayed: 18 });
});
