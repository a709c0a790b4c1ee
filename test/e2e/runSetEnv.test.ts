import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseSetEnv } from '../../src/cli/run.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = repoPath('test/fixtures/workflowEnv.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/** Toil's --setEnv: each job's process has the variables while it runs, over what it inherits. */
t.test("--setEnv sets a variable in every job's environment", async (t) => {
  const dir = scratchDir(t);
  const log = join(dir, 'env.log');
  const env = { TOIL_TS_TEST_GREETING: 'from-the-shell' };
  const r = await runToil(
    ['run', WORKFLOW, 'file:./js', '--log', log, '--setEnv', 'TOIL_TS_TEST_GREETING=hello world'],
    {
      cwd: dir,
      env,
    },
  );
  t.equal(r.code, 0, r.stderr);
  t.same(readFileSync(log, 'utf8').trim().split('\n').sort(), [
    'leaf GREETING=hello world',
    'leaf GREETING=hello world',
    'root GREETING=hello world',
  ]);
  const bare = join(dir, 'bare.log');
  const fromShell = await runToil(
    ['run', WORKFLOW, 'file:./js2', '--log', bare, '-e', 'TOIL_TS_TEST_GREETING'],
    {
      cwd: dir,
      env,
    },
  );
  t.equal(fromShell.code, 0, fromShell.stderr);
  t.match(readFileSync(bare, 'utf8'), /^root GREETING=from-the-shell$/m, 'NAME alone: the shell value');
});

t.test('--setEnv values: NAME=VALUE, NAME from the shell, and what is refused', async (t) => {
  process.env['TOIL_TS_SETENV_PROBE'] = 'x=y';
  t.teardown(() => delete process.env['TOIL_TS_SETENV_PROBE']);
  t.same(parseSetEnv(['A=1', 'B=', 'C=a=b', 'TOIL_TS_SETENV_PROBE']), {
    A: '1',
    B: '',
    C: 'a=b',
    TOIL_TS_SETENV_PROBE: 'x=y',
  });
  t.same(parseSetEnv(undefined), {});
  t.throws(() => parseSetEnv(['1A=x']), {
    code: 'BAD_FLAG',
    message: /^--setEnv 1A=x: expected NAME=VALUE or NAME/,
  });
  t.throws(() => parseSetEnv(['TOIL_TS_NOT_SET_ANYWHERE']), {
    code: 'BAD_FLAG',
    message: /TOIL_TS_NOT_SET_ANYWHERE is not set in this environment/,
  });
});
