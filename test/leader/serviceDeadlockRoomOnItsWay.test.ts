import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { roomOnItsWay } from '../../src/scaler/tick/roomOnItsWay.js';
import { capturedLog } from '../fixtures/leaderFakes.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { InProcessBatchSystem, awaitAdvancing } from '../fixtures/workflowInProcess.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * A service holds the only core while its host's child waits for a second one. On an autoscaled
 * cluster that core may be a node booting for minutes: --deadlockWait (3 s here) counts only the
 * time no room is on its way, as the scaler says it.
 */
const WORKFLOW = repoPath('test/fixtures/workflowServiceRoom.ts');
const DEADLOCK_WAIT_MS = 3_000;

/**
 * `room(asked, bs)` answers the leader's question, asked once a poll (100 ms) while every running
 * job is a service: `asked` counts the questions so far.
 */
async function run(t: Test, room: (asked: number, bs: InProcessBatchSystem) => boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-room-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new JobStore(new FileObjectStore(join(dir, 'js')));
  const bs = new InProcessBatchSystem(store, dir, { cores: 1.5 });
  const clock = new ManualClock();
  const start = clock.now();
  const { destination, lines } = capturedLog();
  // The leader kills the waiting jobs when it declares the deadlock.
  let declaredAtMs: number | undefined;
  let asked = 0;
  let noRoomSinceMs: number | undefined;
  const kill = bs.kill.bind(bs);
  bs.kill = (jobId) => {
    declaredAtMs ??= clock.now() - start;
    return kill(jobId);
  };
  const outcome = runWorkflow({
    store,
    workflowFile: WORKFLOW,
    args: [],
    restart: false,
    clean: 'never',
    retryCount: 0,
    defaults: { cores: 1, memory: 2 ** 26, disk: 2 ** 20, preemptable: false },
    servicePollMs: 100,
    deadlockWaitMs: DEADLOCK_WAIT_MS,
    roomOnItsWay: () => {
      const coming = room(++asked, bs);
      if (!coming) noRoomSinceMs ??= clock.now() - start;
      return coming;
    },
    batchSystem: bs,
    clock,
    log: createLogger({ level: 'info', destination }),
    workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
    workDir: dir,
  });
  // The leader's clock runs 100 ms a step; the service's own checks run on real time meanwhile.
  const out = await awaitAdvancing(clock, outcome, 100);
  return { out, msgs: lines.map((l) => l.msg), declaredAtMs, noRoomSinceMs };
}

t.test(
  'a node booting for the waiting child for longer than --deadlockWait: no deadlock, the run succeeds once it joins',
  async (t) => {
    let joined = false;
    const { out, msgs } = await run(t, (asked, bs) => {
      // The node boots for 10 s (over three times --deadlockWait), then joins with its core.
      if (asked <= 100) return true;
      if (!joined) bs.addCores(1.5);
      joined = true;
      return false;
    });
    t.equal(out.status, 'succeeded', 'not declared deadlocked while the room was on its way');
    if (out.status === 'succeeded') t.equal(out.returnValue, 'used db://big');
    t.ok(
      msgs.some((m) =>
        /all 1 running job\(s\) are services \('bigDb'\) while 1 issued job\(s\) wait; the scaler is adding room for them/.test(
          m,
        ),
      ),
      'the wait for room is said',
    );
    t.notOk(
      msgs.some((m) => /service deadlock/.test(m)),
      'no potential deadlock is warned of while room is coming',
    );
  },
);

t.test(
  'the scaler can add no room (maxNodes): a service deadlock after --deadlockWait, named, counted from then',
  async (t) => {
    // Room is on its way for 5 s (a launch planned), then the scaler says it can add none.
    const { out, declaredAtMs, noRoomSinceMs } = await run(t, (asked) => asked <= 50);
    t.equal(out.status, 'failed');
    if (out.status !== 'failed') return;
    t.match(
      out.failures.map((f) => f.reason).join('\n'),
      /the workflow is service deadlocked: all 1 running job\(s\) have been services \('bigDb'\) for at least 3 s \(--deadlockWait\) while 1 issued job\(s\) waited for the room they hold and the scaler added none \(maxNodes, limits, or no node type fits\); give the batch system more room \(the scaler's maxNodes\) or the services less/,
    );
    t.ok(
      declaredAtMs !== undefined &&
        noRoomSinceMs !== undefined &&
        declaredAtMs - noRoomSinceMs >= DEADLOCK_WAIT_MS,
      `the clock started when the room stopped coming (at ${noRoomSinceMs} ms; declared at ${declaredAtMs} ms)`,
    );
  },
);

t.test('room is on its way while a node boots or the last plan launches one', async (t) => {
  const launch = {
    instanceType: 'm5.large',
    zone: 'z',
    capacityType: 'on-demand' as const,
    count: 1,
    pricePerHour: 0.1,
    reason: 'queued work',
  };
  t.equal(roomOnItsWay([{ state: 'booting' }], { launch: [] }), true, 'a node booting');
  t.equal(roomOnItsWay([{ state: 'registered' }], { launch: [launch] }), true, 'a launch planned');
  t.equal(
    roomOnItsWay([{ state: 'registered' }, { state: 'draining' }], { launch: [] }),
    false,
    'nothing launched nor booting (at maxNodes, nothing fits)',
  );
  t.equal(roomOnItsWay([], undefined), false, 'no tick yet');
});
