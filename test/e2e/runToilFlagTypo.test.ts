import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

/** Reads no argument: whatever follows the job store, its start() takes. */
const PLAIN = join(REPO_ROOT, 'test/fixtures/workflowDeclaresNothing.ts');
const SORT = join(REPO_ROOT, 'examples/sort.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

const typoLine = (flag: string, meant: string): string =>
  `toil: ${flag} is not a toil option, so it went to the workflow, which took it; toil did not act on it (did you mean ${meant}?)`;

const countOf = (text: string, line: string): number => text.split('\n').filter((l) => l === line).length;

t.test(
  'a toil option misspelt by one letter that a workflow reading no options takes is said once, as the run goes on',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(
      ['run', PLAIN, 'file:./js', '--disableProgress', '--retryCont', '2', '--stat', '--clena', 'never'],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.stderr);
    t.equal(countOf(r.stderr, typoLine('--retryCont', '--retryCount')), 1, r.stderr);
    t.equal(countOf(r.stderr, typoLine('--stat', '--stats')), 1, r.stderr);
    t.equal(countOf(r.stderr, typoLine('--clena', '--clean')), 1, r.stderr);
    t.equal(r.stderr.split('\n').filter((l) => l.includes('did you mean')).length, 3, 'and nothing else');
    t.notOk(existsSync(join(dir, 'js')), 'toil did not act on them: --clean onSuccess deleted the store');
  },
);

t.test('a --restart says it too: no start() runs to take or refuse the arguments', async (t) => {
  const dir = scratchDir(t);
  const first = await runToil(['run', PLAIN, 'file:./js', '--disableProgress', '--clean', 'never'], {
    cwd: dir,
  });
  t.equal(first.code, 0, first.stderr);
  t.notMatch(first.stderr, /did you mean/);
  const r = await runToil(['run', PLAIN, 'file:./js', '--restart', '--disableProgress', '--restrat'], {
    cwd: dir,
  });
  t.equal(r.code, 0, r.stderr);
  t.equal(countOf(r.stderr, typoLine('--restrat', '--restart')), 1, r.stderr);
});

t.test(
  "a workflow's own options a few letters from a toil option, and one it refuses, get no such line",
  async (t) => {
    const dir = scratchDir(t);
    const own = await runToil(
      ['run', PLAIN, 'file:./own', '--disableProgress', '--retries', '3', '--memory', '2G', '--debug'],
      { cwd: dir },
    );
    t.equal(own.code, 0, own.stderr);
    t.notMatch(own.stderr, /did you mean/, 'no typo of a toil option: nothing said');
    const refused = await runToil(['run', SORT, 'file:./typo', '--numLines', '10', '--maxNode', '3'], {
      cwd: dir,
    });
    t.equal(refused.code, 2, refused.stderr);
    t.equal(
      refused.stderr.split('\n').filter((l) => l.includes('did you mean --maxNodes?')).length,
      1,
      `the refusal alone names the option meant: ${refused.stderr}`,
    );
  },
);
