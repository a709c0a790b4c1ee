import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/**
 * A job whose code calls process.exit(3) fails as a job that threw does, in its own name: the
 * user reads that their job called process.exit(3), where, and what it printed, not "the worker
 * process died (exit code 3)", which blames the engine.
 */
t.test("a job calling process.exit(3) is reported as the job's own call, with its code", async (t) => {
  const dir = scratchDir(t);
  for (const [name, extra] of [
    ['warm workers', []],
    ['a one-shot worker per job, as on a cluster node', ['--freshWorkers']],
  ] as const) {
    const r = await runToil(
      ['run', WORKFLOW, `file:./js${extra.length}`, 'job-exits', '--retryCount', '0', ...extra],
      { cwd: dir },
    );
    t.equal(r.code, 1, `${name}: the workflow fails`);
    t.match(
      r.stderr,
      /^toil: job 'quitter' \([0-9a-f-]+\) failed after 1 attempt\(s\): JobCalledExitError: job 'quitter' called process\.exit\(3\)/m,
      `${name}: the summary names the job and its call`,
    );
    t.match(
      r.stderr,
      /at Object\.fn \(.*workflowMisbehaves\.ts:\d+:\d+\)/,
      `${name}: the stack points at the call`,
    );
    t.match(r.stderr, /quitter is about to exit with 41/, `${name}: and what it printed`);
    t.notMatch(r.stderr, /worker process died/, `${name}: the worker is not blamed`);
  }
});
