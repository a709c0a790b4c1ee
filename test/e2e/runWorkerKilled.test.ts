import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/**
 * A worker that dies with no failure log of its own (a signal, Node's fatal out-of-memory report)
 * leaves only the batch system's message: how it ended, then its output. With more than 20 lines
 * of output, the summary named the 11th line of it (for an out-of-memory death, a blank line), not
 * how the worker ended.
 */
t.test(
  'a worker killed after much output: the summary says how it ended, the log keeps the tail',
  async (t) => {
    const dir = scratchDir(t);
    for (const extra of [[], ['--freshWorkers']]) {
      const how = extra.length ? 'one-shot worker' : 'warm worker';
      const r = await runToil(
        ['run', WORKFLOW, `file:./js${extra.length}`, 'job-dies-after-output', '--retryCount', '0', ...extra],
        { cwd: dir },
      );
      t.equal(r.code, 1, `${how}: the workflow fails`);
      t.match(
        r.stderr,
        /^toil: job 'crasher' \([0-9a-f-]+\) failed after 1 attempt\(s\): killed by SIGKILL$/m,
        `${how}: the summary says the worker was killed`,
      );
      t.match(
        r.stderr,
        /giving up on it .*\n {4}killed by SIGKILL\n {4}\[\d+ line\(s\) of output left out here\]\n {4}crasher report line 11\n/,
        `${how}: the log says how much output it leaves out`,
      );
      t.match(r.stderr, /crasher report line 30\n/, `${how}: and keeps the last lines`);
    }
  },
);
