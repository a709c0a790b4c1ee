import { join } from 'node:path';
import t from 'tap';
import {
  FAST_BEAT,
  leaderAuth,
  leaderStatus,
  liveWorkers,
  restartableDaemonOnCloud,
  sleep,
  startOtherLeader,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * Two `toil leader` daemons on one cluster, beating every second (a beat is stale after 3 missed
 * beats plus 1 s of clock skew). While the first lives, the second keeps its node and names it as
 * a live leader's; once the first is killed with -9, the second retires its node, says so in its
 * log and lists the decision in /status.
 */
t.setTimeout(180_000);

interface Status {
  leaderId: string;
  nodes: { owned: string[]; unowned: { id: string; leader?: string; lastBeatAt?: string }[] };
  decisions: { kind: string; what: string; reason: string }[];
}

t.test(
  "a live leader's node is kept by another leader, and retired by it once that leader is killed",
  async (t) => {
    const dir = testDir(t, { a: {}, b: {} });
    const { cloud, start } = await restartableDaemonOnCloud(t, join(dir, 'a'), 'twol', FAST_BEAT);
    const a = await start();
    const sub = await fetch(`${a.base}/workflows`, {
      method: 'POST',
      headers: leaderAuth(join(dir, 'a', 'state')),
      body: JSON.stringify({
        workflowFile: join(REPO_ROOT, 'test/fixtures/workflowSpotHold.ts'),
        jobStore: `file:${join(dir, 'a', 'js')}`,
        args: [],
      }),
    });
    t.equal(sub.status, 202);
    let owned: string[] = [];
    for (let i = 0; i < 300 && owned.length === 0; i++) {
      owned = (await leaderStatus(a.base)).nodes.owned;
      if (owned.length === 0) await sleep(100);
    }
    t.equal(owned.length, 1, 'the first leader owns a node');
    const aId = ((await leaderStatus(a.base)) as unknown as Status).leaderId;
    t.match(aId, /^[0-9a-f-]{36}$/, 'the first leader has an id');

    const { leader: b, base: bBase } = await startOtherLeader(t, join(dir, 'b'), cloud, 'twol');
    await b.waitFor(new RegExp(`${owned[0]}: its leader ${aId} beat \\d+ s ago, so it lives`), 30_000);

    // Both live for several times the staleness (3 s + 1 s): the second leader keeps the node.
    await sleep(8000);
    t.same(
      (await liveWorkers(cloud.ec2Url)).map((w) => w.id),
      owned,
      "the second leader kept the live leader's node",
    );
    const kept = (await leaderStatus(bBase)) as unknown as Status;
    t.match(kept.nodes.unowned, [{ id: owned[0], leader: aId }], '/status names it and its leader');
    t.notMatch(b.output(), /retiring worker instance/, 'nothing retired');

    a.daemon.child.kill('SIGKILL');
    await a.daemon.done;
    const retired = await b.waitFor(
      /retiring worker instance (i-\w+) \(t2\.medium \S+, \$0\.\d{4}\/h, up \d+ min\) of a leader that is gone: its leader (\S+) stopped beating/,
      30_000,
    );
    t.equal(retired[1], owned[0], "the dead leader's node");
    t.equal(retired[2], aId, 'named by its leader');
    let left = owned.length;
    for (let i = 0; i < 100 && left > 0; i++) {
      left = (await liveWorkers(cloud.ec2Url)).length;
      if (left > 0) await sleep(100);
    }
    t.equal(left, 0, 'terminated');
    const status = (await leaderStatus(bBase)) as unknown as Status;
    t.match(
      status.decisions.find((d) => d.kind === 'retired'),
      { what: new RegExp(`^${owned[0]} `), reason: /stopped beating/ },
      '/status lists the decision',
    );
    t.same(status.nodes.unowned, [], 'nothing left unowned');
  },
);
