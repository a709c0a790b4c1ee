import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startEmbeddedLeader, startToilProcess } from '../fixtures/leaderE2e.js';
import { waitFor } from '../fixtures/waitFor.js';
import { longJobArgs, runToil, type ToilResult } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
// The two cases each start their own leader daemon in their own directory, and mostly wait: on
// the daemon's start, the job's, and the daemon's next look for the kill request (every 5 s).
t.jobs = 2;

/**
 * `toil kill JOBSTORE` of a workflow a leader daemon runs: the client following it (`toil run …
 * --leader URL`) says once what became of it and what resumes it. The daemon's message says the
 * job store is kept and that submitting it again restarts it; the client used to add a line of
 * its own saying the same thing again, and to call the stopped workflow failed. `toil status`
 * then says the same, where it used to advise --restart.
 */
t.test(
  'after toil kill of a workflow on a leader daemon, its client says once what resumes it',
  async (t) => {
    const dir = testDir(t, {});
    const { kill, r } = await killedOnDaemon(t, dir);
    t.equal(kill.code, 0, `toil kill exits 0 once the workflow stopped (${kill.stderr.trim()})`);
    t.equal(r.code, 1, 'toil run --leader of the killed workflow exits 1');
    t.match(
      r.stderr,
      /^toil: the workflow was stopped by toil kill \(from .+\); its running jobs were killed and the job store \S+ is kept: submit it again to restart it$/m,
      'it says the workflow was killed, the job store kept, and what resumes it',
    );
    t.notMatch(r.stderr, /workflow failed/, 'stopped on purpose: not said to have failed');
    t.equal(
      r.stderr.split('\n').filter((l) => /restart it|is kept/.test(l)).length,
      1,
      `one line says what resumes it:\n${r.stderr}`,
    );
    // The daemon has released the store: toil status says what stopped it and what resumes it,
    // submitting it to the daemon again (its --restart advice is a run of its own's).
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(status.code, 0, status.stderr);
    t.match(
      status.stdout,
      /^state: +not finished and stopped by toil kill \(from \S+, pid \d+, at \S+\) while a leader daemon ran it; the job store is kept: submit the workflow to the leader again to resume it \('toil run WORKFLOW JOBSTORE --leader URL'\)$/m,
      'toil status says the workflow was killed on a leader daemon, and that submitting it again resumes it',
    );
    t.notMatch(status.stdout, /--restart/, 'no word of --restart');
  },
);

/**
 * Toil's --clean always (or onError) deletes the job store of a run that ends in error, and a
 * run stopped by `toil kill` does there: the daemon kept it, and said so, whatever the submission's
 * --clean asked.
 */
t.test(
  'after toil kill of a workflow submitted with --clean always, the daemon deletes its job store',
  async (t) => {
    const dir = testDir(t, {});
    const { kill, r } = await killedOnDaemon(t, dir, '--clean', 'always');
    t.equal(kill.code, 0, kill.stderr);
    t.equal(r.code, 1, 'toil run --leader of the killed workflow exits 1');
    t.match(
      r.stderr,
      /^toil: the workflow was stopped by toil kill \(from .+\); its running jobs were killed and the job store \S+ was deleted \(--clean always\)$/m,
    );
    t.notMatch(r.stderr, /is kept|restart it/, `no word of keeping it:\n${r.stderr}`);
    t.notOk(existsSync(join(dir, 'js')), 'the job store is gone');
  },
);

/** A long workflow submitted to a leader daemon, `toil kill --wait` once its job runs: the kill's result and the client's. */
async function killedOnDaemon(
  t: Test,
  dir: string,
  ...extra: string[]
): Promise<{ kill: ToilResult; r: ToilResult }> {
  const { base, env } = await startEmbeddedLeader(t, dir);
  const client = startToilProcess(longJobArgs(dir, '--leader', base, ...extra), { cwd: dir, env });
  t.teardown(() => void client.child.kill('SIGKILL'));
  await waitFor(
    "the workflow's job to start on a node",
    () =>
      existsSync(join(dir, 'exec.log')) && readFileSync(join(dir, 'exec.log'), 'utf8').includes('start tree'),
    150_000,
  );
  const kill = await runToil(['kill', '--wait', '60', 'file:./js'], { cwd: dir });
  return { kill, r: await client.done };
}
