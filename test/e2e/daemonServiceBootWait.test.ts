import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  embeddedLeaderConfig,
  leaderStatus,
  liveWorkers,
  sleep,
  startToilProcess,
} from '../fixtures/leaderE2e.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A service deadlock on an autoscaled cluster (the daemon on the embedded local cloud, Mesos
 * agents): the service holds the only node (t2.medium, 2 cores; it takes 1.5) and its host's child
 * needs a second node, which boots for 8 s, longer than --deadlockWait (3 s). The boot is no
 * deadlock; maxNodes 1, which leaves no room to add, would be one: it is refused before the service
 * starts.
 */
const WORKFLOW = repoPath('test/fixtures/workflowServiceRoom.ts');

t.setTimeout(240_000);
// Each case has a leader and local cloud of its own: they run side by side, each mostly waiting
// on its nodes' 8 s boot.
t.jobs = 3;

async function runOnLeader(t: Test, maxNodes: number, extra: readonly string[] = []) {
  const dir = testDir(t, {});
  const cfgPath = join(dir, 'leader.yaml');
  writeFileSync(
    cfgPath,
    embeddedLeaderConfig(dir, [
      ['maxNodes: 4', `maxNodes: ${maxNodes}`],
      ['idleGrace: 20s', 'idleGrace: 2s'],
    ]).replace('bootDelay: 300ms', 'bootDelay: 8s'),
  );
  const leader = startToilProcess(['leader', '--config', cfgPath], { cwd: dir });
  t.teardown(() => void leader.child.kill('SIGKILL'));
  const [, base = '', ec2Url = ''] = await leader.waitFor(
    /status at (http:\/\/[0-9.:]+)\/status.*EC2 (http:\/\/[0-9.:]+)/,
    60_000,
  );
  // The most nodes the scaler held at once while the run lasted, as /status shows them.
  let peakNodes = 0;
  let running = true;
  const watch = (async () => {
    while (running) {
      const s = await leaderStatus(base).catch(() => undefined);
      peakNodes = Math.max(peakNodes, s?.nodes.owned.length ?? 0);
      await sleep(250);
    }
  })();
  const result = await runToil(
    [
      'run',
      WORKFLOW,
      `file:${dir}/js`,
      '--deadlockWait',
      '3',
      '--servicePollingInterval',
      '0.5',
      ...extra,
      '--leader',
      base,
    ],
    { cwd: dir, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } },
  );
  running = false;
  await watch;
  return { result, log: leader.output(), peakNodes, ec2Url, cfgPath };
}

t.test('a second node booting longer than --deadlockWait: no deadlock, the run succeeds', async (t) => {
  const { result, log, peakNodes, ec2Url } = await runOnLeader(t, 2);
  t.equal(result.code, 0, `the run succeeds\n${result.stderr}`);
  t.match(result.stderr, /workflow succeeded on the leader/);
  t.match(
    log,
    /all 1 running job\(s\) are services \('bigDb'\) while 1 issued job\(s\) wait; the scaler is adding room for them/,
    'the leader says it waits for the node',
  );
  t.notMatch(log, /service deadlocked/);
  t.equal(peakNodes, 2, 'the scaler launched a second node for the child while the service held the first');
  // The service ran as a Mesos task on a node the scaler launched (minNodes 0: there is no other),
  // and every node is released once the workflow ends (idleGrace 2 s).
  let left = await liveWorkers(ec2Url);
  for (let i = 0; i < 120 && left.length > 0; i++) {
    await sleep(250);
    left = await liveWorkers(ec2Url);
  }
  t.same(left, [], 'no worker left pending or running after the run');
});

t.test(
  'maxNodes 1 forbids the second node: refused once the host has run, before its service starts, naming the limit',
  async (t) => {
    const { result, peakNodes, cfgPath } = await runOnLeader(t, 1);
    t.not(result.code, 0, 'the run fails');
    // It used to start the service and fail after --deadlockWait ("the scaler added none").
    // The limits are named as the daemon's operator changes them, in its config file: the
    // submitter's --maxNodes does nothing on a daemon.
    t.match(
      result.stderr,
      /toil: workflow failed on the leader: job 'host' adds services 'bigDb' \(1\.5 cores, [^)]*\) that run all at once, with room for its job 'wide' \(1\.5 cores, [^)]*\) beside them, but the nodes this run may launch cannot hold them together under scaler\.maxNodes 1 \(t2\.medium\), 1 \(t2\.medium:spot\), scaler\.maxPreemptableNodes 4: they need 2 node\(s\) at once/,
    );
    t.match(result.stderr, `raise the limit in ${cfgPath} (or allow a bigger scaler.nodeTypes)`);
    t.notMatch(result.stderr, /--maxNodes|--nodeTypes|--maxPreemptableNodes/);
    t.notMatch(result.stderr, /service deadlocked/);
    t.ok(peakNodes <= 1, `no node for the service (peak ${peakNodes}: the host's only)`);
  },
);

t.test(
  '--maxServiceJobs travels with the submission: 0 holds the service back on the leader, which fails the run naming the flag',
  async (t) => {
    const { result, peakNodes } = await runOnLeader(t, 2, ['--maxServiceJobs', '0']);
    t.not(result.code, 0, 'the run fails');
    t.match(
      result.stderr,
      /toil: job 'bigDb' \([0-9a-f-]+\) never ran:\n.*--maxServiceJobs is 0, so service 'bigDb' can never start/,
    );
    t.ok(peakNodes <= 1, `no node for the service (peak ${peakNodes}: the host's only)`);
  },
);
