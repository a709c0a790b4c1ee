import { readdirSync } from 'node:fs';
import t from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * An empty entry of Toil's --nodeTypes (`c5.large,,t2.medium`, a trailing comma) was dropped: the
 * run went on with the types left, and the Nth per-type --maxNodes count went to the type after
 * the gap. Toil refuses an empty instance type; so does toil run, naming the flag and the entry,
 * before any job runs.
 */
const WORKFLOW = repoPath('examples/fanout.ts');

t.test('toil run refuses an empty --nodeTypes entry, naming the flag and its position', async (t) => {
  const dir = testDir(t);
  const rows: [string[], string][] = [
    [
      ['--nodeTypes', 'c5.large,,t2.medium', '--maxNodes', '1,2'],
      'toil: --nodeTypes c5.large,,t2.medium: node type 2 is empty (expected an instance type between the commas, e.g. c5.large,t2.medium)\n',
    ],
    [
      ['--nodeTypes', 'c5.large,'],
      'toil: --nodeTypes c5.large,: node type 2 is empty (expected an instance type between the commas, e.g. c5.large,t2.medium)\n',
    ],
    [
      ['--nodeType', ',c5.large'],
      'toil: --nodeType ,c5.large: node type 1 is empty (expected an instance type between the commas, e.g. c5.large,t2.medium)\n',
    ],
  ];
  for (const [i, [flags, stderr]] of rows.entries()) {
    const r = await runToil(['run', WORKFLOW, `file:${dir}/js${i}`, ...flags], { cwd: dir });
    t.equal(r.code, 2, `${flags.join(' ')}: exit 2, bad input`);
    t.equal(r.stderr, stderr, flags.join(' '));
    t.equal(r.stdout, '', 'no job ran');
  }
  t.same(readdirSync(dir), [], 'no job store was made');
});

t.test('per-type counts still line up with the node types that are given', async (t) => {
  const dir = testDir(t);
  const r = await runToil(
    ['run', WORKFLOW, `file:${dir}/js`, '--nodeTypes', 'c5.large, t2.medium', '--maxNodes', '1,2,3'],
    { cwd: dir },
  );
  t.equal(r.code, 2);
  t.equal(r.stderr, 'toil: --maxNodes 1,2,3: 3 values for 2 node types\n');
});
