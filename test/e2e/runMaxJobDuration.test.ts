import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

/**
 * Toil's --maxJobDuration: a job in an endless loop is killed once it has run longer, its attempt
 * fails naming the limit (--retryCount tries it again), and the run ends with exit 1 instead of
 * holding its worker for ever. It was refused ('toil-ts does not stop jobs that run long').
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

// Two attempts of 2 s each, on warm and on one-shot workers, on a busy two-core machine.
t.setTimeout(120_000);

t.test(
  'a job that loops for ever is killed after --maxJobDuration, retried, and fails the run naming the limit',
  async (t) => {
    const dir = scratchDir(t);
    for (const [name, extra] of [
      ['warm workers', []],
      ['a one-shot worker per job', ['--freshWorkers']],
    ] as const) {
      const started = Date.now();
      const r = await runToil(
        [
          'run',
          WORKFLOW,
          `file:./js${extra.length}`,
          'job-spins',
          '--maxJobDuration',
          '2',
          '--retryCount',
          '1',
          ...extra,
        ],
        { cwd: dir },
      );
      const took = (Date.now() - started) / 1000;
      t.equal(r.code, 1, `${name}: the workflow fails (exit ${r.code}, ${took.toFixed(1)} s)`);
      t.match(
        r.stderr,
        /^toil: job 'spinner' \([0-9a-f-]+\) failed after 2 attempt\(s\): job 'spinner' ran longer than --maxJobDuration 2 s \(for \d+\.\d s\) and was killed\n?$/m,
        `${name}: the summary names the job and the limit`,
      );
      // Never before the limit (Toil's is a lower bound); that it is at the limit, not a check's
      // tick after it, test/leader/maxJobDurationOnTime.test.ts shows on a clock of its own.
      const ran = [...r.stderr.matchAll(/ran longer than --maxJobDuration 2 s \(for (\d+\.\d) s\)/g)].map(
        (m) => Number(m[1]),
      );
      t.ok(
        ran.length >= 2 && ran.every((x) => x >= 2),
        `${name}: no attempt was killed before the limit (for ${ran.join(', ')} s)`,
      );
      t.match(
        r.stderr,
        /job 'spinner' failed; trying again: job 'spinner' ran longer than --maxJobDuration/,
        `${name}: the first attempt is retried`,
      );
      t.ok(took < 60, `${name}: ended well before the test's timeout (${took.toFixed(1)} s)`);
      // A worker's argv names its job store, under this test's directory.
      const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(dir));
      t.same(left, [], `${name}: no worker left running`);
    }
  },
);

t.test('--maxJobDuration takes a positive number of seconds', async (t) => {
  const dir = scratchDir(t);
  for (const bad of ['0', '-5', 'soon']) {
    const r = await runToil(['run', WORKFLOW, 'file:./js', 'well', '--maxJobDuration', bad], { cwd: dir });
    t.equal(r.code, 2, `--maxJobDuration ${bad}: exit 2`);
    t.equal(r.stderr.trim(), `toil: --maxJobDuration ${bad}: expected a positive number of seconds`);
  }
  const r = await runToil(
    ['run', WORKFLOW, 'file:./js', 'well', join(dir, 'out.txt'), '--maxJobDuration', '600'],
    { cwd: dir },
  );
  t.equal(r.code, 0, `a job within the limit runs as before (${r.stderr.slice(-500)})`);
});
