import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { createLeaderMetrics } from '../../src/leader/metrics.js';
import { ProvisionerError } from '../../src/provisioner/errors.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { MemoryTickStore, RecordingProvisioner } from '../fixtures/leaderFakes.js';

/**
 * The daemon with a cloud that refuses every launch for good (no permission): /status shows the
 * error once with its count and the pause, and minutes of ticks make one launch call, not one each.
 */
const catalogue = await readCatalogue();

t.test('a fatal launch error is in /status once, launches pause, the loop does not hot-loop', async (t) => {
  const clock = new ManualClock();
  const provisioner = new RecordingProvisioner(clock);
  provisioner.failing.set(
    '*',
    () =>
      new ProvisionerError('NOT_AUTHORISED', 'EC2 RunInstances failed: UnauthorizedOperation: not allowed'),
  );
  const config = parseLeaderConfigObject(
    {
      http: { port: 0 },
      tick: { fatalBackoff: '10m' },
      scaler: {
        region: 'us-west-2',
        zones: ['us-west-2a'],
        nodeTypes: ['t2.medium'],
        // Something to launch with no workflow at all.
        minNodes: 1,
        scaleInterval: '10s',
      },
    },
    catalogue,
  );
  const daemon = new LeaderDaemon({
    clock,
    log: silentLogger(),
    metrics: createLeaderMetrics({ withProcessMetrics: false }),
    config: () => config,
    provisioner,
    tickStore: new MemoryTickStore(),
    newBatchSystem: () => {
      throw new Error('no workflow is submitted in this test');
    },
    idleClusterAgents: async () => [],
    runWorkflow: async () => ({ status: 'succeeded', jobsRun: 0 }),
    readiness: [],
  });
  const t0 = clock.now();
  const url = await daemon.start();
  t.teardown(() => daemon.stop());
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  await settle();
  // Ten minutes less a tick, at scaleInterval 10 s.
  for (let i = 0; i < 59; i++) {
    await clock.advance(10_000);
    await settle();
  }
  t.equal(provisioner.launchCalls.length, 1, 'one launch call in 10 minutes of ticks');
  const status = (await (await fetch(`${url}/status`)).json()) as {
    fatalErrors: { code: string; scope: string; count: number; message: string }[];
    launchesPausedUntil?: string;
    lastTick: { seq: number };
  };
  t.ok(status.lastTick.seq >= 50, `the loop kept ticking (${status.lastTick.seq} ticks)`);
  t.match(status.fatalErrors, [
    { code: 'NOT_AUTHORISED', scope: 'all', count: 1, message: /UnauthorizedOperation/ },
  ]);
  t.equal(status.fatalErrors.length, 1, 'shown once');
  t.equal(status.launchesPausedUntil, new Date(t0 + 600_000).toISOString(), 'paused for tick.fatalBackoff');

  // After the pause: tried again once, the same error counted, still one entry.
  for (let i = 0; i < 2; i++) {
    await clock.advance(10_000);
    await settle();
  }
  t.equal(provisioner.launchCalls.length, 2, 'tried again once the pause ended');
  const again = (await (await fetch(`${url}/status`)).json()) as typeof status;
  t.match(again.fatalErrors, [{ code: 'NOT_AUTHORISED', count: 2 }]);
  t.equal(again.fatalErrors.length, 1);
});
