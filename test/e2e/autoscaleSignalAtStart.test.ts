import { join } from 'node:path';
import t from 'tap';
import { startEc2Relay } from '../fixtures/ec2Relay.js';
import { liveWorkers, sleep, startClusterCloud, startHeldAutoscaledRun } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil run … --provisioner aws --restart` re-sends, as its leader starts, the launch a killed run
 * never heard back from, and adopts the instance it made. A Ctrl-C in that window used to meet no
 * handler yet (Node's default ended the process at once) and left the instance running, billing:
 * the run now stops once its leader has started and releases what it adopted, exit 130.
 */
t.setTimeout(180_000);

t.test('Ctrl-C while a restarted run re-sends its unanswered launch releases what it adopts', async (t) => {
  const dir = testDir(t, { work: {} });
  const cloud = await startClusterCloud(t, 'sigstart');
  let killFirst = (): void => {};
  // The first run dies the moment EC2 has launched its node, before it hears back: its launch is
  // left unanswered in its state.
  const trap = await startEc2Relay(t, cloud.ec2Url, {
    after: (action) => {
      if (action !== 'RunInstances') return 'pass';
      killFirst();
      return 'drop';
    },
  });
  const first = startHeldAutoscaledRun(dir, { ...cloud, ec2Url: trap.url }, 'sigstart', join(dir, 'work'));
  killFirst = () => void first.child.kill('SIGKILL');
  t.teardown(() => void first.child.kill('SIGKILL'));
  t.equal((await first.done).signal, 'SIGKILL', 'the first run was killed at its launch');
  t.equal((await liveWorkers(cloud.ec2Url)).length, 1, 'its node runs');

  // The restarted run's re-send is held a while in the relay: the Ctrl-C comes then.
  let resent: () => void = () => {};
  const resending = new Promise<void>((r) => (resent = r));
  const slow = await startEc2Relay(t, cloud.ec2Url, {
    before: async (action) => {
      if (action !== 'RunInstances') return;
      resent();
      await sleep(3000);
    },
  });
  const restarted = startHeldAutoscaledRun(
    dir,
    { ...cloud, ec2Url: slow.url },
    'sigstart',
    join(dir, 'work'),
    ['--restart'],
  );
  t.teardown(() => void restarted.child.kill('SIGKILL'));
  await resending;
  restarted.child.kill('SIGINT');
  const r = await restarted.done;
  t.equal(r.code, 130, `exit 130 (output: ${restarted.output().slice(-3000)})`);
  t.match(restarted.output(), /toil: SIGINT: stopping once the leader has started/);
  t.match(restarted.output(), /toil: releasing every node this run launched/);
  let live = await liveWorkers(cloud.ec2Url);
  for (let i = 0; i < 50 && live.length > 0; i++) {
    await sleep(100);
    live = await liveWorkers(cloud.ec2Url);
  }
  t.same(live, [], 'the instance the re-sent launch adopted is released');
});
