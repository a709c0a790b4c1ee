import { join } from 'node:path';
import t from 'tap';
import {
  byteSorted,
  leaderStatus,
  liveWorkers,
  nonEmptyLines,
  restartableDaemonOnCloud,
  sleep,
  leaderAuth,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * kill -9 of the daemon mid-run, then a restart with the same config: the local cloud (its own
 * process) outlives the daemon; the new daemon adopts the running instances (none launched twice,
 * none orphaned, counted through the EC2 API), resumes the workflow, and it completes.
 */
// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

t.test(
  'kill -9 mid-run, restart: instances adopted, none duplicated or orphaned, workflow completes',
  async (t) => {
    const dir = testDir(t, {});
    const { cloud, start } = await restartableDaemonOnCloud(t, dir, 'restart', [
      ['idleGrace: 20s', 'idleGrace: 6s'],
    ]);
    const { daemon: first, base: base1 } = await start();
    const sub = await fetch(`${base1}/workflows`, {
      method: 'POST',
      headers: leaderAuth(`${dir}/state`),
      body: JSON.stringify({
        workflowFile: join(REPO_ROOT, 'examples/sort.ts'),
        jobStore: `file:${dir}/js`,
        args: [
          '--numLines',
          '1500',
          '--N',
          '6000',
          '--fileToSort',
          `${dir}/in.txt`,
          '--outputFile',
          `${dir}/out.txt`,
        ],
        defaultPreemptable: true,
      }),
    });
    t.equal(sub.status, 202);
    const { id } = (await sub.json()) as { id: string };
    // Mid-run: a node is up and some jobs have completed.
    let before: string[] = [];
    for (let i = 0; i < 200; i++) {
      const s = await leaderStatus(base1);
      before = s.nodes.owned;
      const wf = s.workflows.find((w) => w.id === id) as { progress?: { completed: number } } | undefined;
      if (before.length > 0 && (wf?.progress?.completed ?? 0) >= 3) break;
      await sleep(100);
    }
    t.ok(before.length > 0, `${before.length} node(s) owned when the daemon is killed`);
    first.child.kill('SIGKILL');
    await first.done;
    const liveAtKill = (await liveWorkers(cloud.ec2Url)).map((w) => w.id).sort();
    t.same(liveAtKill, [...before].sort(), 'the instances the daemon owned are still running after kill -9');

    const { daemon: second, base: base2 } = await start();
    const adoptedLog = await second.waitFor(/"adopted":(\d+),"forgotten":(\d+)/);
    t.equal(Number(adoptedLog[1]), liveAtKill.length, 'every running instance adopted');
    t.equal(Number(adoptedLog[2]), 0, 'nothing forgotten');
    const s0 = await leaderStatus(base2);
    for (const inst of liveAtKill)
      t.ok(s0.nodes.owned.includes(inst), `${inst} owned by the new daemon (not static, not orphaned)`);
    // No launch duplicated: the new daemon's first tick sees the adopted nodes as capacity.
    let peak = 0;
    let s = s0;
    for (let i = 0; i < 300; i++) {
      // Owned before and after the listing: a node launched or terminated while the EC2 API is
      // asked is owned at one of the two reads; an orphan is owned at neither.
      const ownedBefore = (await leaderStatus(base2)).nodes.owned;
      const live = await liveWorkers(cloud.ec2Url);
      s = await leaderStatus(base2);
      peak = Math.max(peak, live.length);
      const orphans = live.filter((w) => !ownedBefore.includes(w.id) && !s.nodes.owned.includes(w.id));
      if (orphans.length > 0) t.fail(`instances no leader owns: ${orphans.map((o) => o.id).join(',')}`);
      if (s.workflows.find((w) => w.id === id)?.status !== 'running' && s.nodes.owned.length === 0) break;
      await sleep(200);
    }
    t.ok(peak <= 4, `never more than maxNodes (4) workers: peak ${peak}`);
    t.equal(s.workflows.find((w) => w.id === id)?.status, 'succeeded', 'the resumed workflow completed');
    t.same(nonEmptyLines(`${dir}/out.txt`), byteSorted(nonEmptyLines(`${dir}/in.txt`)), 'sorted correctly');
    t.same(await liveWorkers(cloud.ec2Url), [], 'back to 0: no instance left');
    second.child.kill('SIGTERM');
    t.equal((await second.done).code, 0);
  },
);
