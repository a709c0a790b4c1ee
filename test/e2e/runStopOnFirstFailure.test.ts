import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

/**
 * Toil's --stopOnFirstFailure (its debugging docs pass it): the first job that fails for good ends
 * the run, its running jobs killed, instead of every job that can still run running first. It was
 * refused ('toil-ts runs every job it can after a failure').
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowOneFails.ts');

t.setTimeout(180_000);

t.test(
  '--stopOnFirstFailure ends the run at the first job that fails for good, killing the others',
  async (t) => {
    const dir = scratchDir(t);
    const started = Date.now();
    const r = await runToil(
      ['run', WORKFLOW, 'file:./js', '120', '--retryCount', '0', '--stopOnFirstFailure=True'],
      { cwd: dir },
    );
    const took = (Date.now() - started) / 1000;
    t.equal(r.code, 1, `the workflow fails (exit ${r.code}, ${took.toFixed(1)} s)`);
    t.ok(took < 60, `it ends without waiting for the 120 s sibling (${took.toFixed(1)} s)`);
    t.match(r.stderr, /--stopOnFirstFailure: job 'fails' failed for good; stopping the workflow/);
    t.match(
      r.stderr,
      /^toil: job 'fails' \([0-9a-f-]+\) failed after 1 attempt\(s\): Error: no such sample$/m,
    );
    t.match(r.stderr, /the job store file:\S+ is kept; fix the cause and run again with --restart/);
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(dir));
    t.same(left, [], 'no worker left running');
  },
);

t.test('without it (or =False) the sibling still runs to its end before the run fails', async (t) => {
  const dir = scratchDir(t);
  for (const extra of [[], ['--stopOnFirstFailure', 'false']]) {
    const started = Date.now();
    const r = await runToil(
      ['run', WORKFLOW, `file:./js${extra.length}`, '4', '--retryCount', '0', ...extra],
      {
        cwd: dir,
      },
    );
    const took = (Date.now() - started) / 1000;
    t.equal(r.code, 1, `${extra.join(' ') || 'no flag'}: exit 1`);
    t.ok(took >= 4, `${extra.join(' ') || 'no flag'}: the 4 s sibling ran out (${took.toFixed(1)} s)`);
    t.notMatch(r.stderr, /stopping the workflow/);
  }
  const bad = await runToil(['run', WORKFLOW, 'file:./jsb', '--stopOnFirstFailure=sometimes'], { cwd: dir });
  t.equal(bad.code, 2);
  t.equal(bad.stderr.trim(), 'toil: --stopOnFirstFailure sometimes: expected true or false');
});
