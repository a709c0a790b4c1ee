import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startEmbeddedLeader } from '../fixtures/leaderE2e.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(300_000);

/** A workflow whose `step` job computes `BODY`; finish writes step's result to out.txt. */
function workflowSource(body: string): string {
  return `import { appendFileSync, writeFileSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const SMALL = { cores: 0.5, memory: '32Mi', disk: '1Mi', preemptable: true };
const step = defineJob<number, number>('step', SMALL, (_job, n) => { ${body} });
const root = defineJob<number, number>('root', SMALL, (job, n) => job.addChild(step, n).rv());
export default defineWorkflow<number>({
  start: (ctx) => ctx.root(root, 4),
  finish: (_ctx, result) => writeFileSync(${JSON.stringify('OUT')}, String(result)),
});
`;
}

/**
 * Toil's loop (fix the bug, then --restart) through a leader daemon: the daemon bundles the file as
 * submitted, and a resubmission of a kept store runs that bundle, not the module the store held
 * from the first submission (which would fail the same way for ever).
 */
t.test(
  'toil run --leader --restart after fixing the bug runs the fixed workflow file on the daemon',
  async (t) => {
    const dir = testDir(t, {});
    const { base, env } = await startEmbeddedLeader(t, dir);
    const wf = join(dir, 'wf.ts');
    const out = join(dir, 'out.txt');
    const submit = (...extra: string[]) =>
      runToil(['run', wf, `file:${dir}/js`, '--leader', base, '--retryCount', '0', ...extra], {
        cwd: dir,
        env,
      });

    writeFileSync(wf, workflowSource("throw new Error('step has a bug');").replace('OUT', out));
    const first = await submit();
    t.equal(first.code, 1, 'the buggy workflow fails on the daemon');
    t.match(first.stderr, /step has a bug/);

    writeFileSync(wf, workflowSource('return n * 10;').replace('OUT', out));
    const fixed = await submit('--restart');
    t.equal(fixed.code, 0, `the fixed file runs: ${fixed.stderr}`);
    t.notMatch(fixed.stderr, /step has a bug/, 'the old code did not run again');
    t.equal(readFileSync(out, 'utf8'), '40', "the fixed step's result");
    t.match(fixed.stderr, /already done/, 'root, which succeeded the first time, is not run again');
  },
);
