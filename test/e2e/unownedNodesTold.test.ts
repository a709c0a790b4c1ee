import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  leaderStatus,
  liveWorkers,
  restartableDaemonOnCloud,
  sleep,
  startHeldAutoscaledRun,
} from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A `toil run … --provisioner aws` killed with -9 leaves its node running; a `toil leader` started
 * later on the same cluster treats it as static (it did not launch it), and, while the heartbeat
 * the run wrote on it is fresh (a beat every 5 min; stale after 17 min), as a live leader's, so it
 * keeps it. It warns once in its log, with the instance's age and $/h, whose it is and the ways to
 * retire it, and its /status lists it under `nodes.unowned` with a standing `kept` decision saying
 * why it is not retired (test/e2e/deadLeaderNodesRetired.test.ts: retired once the beat is stale).
 */
t.setTimeout(180_000);

t.test('a leader started on a cluster with a dead run’s node tells of it once and keeps it', async (t) => {
  const dir = testDir(t, { daemon: {}, work: {} });
  const { cloud, start } = await restartableDaemonOnCloud(t, join(dir, 'daemon'), 'orph');
  const workDir = join(dir, 'work');
  const run = startHeldAutoscaledRun(dir, cloud, 'orph', workDir);
  t.teardown(() => void run.child.kill('SIGKILL'));
  await run.waitFor(/launched nodes/, 60_000);
  // The run marks its node in the launch itself (test/e2e/leaderKilledAtLaunch.test.ts); waited
  // for all the same, so the warning below is about a marked node.
  for (let i = 0; i < 300; i++) {
    if ((await liveWorkers(cloud.ec2Url))[0]?.tags['toil-leader-heartbeat'] !== undefined) break;
    await sleep(100);
  }
  run.child.kill('SIGKILL');
  await run.done;
  const left = await liveWorkers(cloud.ec2Url);
  t.equal(left.length, 1, 'the killed run left its node running');
  t.ok(readdirSync(workDir).some((n) => n.startsWith('toil-autoscale-')));

  const { daemon, base } = await start();
  const warned = await daemon.waitFor(
    /the cluster has 1 worker instance\(s\) this leader did not launch \(\$0\.\d{4}\/h\): (i-\w+) \(t2\.medium on-demand, up \d+ min, \$0\.\d{4}\/h\); not retired: this leader did not launch them/,
    60_000,
  );
  t.equal(warned[1], left[0]!.id, 'the warning names the instance');
  t.match(daemon.output(), new RegExp(`aws ec2 terminate-instances --instance-ids ${left[0]!.id}`));
  t.match(
    daemon.output(),
    new RegExp(`${left[0]!.id}: its leader [0-9a-f-]{36} beat \\d+ s ago, so it lives`),
    'by the heartbeat the run wrote on it, its leader may live',
  );
  type Status = {
    nodes: { unowned: { id: string; ageSeconds: number; dollarsPerHour: number }[] };
    decisions: { kind: string; what: string; reason: string }[];
  };
  // The warning is logged inside the first tick; its decisions reach /status when the tick ends.
  let status = (await leaderStatus(base)) as unknown as Status;
  for (let i = 0; i < 100 && status.decisions.length === 0; i++) {
    await sleep(100);
    status = (await leaderStatus(base)) as unknown as Status;
  }
  t.same(
    status.nodes.unowned.map((n) => n.id),
    [left[0]!.id],
    '/status lists it as unowned',
  );
  t.ok(status.nodes.unowned[0]!.dollarsPerHour > 0, 'with its $/h');
  t.equal(status.decisions[0]?.kind, 'kept', 'the first decision is to keep it');
  t.match(status.decisions[0]?.reason, /scaler\.retireStaticNodes is false/);

  // Several ticks later it still runs (not ours to retire), and the warning was given once.
  await sleep(4000);
  t.same(
    (await liveWorkers(cloud.ec2Url)).map((w) => w.id),
    [left[0]!.id],
    'the leader does not retire it',
  );
  t.equal(daemon.output().match(/this leader did not launch \(/g)?.length, 1, 'told once');
});
