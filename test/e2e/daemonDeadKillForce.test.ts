import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { leaderStatus, restartableDaemonOnCloud, startToilProcess } from '../fixtures/leaderE2e.js';
import { waitFor } from '../fixtures/waitFor.js';
import { longJobArgs, runToil, workerPids } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(300_000);

/**
 * A leader daemon killed with -9 stops nothing: its workflow's Mesos task runs on under a
 * framework with a week's failover timeout. `toil kill --force` of that workflow's job store finds
 * the framework in the store and tears it down (its job is killed), and the daemon, restarted,
 * does not resume a workflow the user stopped while it was down.
 */
t.test(
  'toil kill --force after the leader daemon died: its workflow framework is torn down and the restarted daemon does not resume it',
  async (t) => {
    const dir = testDir(t, {});
    const { start } = await restartableDaemonOnCloud(t, dir, 'deadkill');
    const { daemon: first, base: base1 } = await start();
    const wdir = join(dir, 'wf');
    mkdirSync(wdir);
    const client = startToilProcess([...longJobArgs(wdir, '--leader', base1)], {
      cwd: wdir,
      env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` },
    });
    t.teardown(() => void client.child.kill('SIGKILL'));
    await waitFor(
      "the workflow's ten-minute job to start on a node",
      () =>
        existsSync(join(wdir, 'exec.log')) &&
        readFileSync(join(wdir, 'exec.log'), 'utf8').includes('start tree'),
      150_000,
    );
    const store = join(wdir, 'js');
    const workers = workerPids(store);
    t.equal(workers.length, 1, `one worker runs the job (${workers.join(', ')})`);

    first.child.kill('SIGKILL');
    await first.done;
    client.child.kill('SIGKILL');
    t.ok(
      workers.every((pid) => processAlive(pid)),
      "the daemon's death leaves its job running",
    );

    const kill = await runToil(['kill', '--force', `file:${store}`], { cwd: wdir });
    t.equal(kill.code, 0, `toil kill --force exits 0 (${kill.stderr.trim()})`);
    t.match(
      kill.stderr,
      /--force: the leader daemon that ran this workflow \(pid \d+\) is not running; the workflow's jobs are cancelled here/,
      'it says the daemon is dead and that it cancels here',
    );
    t.match(
      kill.stderr,
      /--force: cancelled 1 running task\(s\) of framework \S+ on the Mesos master at /,
      "the workflow's framework, found in its job store, is torn down",
    );
    await waitFor(
      "the dead daemon's job to be killed",
      () => workers.every((pid) => !processAlive(pid)),
      30_000,
    );

    const { daemon: second, base: base2 } = await start();
    const s = await leaderStatus(base2);
    t.equal(s.workflows.length, 1, 'the daemon remembers the workflow');
    t.equal(s.workflows[0]?.status, 'failed', 'and does not resume it');
    t.match(s.workflows[0]?.message, /was stopped by toil kill while the leader was down/);
    second.child.kill('SIGTERM');
    t.equal((await second.done).code, 0, 'the restarted daemon stops cleanly');
  },
);
