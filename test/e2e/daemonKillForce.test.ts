import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { leaderStatus, sleep, startEmbeddedLeader, startToilProcess } from '../fixtures/leaderE2e.js';
import { waitFor } from '../fixtures/waitFor.js';
import { longJobArgs, runToil, workerPids } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * `toil kill --force JOBSTORE` on a workflow a leader daemon runs: the lease names the daemon, and
 * the daemon runs other workflows and the cluster's scaler, so --force must not SIGKILL it (which
 * would leave every node billing with nothing to scale it in). The daemon stops that one workflow
 * and kills its job; the other workflow runs on.
 */
t.test(
  'toil kill --force of a workflow on a leader daemon stops that workflow and spares the daemon and its other workflow',
  async (t) => {
    const dir = testDir(t, {});
    const { leader, base, env } = await startEmbeddedLeader(t, dir);

    // Two workflows of one ten-minute job each, in job stores of their own.
    const clients = ['a', 'b'].map((name) => {
      const wdir = join(dir, name);
      mkdirSync(wdir);
      const client = startToilProcess([...longJobArgs(wdir, '--leader', base)], { cwd: wdir, env });
      t.teardown(() => void client.child.kill('SIGKILL'));
      return { name, wdir, storeDir: join(wdir, 'js'), client };
    });
    for (const c of clients)
      await waitFor(
        `workflow ${c.name}'s job to start on a node`,
        () =>
          existsSync(join(c.wdir, 'exec.log')) &&
          readFileSync(join(c.wdir, 'exec.log'), 'utf8').includes('start tree'),
        150_000,
      );
    const [a, b] = clients as [(typeof clients)[0], (typeof clients)[0]];
    const aWorkers = workerPids(a.storeDir);
    const bWorkers = workerPids(b.storeDir);
    t.equal(aWorkers.length, 1, `one worker runs workflow a's job (${aWorkers.join(', ')})`);
    t.equal(bWorkers.length, 1, `one worker runs workflow b's job (${bWorkers.join(', ')})`);

    const kill = await runToil(['kill', '--force', '--wait', '60', `file:${a.storeDir}`], { cwd: a.wdir });
    t.equal(kill.code, 0, `toil kill --force exits 0 once the workflow stopped (${kill.stderr.trim()})`);
    t.match(
      kill.stderr,
      /--force: the workflow runs on the leader daemon on \S+ \(pid \d+, workflow [0-9a-f-]+\) with other workflows, so the daemon is not killed/,
      'it says the daemon is spared, and why',
    );
    t.notMatch(kill.stderr, /killed the leader/, 'no SIGKILL was sent');
    t.match(
      kill.stderr,
      /^toil: the leader has stopped; the job store file:\S+ is kept \(submit the workflow to the leader again to resume it\)$/m,
      'the workflow stopped within the wait, and resuming it is submitting it again',
    );

    t.ok(processAlive(leader.child.pid!), 'the daemon process still runs');
    t.equal((await fetch(`${base}/healthz`)).status, 200, 'the daemon still answers /healthz');
    await waitFor(
      "workflow a's worker to be killed",
      () => aWorkers.every((pid) => !processAlive(pid)),
      30_000,
    );
    const aResult = await a.client.done;
    t.not(aResult.code, 0, 'toil run --leader of the killed workflow exits non-zero');
    t.match(
      aResult.stderr,
      /^toil: the workflow was stopped by toil kill/m,
      'its client says the workflow was killed',
    );
    t.notMatch(aResult.stderr, /workflow failed/, 'not that it failed');
    // The daemon resumes a store submitted again; --restart is a run of its own's word for it.
    t.match(aResult.stderr, /is kept: submit it again to restart it\n/, 'it says what resumes it');
    t.equal(aResult.stderr.split('\n').filter((l) => /restart it|is kept/.test(l)).length, 1, 'once');
    t.notMatch(
      aResult.stderr,
      /--restart/,
      'no word of --restart: on a daemon, submitting again is what resumes it',
    );

    const status = await leaderStatus(base);
    const running = status.workflows.filter((w) => w.status === 'running');
    t.equal(running.length, 1, 'the other workflow still runs on the daemon');
    t.ok(
      bWorkers.every((pid) => processAlive(pid)),
      "the other workflow's job still runs",
    );

    // Clean up the other workflow through the daemon, then the daemon itself.
    const id = running[0]?.id ?? '';
    const cancel = await runToil(['cancel', id, '--leader', base], { cwd: dir, env });
    t.equal(cancel.code, 0, `the other workflow is cancelled through the daemon (${cancel.stderr.trim()})`);
    await waitFor(
      "workflow b's worker to be killed",
      () => bWorkers.every((pid) => !processAlive(pid)),
      30_000,
    );
    leader.child.kill('SIGTERM');
    await leader.done;
    await sleep(0);
  },
);
