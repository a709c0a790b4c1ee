import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { fileStoreSnapshot } from '../fixtures/storeSnapshot.js';
import { messageLines, runToil, scratchDir } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * A workflow whose `step` job computes `BODY` from its input; `root` passes it 4 and counts its
 * runs in ran.log, and finish writes step's result to out.txt.
 */
function workflowSource(body: string, stepName = 'step'): string {
  return `import { appendFileSync, writeFileSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const SMALL = { cores: 0.5, memory: '32Mi', disk: '1Mi' };
const step = defineJob<number, number>('${stepName}', SMALL, (_job, n) => { ${body} });
const root = defineJob<number, number>('root', SMALL, (job, n) => {
  appendFileSync('ran.log', 'root\\n');
  return job.addChild(step, n).rv();
});
export default defineWorkflow<number>({
  start: (ctx) => ctx.root(root, 4),
  finish: (_ctx, result) => writeFileSync('out.txt', String(result)),
});
`;
}

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/** A scratch dir whose workflow file wf.ts has a bug in `step`, run once: it failed, the store kept. */
async function failedRun(t: Test): Promise<{ dir: string; wf: string }> {
  const dir = scratchDir(t);
  const wf = join(dir, 'wf.ts');
  writeFileSync(wf, workflowSource("throw new Error('step has a bug');"));
  const first = await runToil(['run', wf, 'file:./js', '--retryCount', '0'], { cwd: dir });
  t.equal(first.code, 1, 'the buggy workflow fails');
  t.match(first.stderr, /step has a bug/);
  return { dir, wf };
}

/**
 * A --restart refused with WORKFLOW_CHANGED, run in `dir` once the workflow file was changed: it
 * writes nothing (the lease record included), so every file of the store is as it was and toil
 * status still says what the last run did. Returns its one line.
 */
async function refusedLeavingStoreAsItWas(t: Test, dir: string, wf: string): Promise<string | undefined> {
  const statusBefore = await runToil(['status', 'file:./js'], { cwd: dir });
  t.match(statusBefore.stdout, /^state: +failed: 1 job\(s\) failed for good/m, 'the failed run says failed');
  const before = fileStoreSnapshot(join(dir, 'js'));
  const r = await runToil(['run', wf, 'file:./js', '--restart'], { cwd: dir });
  t.equal(r.code, 2, r.stderr);
  t.same(fileStoreSnapshot(join(dir, 'js')), before, 'every file of the store is byte-identical');
  const status = await runToil(['status', 'file:./js'], { cwd: dir });
  t.equal(status.stdout, statusBefore.stdout, 'toil status says what it said before: failed, not stopped');
  const lines = messageLines(r.stderr);
  t.equal(lines.length, 1, `in one line: ${r.stderr}`);
  return lines[0];
}

t.test(
  'fix the bug, then --restart (as Toil tells): the fixed workflow file runs, what already ran is kept',
  async (t) => {
    const { dir, wf } = await failedRun(t);
    const again = await runToil(['run', wf, 'file:./js', '--restart', '--retryCount', '0'], { cwd: dir });
    t.equal(again.code, 1, 'an unchanged file is the same code: it fails the same way');
    t.notOk(existsSync(join(dir, 'js', 'objects', 'modules%')), 'and stores no second module');

    writeFileSync(wf, workflowSource('return n * 10;'));
    const fixed = await runToil(['run', wf, 'file:./js', '--restart'], { cwd: dir });
    t.equal(fixed.code, 0, `the fixed file runs: ${fixed.stderr}`);
    t.match(fixed.stderr, /the workflow file changed since the last run of this workflow/);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), '40', "the fixed step's result");
    t.equal(readFileSync(join(dir, 'ran.log'), 'utf8'), 'root\n', 'root ran once: its commit was kept');
  },
);

t.test(
  'a change is said once: a --restart with the file the last run used runs that file, saying nothing of a change',
  async (t) => {
    const { dir, wf } = await failedRun(t);
    const restart = () => runToil(['run', wf, 'file:./js', '--restart', '--retryCount', '0'], { cwd: dir });
    const changed = /the workflow file changed since/;
    writeFileSync(wf, workflowSource("throw new Error('step has another bug');"));
    const second = await restart();
    t.equal(second.code, 1);
    t.match(second.stderr, /step has another bug/, 'the changed file ran');
    t.match(second.stderr, changed, 'the change is said');
    const third = await restart();
    t.equal(third.code, 1);
    t.match(third.stderr, /step has another bug/, 'the file the last run used runs again');
    t.notMatch(third.stderr, changed, 'unchanged since the last run: no word of a change');
    writeFileSync(wf, workflowSource('return n * 10;'));
    const fixed = await restart();
    t.equal(fixed.code, 0, fixed.stderr);
    t.equal(fixed.stderr.match(new RegExp(changed, 'g'))?.length, 1, 'the fix is said, once');
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), '40');
  },
);

t.test(
  '--restart with a workflow file that no longer defines a job the workflow holds: one line, exit 2, the store left byte-identical',
  async (t) => {
    const { dir, wf } = await failedRun(t);
    writeFileSync(wf, workflowSource('return n;').replaceAll("'root'", "'renamedRoot'"));
    t.match(
      await refusedLeavingStoreAsItWas(t, dir, wf),
      /^toil: workflow file .*wf\.ts no longer defines job 'root', which the workflow in job store file:\.\/js holds \(expected .*keep their names/,
    );
  },
);

t.test(
  '--restart with a workflow file that renamed a job an earlier job added and still to run: one line, exit 2, before any job runs, the store left byte-identical; the name kept, it resumes',
  async (t) => {
    const { dir, wf } = await failedRun(t);
    writeFileSync(wf, workflowSource('return n * 10;', 'stepRenamed'));
    t.match(
      await refusedLeavingStoreAsItWas(t, dir, wf),
      /^toil: workflow file .*wf\.ts no longer defines job 'step', which the workflow in job store file:\.\/js holds \(expected .*keep their names/,
    );

    writeFileSync(wf, workflowSource('return n * 10;'));
    const fixed = await runToil(['run', wf, 'file:./js', '--restart'], { cwd: dir });
    t.equal(fixed.code, 0, fixed.stderr);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), '40');
    t.equal(readFileSync(join(dir, 'ran.log'), 'utf8'), 'root\n', 'root ran once: its commit was kept');
  },
);
