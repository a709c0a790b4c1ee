import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

/**
 * A job that logs in a loop (job.log, Toil's logToMaster) gets the first and last 512 KiB of its
 * log to the leader, with one line counting what was left out: every line went into its commit,
 * which the leader reads whole (200,000 lines took it to 266 MB; a few million would end a leader
 * daemon, and every workflow it runs).
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

t.setTimeout(120_000);

t.test('a job logging 60,000 lines: the leader prints its first and last, counting the rest', async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(['run', WORKFLOW, 'file:./js', 'job-logs-much', '--clean', 'always'], { cwd: dir });
  t.equal(r.code, 0, `the workflow succeeds (${r.stderr.slice(-300)})`);
  const printed = r.stderr.split('\n').filter((l) => /chatty line \d+ /.test(l));
  t.ok(printed.length < 15_000, `${printed.length} of the 60,000 lines printed`);
  t.match(printed[0], /chatty line 0 /, 'the first line');
  t.match(printed.at(-1), /chatty line 59999 /, 'the last line');
  const gap =
    /\[(\d+) log line\(s\), [\d.]+ MiB, left out here: a job's log keeps its first and last 512 KiB/.exec(
      r.stderr,
    );
  t.ok(gap, 'one line says lines were left out');
  t.equal(Number(gap?.[1]) + printed.length, 60_000, 'and counts them');
});
