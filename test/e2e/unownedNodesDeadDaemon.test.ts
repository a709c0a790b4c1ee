import { join } from 'node:path';
import t from 'tap';
import {
  leaderAuth,
  leaderStatus,
  liveWorkers,
  restartableDaemonOnCloud,
  sleep,
  startHeldAutoscaledRun,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A `toil leader` killed with -9 and never restarted leaves its node running. A `toil run …
 * --provisioner aws` of another workflow on the same cluster used to run beside it in silence; it
 * now warns of it (age, $/h, how to retire it), and, not having launched it, never terminates it,
 * not even when it releases its own nodes at the end.
 */
t.setTimeout(180_000);

t.test('a run on a cluster with a dead daemon’s node warns of it and leaves it alone', async (t) => {
  const dir = testDir(t, { daemon: {}, work: {} });
  const daemonDir = join(dir, 'daemon');
  const { cloud, start } = await restartableDaemonOnCloud(t, daemonDir, 'deadd');
  const { daemon, base } = await start();
  const sub = await fetch(`${base}/workflows`, {
    method: 'POST',
    headers: leaderAuth(`${daemonDir}/state`),
    body: JSON.stringify({
      workflowFile: join(REPO_ROOT, 'test/fixtures/workflowSpotHold.ts'),
      jobStore: `file:${daemonDir}/js`,
      args: [],
    }),
  });
  t.equal(sub.status, 202);
  let owned: string[] = [];
  for (let i = 0; i < 300 && owned.length === 0; i++) {
    owned = (await leaderStatus(base)).nodes.owned;
    if (owned.length === 0) await sleep(100);
  }
  t.equal(owned.length, 1, 'the daemon owns a node');
  daemon.child.kill('SIGKILL');
  await daemon.done;

  const run = startHeldAutoscaledRun(dir, cloud, 'deadd', join(dir, 'work'));
  const warned = await run.waitFor(
    /the cluster has 1 worker instance\(s\) this leader did not launch \(\$0\.\d{4}\/h\): (i-\w+) \(t2\.medium \S+, up \d+ min, \$0\.\d{4}\/h\); not retired/,
    60_000,
  );
  t.equal(warned[1], owned[0], "the warning names the dead daemon's node");
  const { code } = await run.done;
  t.equal(code, 0, `the run succeeds (output: ${run.output().slice(-2000)})`);
  t.equal(run.output().match(/this leader did not launch \(/g)?.length, 1, 'told once');
  await sleep(1500);
  t.same(
    (await liveWorkers(cloud.ec2Url)).map((w) => w.id),
    owned,
    "the run released its own node and left the dead daemon's alone",
  );
});
