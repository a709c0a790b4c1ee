import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startEc2Relay } from '../fixtures/ec2Relay.js';
import {
  leaderConfigOnCloud,
  liveWorkers,
  sleep,
  startClusterCloud,
  startToilProcess,
  submitHeldWorkflow,
} from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil leader` (shutdown.releaseNodes: true, the default) stopped by SIGTERM and, while that stop
 * waits for its tick in flight, a second SIGTERM: in-flight calls are cut short, but the nodes it
 * launched are still released before it exits. EC2 sits behind a relay that lists instances slowly
 * from some point, so the stop is still waiting at the second signal.
 */
t.setTimeout(180_000);

t.test('a second signal to a stopping leader still releases its nodes, then exits', async (t) => {
  const dir = testDir(t, {});
  const cloud = await startClusterCloud(t, 'sig2');
  let slow = false;
  const relay = await startEc2Relay(t, cloud.ec2Url, {
    before: async (action) => {
      if (slow && action === 'DescribeInstances') await sleep(4000);
    },
  });
  const config = join(dir, 'leader.yaml');
  writeFileSync(
    config,
    leaderConfigOnCloud(dir, { ec2Url: relay.url, mesosMaster: cloud.mesosMaster }, 'sig2', [
      [/localcloud:\n( {2}.*\n)+/, ''],
    ]),
  );
  const leader = startToilProcess(['leader', '--config', config], { cwd: dir });
  t.teardown(() => void leader.child.kill('SIGKILL'));
  const base = (await leader.waitFor(/status at (http:\/\/[0-9.:]+)\/status/))[1]!;
  t.equal(await submitHeldWorkflow(base, dir), 202);
  await leader.waitFor(/launched nodes/, 60_000);
  t.equal((await liveWorkers(cloud.ec2Url)).length, 1, 'the leader launched a node');

  slow = true;
  await sleep(1500);
  leader.child.kill('SIGTERM');
  await leader.waitFor(/stopping: no more launches/, 30_000);
  leader.child.kill('SIGTERM');
  const { code } = await leader.done;
  t.equal(code, 130, `exit 130 (output: ${leader.output().slice(-3000)})`);
  t.match(
    leader.output(),
    /second signal: aborting in-flight calls; releasing the nodes this leader launched/,
  );
  let live = await liveWorkers(cloud.ec2Url);
  for (let i = 0; i < 50 && live.length > 0; i++) {
    await sleep(100);
    live = await liveWorkers(cloud.ec2Url);
  }
  t.same(live, [], 'every node the leader launched is released');
});
