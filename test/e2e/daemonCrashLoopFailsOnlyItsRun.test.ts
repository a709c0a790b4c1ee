import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leaderAuth, leaderStatus, restartableDaemonOnCloud } from '../fixtures/leaderE2e.js';
import { waitFor } from '../fixtures/waitFor.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(300_000);

/**
 * A workflow whose `start` kills the leader daemon (SIGKILL to its parent) kills each restarted
 * daemon again, as its start runs again. The crash-loop guard fails it after workflows.maxResumes
 * restarts; the workflow whose job was running beside it, resumed by each of those daemons, was
 * failed with it. It is not charged now, and completes.
 */
t.test(
  'a workflow whose start kills the daemon is failed after maxResumes restarts; the one running beside it completes',
  async (t) => {
    const dir = testDir(t, {});
    const { start } = await restartableDaemonOnCloud(t, dir, 'crashloop', [
      ['shutdown:', 'workflows:\n  maxResumes: 1\nshutdown:'],
    ]);
    const { daemon: first, base: base1 } = await start();
    const submit = async (args: readonly string[], store: string): Promise<string> => {
      const answer = await fetch(`${base1}/workflows`, {
        method: 'POST',
        headers: leaderAuth(`${dir}/state`),
        body: JSON.stringify({
          workflowFile: join(REPO_ROOT, 'test/fixtures/workflowStartKillsLeader.ts'),
          jobStore: `file:${dir}/${store}`,
          args,
        }),
      });
      t.equal(answer.status, 202);
      return ((await answer.json()) as { id: string }).id;
    };
    const release = join(dir, 'release');
    const innocent = await submit(['hold', release], 'innocent-js');
    await waitFor('the held job to run', () => existsSync(`${release}.waiting`), 150_000);
    const guilty = await submit(['kill'], 'guilty-js');
    await first.done;
    t.equal(first.child.signalCode, 'SIGKILL', "the guilty workflow's start killed the daemon");

    // Restarted (as a supervisor would), the daemon resumes both, and the guilty start kills it again.
    const { daemon: second } = await start();
    await second.done;
    t.equal(second.child.signalCode, 'SIGKILL', 'the restarted daemon is killed by it again');

    const { daemon: third, base: base3 } = await start();
    const runs = (await leaderStatus(base3)).workflows as {
      id: string;
      status: string;
      message?: string;
      resumes?: number;
    }[];
    t.match(
      runs.find((r) => r.id === guilty),
      {
        status: 'failed',
        message:
          /was resumed 1 times without a job completing, each time after the leader ended while the workflow's own code \(its module's load, start or finish\) was running \(workflows\.maxResumes 1\)/,
      },
    );
    t.match(
      runs.find((r) => r.id === innocent),
      { status: 'running' },
      'the innocent run is resumed',
    );
    t.equal(runs.find((r) => r.id === innocent)?.resumes, undefined, 'and never charged');
    writeFileSync(release, '');
    let innocentRun: { status: string; jobsRun?: number } | undefined;
    await waitFor(
      'the innocent run to end',
      async () => {
        innocentRun = (await leaderStatus(base3)).workflows.find((r) => r.id === innocent);
        return innocentRun?.status !== 'running';
      },
      150_000,
      250,
    );
    t.match(innocentRun, { status: 'succeeded' }, 'the innocent run completes');
    third.child.kill('SIGTERM');
    t.equal((await third.done).code, 0, 'the last daemon stops cleanly');
  },
);
