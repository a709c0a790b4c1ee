import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';
import { waitFor } from '../fixtures/waitFor.js';
import { processAlive } from '../../src/common/processIdentity.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

// One job, then a finish that says it has begun (a file named `finish` in the directory the
// workflow's argument names) and waits for the test's go (`finish.go`): the leader is killed there,
// every job committed and the finish not done, without racing the run.
const GATED = `
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob, defineWorkflow } from 'toil-ts';
const one = defineJob<string, number>('one', { cores: 0.5, memory: '32Mi', disk: '1Mi' }, async () => 7);
export default defineWorkflow<number>({
  start: (ctx) => ctx.root(one, ctx.args[0]!),
  async finish(ctx, n) {
    writeFileSync(join(ctx.args[0]!, 'finish'), '');
    while (!existsSync(join(ctx.args[0]!, 'finish.go'))) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(ctx.args[0]!, 'out'), String(n));
  },
});
`;

/** The pids of `pid`'s children and theirs (a workflow host the leader started). */
function descendants(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .split(/\s+/)
    .filter((p) => p !== '')
    .map(Number);
  return children.flatMap((c) => [c, ...descendants(c)]);
}

t.test(
  'a leader killed with -9 after every job ran but before its finish: status says not finished and that --restart completes it; --restart does',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'gated.ts'), GATED);
    const args = ['run', 'gated.ts', 'file:./js', dir, '--clean', 'never'];
    const running = startToil(args, { cwd: dir });
    t.teardown(() => running.child.kill('SIGKILL'));
    await waitFor("the workflow's finish to begin", () => existsSync(join(dir, 'finish')), 120_000);
    // The leader and whatever it started die at once, as with the machine lost: nothing of theirs
    // may record anything after.
    const pids = [running.child.pid!, ...descendants(running.child.pid!)];
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const killed = await running.done;
    t.equal(killed.signal, 'SIGKILL');
    await waitFor('the killed processes to be gone', () => pids.every((p) => !processAlive(p)), 30_000);
    writeFileSync(join(dir, 'finish.go'), '');
    t.notOk(existsSync(join(dir, 'out')), "the workflow's finish did not complete");

    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(status.code, 0, status.stderr);
    t.match(status.stdout, /^jobs: +1 completed of 1 declared so far, 0 ready to run$/m);
    t.match(
      status.stdout,
      /^state: +not finished: every job ran, but the workflow's finish did not complete and no leader holds the store \('toil run WORKFLOW JOBSTORE --restart' runs the finish and completes it\)$/m,
    );
    t.notMatch(status.stdout, /^state: +finished$/m);
    const failIf = await runToil(['status', 'file:./js', '--failIfNotComplete'], { cwd: dir });
    t.equal(failIf.code, 1, '--failIfNotComplete: the workflow is not complete');
    const json = await runToil(['status', 'file:./js', '--json'], { cwd: dir });
    const doc = JSON.parse(json.stdout) as { finished: boolean; finishPending?: boolean };
    t.equal(doc.finished, false);
    t.equal(doc.finishPending, true);

    const again = await runToil([...args, '--restart'], { cwd: dir });
    t.equal(again.code, 0, again.stderr);
    t.equal(readFileSync(join(dir, 'out'), 'utf8'), '7', '--restart runs the finish');
    const after = await runToil(['status', 'file:./js', '--failIfNotComplete', '--json'], { cwd: dir });
    t.equal(after.code, 0, after.stderr);
    const done = JSON.parse(after.stdout) as { finished: boolean; finishPending?: boolean };
    t.equal(done.finished, true);
    t.equal(done.finishPending, undefined);
  },
);
