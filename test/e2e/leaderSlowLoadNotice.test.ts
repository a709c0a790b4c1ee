import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startEmbeddedLeader } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

/**
 * The real `toil leader` (its embedded local cloud) hands the workflow host's "still loading"
 * warning to the run's submitter: the daemon-level test builds its own daemon, so a `toil leader`
 * that did not pass its onNotice to the host it starts left `toil run --leader` silent for the
 * whole of a slow load, as before the warning was shown there. The 10 s after which it is said is
 * not configurable: the module's top level waits 12 s, then the run goes on and succeeds.
 */
t.setTimeout(90_000);

const WARNING =
  'toil: WARNING on the leader: the workflow module has not finished loading after 10 s: its top level is still running or awaiting something (an await at the top level of the module, or of a module it imports, that never settles keeps the run here; Ctrl-C stops it)';

t.test(
  'toil leader shows its submitter, once, that the workflow module has not finished loading after 10 s, and the run then succeeds',
  async (t) => {
    const dir = testDir(t, {});
    const { base, env } = await startEmbeddedLeader(t, dir);
    // Only the first load waits (the leader's): the job's worker loads the module again, and a
    // second 12 s there would only lengthen the test.
    const once = join(dir, 'loaded-once');
    const workflow = join(dir, 'slowLoad.ts');
    writeFileSync(
      workflow,
      [
        "import { existsSync, writeFileSync } from 'node:fs';",
        "import { defineJob, defineWorkflow } from 'toil-ts';",
        `if (!existsSync(${JSON.stringify(once)})) {`,
        `  writeFileSync(${JSON.stringify(once)}, '');`,
        '  await new Promise((resolve) => setTimeout(resolve, 12_000));',
        '}',
        "const one = defineJob<null, number>('one', { cores: 0.5, memory: '32Mi', disk: '1Mi' }, () => 1);",
        'export default defineWorkflow<number>({ start: (ctx) => ctx.root(one, null) });',
        '',
      ].join('\n'),
    );
    const r = await runToil(['run', workflow, 'file:./js', '--leader', base, '--disableProgress'], {
      cwd: dir,
      env,
    });
    t.equal(r.code, 0, `the run succeeds once the module has loaded\n${r.stderr}`);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('WARNING on the leader'));
    t.same(warnings, [WARNING], `said once, in the leader's words\n${r.stderr}`);
  },
);
