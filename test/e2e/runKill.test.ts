import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { parseExecutions, runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';
import { waitFor } from '../fixtures/waitFor.js';
import { processAlive } from '../../src/common/processIdentity.js';
import { testOnMoto } from '../fixtures/motoServer.js';

const TREE = repoPath('test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
// Each case runs in a directory (and on a moto_server) of its own: they run side by side.
t.jobs = 3;

/** The pids of `pid`'s children (its warm workers and their helpers). */
function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .split(/\s+/)
    .filter((p) => p !== '')
    .map(Number);
}

/**
 * workflowTree of `n` leaves, each job sleeping `sleepMs`, started and running its first job, on
 * `file:./js` or on the `aws:` store of the S3 endpoint `env` names.
 */
async function startedTree(
  dir: string,
  n: string,
  sleepMs: string,
  on: { locator: string; env?: Record<string, string> } = { locator: 'file:./js' },
) {
  const log = join(dir, 'exec.log');
  const out = join(dir, 'sum.txt');
  const args = ['run', TREE, on.locator, '--n', n, '--sleepMs', sleepMs, '--log', log, '--out', out];
  const running = startToil(args, { cwd: dir, ...(on.env && { env: on.env }) });
  await waitFor(
    'the first job to start',
    () => existsSync(log) && readFileSync(log, 'utf8').includes('start tree'),
    60_000,
  );
  return { log, out, args, running };
}

/**
 * Toil's `toil kill JOBSTORE`: the leader running the workflow, found through the job store alone,
 * stops within its poll, kills its running jobs and keeps the store; `--restart` finishes the
 * workflow; a job store no leader holds has nothing to kill.
 */
t.test(
  'toil kill stops the running leader through the job store; --restart finishes the workflow',
  async (t) => {
    const dir = scratchDir(t);
    // 3 s a job: the tree's 22 jobs take over 16 s at four at a time, so the kill, seen within
    // the leader's 5-s poll, lands part way even on a loaded machine (at 1.5 s, 16 had ended once).
    const { log, out, args, running } = await startedTree(dir, '8', '3000');
    const kill = await runToil(['kill', 'file:./js', '--wait', '60'], { cwd: dir });
    t.equal(kill.code, 0, kill.stderr);
    t.match(kill.stderr, /^toil: asked the leader of file:.*js \(generation 0\) to stop$/m);
    t.match(
      kill.stderr,
      /^toil: the leader has stopped; the job store file:.*js is kept \(toil run … --restart resumes the workflow\)$/m,
    );
    const killed = await running.done;
    t.equal(killed.code, 1, killed.stderr);
    t.match(
      killed.stderr,
      /^toil: the workflow was stopped by toil kill \(from .+\); its running jobs were killed and the job store .* is kept: resume with --restart$/m,
    );
    t.notMatch(killed.stderr, /internal error|\n\s+at /, 'no stack trace');
    t.ok(existsSync(join(dir, 'js')), 'the job store is kept');
    t.notOk(existsSync(out), 'the workflow did not finish');
    const ranBefore = parseExecutions(readFileSync(log, 'utf8')).filter((e) => e.kind === 'end').length;

    const again = await runToil([...args, '--restart', '--sleepMs', '0'], { cwd: dir });
    t.equal(again.code, 0, again.stderr);
    // kill.json still names generation 0: it does not stop the restart (generation 1).
    t.equal(readFileSync(out, 'utf8'), '28\n', 'the sum of 0..7: the workflow finished after the kill');
    t.ok(ranBefore < 15, `the kill stopped it part way (${ranBefore} of the 22 jobs had run)`);

    const none = await runToil(['kill', 'file:./js'], { cwd: dir });
    t.equal(none.code, 2);
    t.match(
      none.stderr,
      /^toil: job store file:\.\/js does not exist/m,
      'cleaned on success: nothing to kill',
    );
  },
);

// One job and a finish, each saying it has begun (a file in the directory the workflow's argument
// names) and then waiting for the test's go (that file's name and `.go`): the test chooses what a
// `toil kill` lands between, instead of racing the run.
const GATED = `
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob, defineWorkflow } from 'toil-ts';
async function gate(dir: string, step: string): Promise<void> {
  writeFileSync(join(dir, step), '');
  while (!existsSync(join(dir, step + '.go'))) await new Promise((r) => setTimeout(r, 20));
}
const one = defineJob<string, number>('one', { cores: 0.5, memory: '32Mi', disk: '1Mi' }, async (_job, dir) => {
  await gate(dir, 'job');
  return 7;
});
export default defineWorkflow<number>({
  start: (ctx) => ctx.root(one, ctx.args[0]!),
  async finish(ctx, n) {
    await gate(ctx.args[0]!, 'finish');
    writeFileSync(join(ctx.args[0]!, 'out'), String(n));
  },
});
`;

function startGated(dir: string, ...more: string[]) {
  writeFileSync(join(dir, 'gated.ts'), GATED);
  const args = ['run', 'gated.ts', 'file:./js', dir, ...more];
  return { args, running: startToil(args, { cwd: dir }) };
}

t.test(
  'toil kill of a run whose last job ends before the leader looks again: the run stops before its finish (exit 1), as toil kill said it asked; once --restart has finished it, no leader holds the store and toil kill says so',
  async (t) => {
    const dir = scratchDir(t);
    const { args, running } = startGated(dir, '--clean', 'never');
    t.teardown(() => running.child.kill('SIGKILL'));
    await waitFor('the job to start', () => existsSync(join(dir, 'job')), 60_000);
    const kill = await runToil(['kill', 'file:./js'], { cwd: dir });
    t.equal(kill.code, 0, kill.stderr);
    t.match(kill.stderr, /^toil: asked the leader of file:.*js \(generation 0\) to stop$/m);
    // The job ends within moments of the request, before the leader's look every 5 s (almost
    // always: one may fall in those moments, and then the running job is killed).
    writeFileSync(join(dir, 'job.go'), '');
    writeFileSync(join(dir, 'finish.go'), '');
    const stopped = await running.done;
    t.equal(stopped.code, 1, `the run says it was stopped, not that it succeeded: ${stopped.stderr}`);
    t.match(
      stopped.stderr,
      /^toil: the workflow was stopped by toil kill \(from \S+, pid \d+\); (its jobs had all run, but not its finish,|its running jobs were killed) and the job store file:\.\/js is kept: resume with --restart$/m,
    );
    t.notOk(existsSync(join(dir, 'finish')), "the workflow's finish did not run");
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    // Which of the two the stop was decides what the store still needs: the finish, or jobs too.
    t.match(
      status.stdout,
      /its jobs had all run/.test(stopped.stderr)
        ? /^state: +not finished: every job ran, but toil kill \(from \S+, pid \d+, at \S+\) stopped the leader before the workflow's finish completed; no leader holds the store \('toil run WORKFLOW JOBSTORE --restart' runs the finish and completes it\)$/m
        : /^state: +not finished and stopped by toil kill \(from \S+, pid \d+, at \S+\); no leader holds the store \(resume with 'toil run WORKFLOW JOBSTORE --restart'\)$/m,
    );
    const again = await runToil([...args, '--restart'], { cwd: dir });
    t.equal(again.code, 0, again.stderr);
    t.equal(readFileSync(join(dir, 'out'), 'utf8'), '7', '--restart runs the finish');
    // The finished workflow's store is kept (--clean never) and no leader holds it: the case of a
    // store no leader holds, without a workflow run for it alone.
    const none = await runToil(['kill', 'file:./js'], { cwd: dir });
    t.equal(none.code, 2, 'toil kill of a job store no leader holds: exit 2');
    t.match(
      none.stderr,
      /^toil: no leader is running the workflow in job store file:.*js \(nothing to kill\)$/m,
      'toil kill of a job store no leader holds says so',
    );
  },
);

t.test(
  'toil kill --wait of a run already in its finish, released as the request is written: the run succeeds and toil kill says nothing was stopped (or, if the leader saw the request first, finish() abandoned, said as such)',
  async (t) => {
    const dir = scratchDir(t);
    const { running } = startGated(dir, '--clean', 'never');
    t.teardown(() => running.child.kill('SIGKILL'));
    writeFileSync(join(dir, 'job.go'), '');
    await waitFor('the finish to begin', () => existsSync(join(dir, 'finish')), 60_000);
    const kill = startToil(['kill', 'file:./js', '--wait', '30'], { cwd: dir });
    await waitFor('the request', () => existsSync(join(dir, 'js', 'objects', 'kill.json')), 30_000);
    writeFileSync(join(dir, 'finish.go'), '');
    const asked = await kill.done;
    t.equal(asked.code, 0, asked.stderr);
    t.match(asked.stderr, /^toil: asked the leader of file:.*js \(generation 0\) to stop$/m);
    const done = await running.done;
    // The leader looks for the request every 5 s; finish() returns within moments of it being
    // written, so the leader almost always sees it after the finish. In those moments (about 1 %
    // of runs) it sees it first, and a kill during finish() abandons it: said as such.
    if (done.code !== 0) {
      t.comment('the leader saw the request before finish() returned');
      t.match(
        done.stderr,
        /^toil: the workflow was stopped by toil kill \(from \S+, pid \d+\) before its finish\(\) returned, every job having run: finish\(\) was abandoned/m,
      );
      t.equal(done.code, 1, done.stderr);
      t.match(
        asked.stderr,
        /^toil: the leader has stopped in its workflow's finish\(\): every job had run; the job store file:.*js is kept \(toil run … --restart runs finish\(\) again, and no job\)$/m,
      );
      return;
    }
    t.match(
      asked.stderr,
      /^toil: the workflow had already finished when its leader could see the request: nothing was stopped$/m,
    );
    t.notMatch(asked.stderr, /the leader has stopped/);
    t.equal(readFileSync(join(dir, 'out'), 'utf8'), '7');
  },
);

t.test(
  "toil kill --force kills a leader of this machine at once (Toil's SIGKILL); --restart takes over without waiting for its lease",
  async (t) => {
    const dir = scratchDir(t);
    const { out, args, running } = await startedTree(dir, '2', '3000');
    const workers = childPids(running.child.pid!);
    t.ok(workers.length > 0, `the leader runs its workers (${workers.join(', ')})`);
    const kill = await runToil(['kill', 'file:./js', '--force', '--wait', '10'], { cwd: dir });
    t.equal(kill.code, 0, kill.stderr);
    t.match(kill.stderr, /^toil: --force: killed the leader \(pid \d+\) on this machine$/m);
    t.notMatch(kill.stderr, /cancel|torn down/, 'single_machine: nothing to cancel elsewhere');
    const killed = await running.done;
    t.equal(killed.signal, 'SIGKILL', 'the leader was killed, not asked');
    // single_machine's workers are the leader's children: they exit with it, nothing runs on.
    await waitFor('the workers to exit', () => workers.every((pid) => !processAlive(pid)), 10_000);
    const started = Date.now();
    const again = await runToil([...args, '--restart', '--sleepMs', '0'], { cwd: dir });
    t.equal(again.code, 0, again.stderr);
    t.equal(readFileSync(out, 'utf8'), '1\n', 'the sum of 0..1: the workflow finished after the kill');
    t.ok(Date.now() - started < 30_000, "the dead leader's lease (60 s) was taken over at once");
  },
);

t.test(
  'a damaged lease record (leader.json) after a leader died: kill and --restart say it is the lease and what to do; status says it cannot tell; clean removes the store',
  async (t) => {
    const dir = scratchDir(t);
    const { args, running } = await startedTree(dir, '2', '60000');
    running.child.kill('SIGKILL');
    await running.done;
    // Truncated inside the file backend's header, as a full disk or a bad copy leaves it.
    truncateSync(join(dir, 'js', 'objects', 'leader.json'), 50);
    const lease =
      /^toil: job store file:\.\/js is damaged: object leader\.json .*\(it is the store's lease record: which leader holds the store, and the generation a next leader must follow, cannot be read, so no leader may take the store over; a leader still running the workflow rewrites it within 20 s, or stops, unable to renew its lease; if it stays damaged, none runs: restore leader\.json, or run 'toil clean file:\.\/js' and start the workflow again\)$/m;
    const kill = await runToil(['kill', 'file:./js'], { cwd: dir });
    t.equal(kill.code, 2, 'toil kill: exit 2');
    t.match(kill.stderr, lease, 'toil kill: the lease record is damaged, and what to do');
    const restart = await runToil([...args, '--restart'], { cwd: dir });
    t.equal(restart.code, 2, 'toil run --restart: exit 2');
    t.match(restart.stderr, lease, 'toil run --restart: the same');
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(
      status.stdout,
      /^state: {6}not finished; which leader holds the store cannot be told, its lease record leader\.json is damaged/m,
      'toil status: who holds the store cannot be told (not "no leader: resume with --restart")',
    );
    const clean = await runToil(['clean', 'file:./js'], { cwd: dir });
    t.equal(clean.code, 0, `toil clean, the way out it names, works: ${clean.stderr}`);
    t.notOk(existsSync(join(dir, 'js')), 'the store is gone');
  },
);

testOnMoto(
  t,
  'toil kill of a workflow running on an aws: job store (moto_server): the leader stops, --restart finishes it',
  async (t, env) => {
    const dir = scratchDir(t);
    const on = { locator: 'aws:us-west-2:kill-test', env };
    const { out, args, running } = await startedTree(dir, '8', '1500', on);
    const kill = await runToil(['kill', on.locator, '--wait', '60'], { cwd: dir, env: on.env });
    t.equal(kill.code, 0, kill.stderr);
    t.match(kill.stderr, /^toil: asked the leader of aws:us-west-2:kill-test \(generation 0\) to stop$/m);
    t.match(
      kill.stderr,
      /^toil: the leader has stopped; the job store aws:us-west-2:kill-test is kept \(toil run … --restart resumes the workflow\)$/m,
    );
    const killed = await running.done;
    t.equal(killed.code, 1, killed.stderr);
    t.match(
      killed.stderr,
      /^toil: the workflow was stopped by toil kill \(from .+\); its running jobs were killed and the job store aws:us-west-2:kill-test is kept: resume with --restart$/m,
    );
    t.notOk(existsSync(out), 'the workflow did not finish');
    const again = await runToil([...args, '--restart', '--sleepMs', '0'], { cwd: dir, env: on.env });
    t.equal(again.code, 0, again.stderr);
    t.equal(readFileSync(out, 'utf8'), '28\n', 'the sum of 0..7: the workflow finished after the kill');
  },
);
