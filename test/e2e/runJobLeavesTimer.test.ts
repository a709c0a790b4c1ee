import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/**
 * A job that returns with a timer still armed (a forgotten poller, a client's keep-alive socket)
 * must not keep its worker, and so its task, running after its commit: the workflow would wait on
 * it for ever. `--freshWorkers` runs each job in a one-shot `toil worker` process, as a cluster
 * node's task does; warm workers are checked too.
 */
t.test('a job that leaves a timer armed does not hold up the workflow', async (t) => {
  const dir = scratchDir(t);
  for (const [name, extra] of [
    ['a one-shot worker per job, as on a cluster node', ['--freshWorkers']],
    ['warm workers', []],
  ] as const) {
    const out = join(dir, `${extra.length}.txt`);
    const started = Date.now();
    const r = await runToil(
      ['run', WORKFLOW, `file:./js${extra.length}`, 'job-leaves-timer', out, ...extra],
      {
        cwd: dir,
      },
    );
    t.equal(r.code, 0, `${name}: ${r.stderr}`);
    t.equal(readFileSync(out, 'utf8'), '42', `${name}: the job's result reached finish`);
    t.ok(Date.now() - started < 60_000, `${name}: done in ${Date.now() - started} ms`);
  }
});
