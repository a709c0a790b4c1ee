import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

/**
 * Toil checks --maxCores, --maxMemory and --maxDisk on a job as it issues it: a --restart with a
 * smaller cap does not refuse a job that already ran (its result is in the job store), only one
 * still to run. 'big' (256 MiB) runs first; its child 'flaky' fails the first run; its follow-on
 * 'late' asks for the memory given as the workflow's argument. The restart used to check every
 * job of the workflow again, and refused 'big'.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowBigRanFirst.ts');
const SMALL_CAP = ['--maxMemory', '64Mi'];

t.setTimeout(240_000);

/** The first run: 'big' runs, 'flaky' fails, the store is kept. */
async function bigRanFlakyFailed(t: Test, lateMemory: string): Promise<string> {
  const dir = scratchDir(t);
  const first = await runToil(['run', WORKFLOW, 'file:./js', lateMemory, '--retryCount', '0'], { cwd: dir });
  t.equal(first.code, 1, `the first run fails at 'flaky'\n${first.stderr.slice(-2000)}`);
  t.match(first.stderr, /flaky fails once/);
  t.equal(readFileSync(join(dir, 'ran.log'), 'utf8'), 'big\nflaky\n', "'big' ran, then 'flaky' failed");
  return dir;
}

t.test(
  '--restart with a smaller --maxMemory runs what is left; the job over it that ran is not refused',
  async (t) => {
    const dir = await bigRanFlakyFailed(t, '32Mi');
    const again = await runToil(['run', WORKFLOW, 'file:./js', '32Mi', '--restart', ...SMALL_CAP], {
      cwd: dir,
    });
    t.equal(again.code, 0, `the restart finishes\n${again.stderr.slice(-2000)}`);
    t.notMatch(again.stderr, /asks for .* more than --maxMemory/, 'no job refused');
    t.match(again.stderr, /big ran first, then: late/);
    t.equal(
      readFileSync(join(dir, 'ran.log'), 'utf8'),
      'big\nflaky\nflaky\nlate\n',
      "'big' did not run again; 'flaky' and 'late' ran",
    );
  },
);

t.test('--restart with a smaller --maxMemory still refuses a job over it that is still to run', async (t) => {
  const dir = await bigRanFlakyFailed(t, '256Mi');
  const refused = await runToil(['run', WORKFLOW, 'file:./js', '256Mi', '--restart', ...SMALL_CAP], {
    cwd: dir,
  });
  t.equal(refused.code, 2, `refused as bad input\n${refused.stderr.slice(-2000)}`);
  t.match(
    refused.stderr,
    /^toil: job 'late' asks for 256\.0 MiB memory, more than --maxMemory allows \(64\.0 MiB\); raise --maxMemory/m,
    "'late', still to run, is refused",
  );
  t.notMatch(refused.stderr, /job 'big' asks for/, "'big', which ran, is not");
  t.equal(readFileSync(join(dir, 'ran.log'), 'utf8'), 'big\nflaky\n', 'refused before anything ran');

  const fits = await runToil(['run', WORKFLOW, 'file:./js', '256Mi', '--restart', '--maxMemory', '256Mi'], {
    cwd: dir,
  });
  t.equal(fits.code, 0, `a cap 'late' fits runs it\n${fits.stderr.slice(-2000)}`);
  t.equal(readFileSync(join(dir, 'ran.log'), 'utf8'), 'big\nflaky\nflaky\nlate\n');
});

t.test(
  '--restart with a smaller --maxMemory: a checkpoint that ran is not refused at the start, but its rerun is, before its commit is dropped',
  async (t) => {
    const dir = scratchDir(t);
    const wf = join(REPO_ROOT, 'test/fixtures/workflowBigCheckpoint.ts');
    const ran = (): string => readFileSync(join(dir, 'ran.log'), 'utf8');
    const first = await runToil(['run', wf, 'file:./js', '--retryCount', '0'], { cwd: dir });
    t.equal(first.code, 1, `'flaky' fails, 'ck' has no retry left\n${first.stderr.slice(-2000)}`);
    t.equal(ran(), 'ck\nflaky\n');

    const rerun = await runToil(['run', wf, 'file:./js', '--restart', '--retryCount', '1', ...SMALL_CAP], {
      cwd: dir,
    });
    t.equal(rerun.code, 2, `'ck' rerun is refused as bad input\n${rerun.stderr.slice(-2000)}`);
    t.match(
      rerun.stderr,
      /^toil: job 'ck' asks for 256\.0 MiB memory, more than --maxMemory allows \(64\.0 MiB\)/m,
      'the cap it is over is named',
    );
    t.equal(ran(), 'ck\nflaky\nflaky\nflaky\n', "'flaky' ran again (twice: one retry); 'ck' did not");

    const larger = await runToil(
      ['run', wf, 'file:./js', '--restart', '--retryCount', '1', '--maxMemory', '256Mi'],
      { cwd: dir },
    );
    t.equal(
      larger.code,
      1,
      `with room for 'ck', the workflow fails as before\n${larger.stderr.slice(-2000)}`,
    );
    t.equal(
      ran().split('\n').slice(3, 7).join(' '),
      'flaky flaky flaky ck',
      "the refused rerun kept 'ck' committed: the restart ran 'flaky' (twice) before 'ck' again",
    );
  },
);
