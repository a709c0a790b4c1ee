import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startEc2Relay } from '../fixtures/ec2Relay.js';
import {
  FAST_BEAT,
  leaderConfigOnCloud,
  liveWorkers,
  sleep,
  startClusterCloud,
  startOtherLeader,
  startToilProcess,
  submitHeldWorkflow,
  type RunningProcess,
} from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A `toil leader` killed with -9 the moment EC2 has launched its first worker, before the answer
 * reaches it (so before any tick could write its heartbeat afterwards): the instance carries the
 * leader's mark from its launch, and another leader of the cluster retires it once that mark is
 * stale. Both leaders beat every second (stale after 3 missed beats plus 1 s of clock skew). The
 * first leader talks to EC2 through a relay that kills it once EC2 has answered its RunInstances.
 */
t.setTimeout(180_000);

t.test(
  'a leader killed right after EC2 launched its node leaves it marked, and another leader retires it',
  async (t) => {
    const dir = testDir(t, { a: {}, b: {} });
    const cloud = await startClusterCloud(t, 'atlaunch');
    const first: { leader?: RunningProcess } = {};
    let launches = 0;
    const trap = await startEc2Relay(t, cloud.ec2Url, {
      after: (action) => {
        if (action !== 'RunInstances') return 'pass';
        launches++;
        first.leader?.child.kill('SIGKILL');
        return 'drop';
      },
    });

    const aDir = join(dir, 'a');
    const aConfig = join(aDir, 'leader.yaml');
    writeFileSync(
      aConfig,
      leaderConfigOnCloud(aDir, { ec2Url: trap.url, mesosMaster: cloud.mesosMaster }, 'atlaunch', [
        [/localcloud:\n( {2}.*\n)+/, ''],
        ...FAST_BEAT,
      ]),
    );
    const a = startToilProcess(['leader', '--config', aConfig], { cwd: aDir });
    first.leader = a;
    t.teardown(() => void a.child.kill('SIGKILL'));
    const aBase = (await a.waitFor(/status at (http:\/\/[0-9.:]+)\/status/))[1]!;
    t.equal(await submitHeldWorkflow(aBase, aDir), 202);
    const result = await a.done;
    t.equal(result.signal, 'SIGKILL', 'the first leader was killed at its launch');
    t.equal(launches, 1, 'by its first RunInstances');

    const left = await liveWorkers(cloud.ec2Url);
    t.equal(left.length, 1, 'EC2 launched the node the killed leader asked for');
    t.match(
      left[0]?.tags,
      { 'toil-leader': /^[0-9a-f-]{36}$/, 'toil-leader-heartbeat': /^\S+Z every 1s$/ },
      'the node carries its leader’s mark from its launch',
    );

    const { leader: b } = await startOtherLeader(t, join(dir, 'b'), cloud, 'atlaunch');
    const retired = await b.waitFor(
      /retiring worker instance (i-\w+) \(t2\.medium \S+, \$0\.\d{4}\/h, up \d+ min\) of a leader that is gone: its leader (\S+) stopped beating/,
      30_000,
    );
    t.equal(retired[1], left[0]?.id, 'the killed leader’s node is retired');
    t.equal(retired[2], left[0]?.tags['toil-leader'], 'named by its leader');
    let still = left.length;
    for (let i = 0; i < 100 && still > 0; i++) {
      still = (await liveWorkers(cloud.ec2Url)).length;
      if (still > 0) await sleep(100);
    }
    t.equal(still, 0, 'nothing left running');
  },
);
