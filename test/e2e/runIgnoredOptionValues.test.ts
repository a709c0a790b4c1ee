import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FOREIGN_RUN_OPTIONS } from '../../src/cli/toilRunOptions.js';
import { REPO_ROOT, messageLines, runToil, scratchDir } from '../fixtures/workflowCli.js';

const SORT = join(REPO_ROOT, 'examples/sort.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * Each Toil option `toil run` takes and ignores whose argument Toil's parser checks (its argparse
 * type, choices or range, Toil's src/toil/options/common.py and batchSystems/): a value Toil
 * refuses, what the refusal expects, and a value Toil takes.
 */
const ROWS: readonly { flag: string; bad: string; expected: string; good: string }[] = [
  { flag: '--statePollingWait', bad: 'abc', expected: 'a whole number', good: '5' },
  { flag: '--statePollingTimeout', bad: '1.5', expected: 'a whole number', good: '1200' },
  { flag: '--jobStoreTimeout', bad: '-5', expected: 'a number >= 0', good: '30.5' },
  { flag: '--rescueJobsFrequency', bad: '0', expected: 'a whole number >= 1', good: '60' },
  { flag: '--kill_polling_interval', bad: 'soon', expected: 'a whole number', good: '5' },
  { flag: '--deadlockCheckInterval', bad: '30s', expected: 'a whole number', good: '30' },
  { flag: '--statusWait', bad: 'abc', expected: 'a whole number', good: '3600' },
  { flag: '--maxLocalJobs', bad: 'many', expected: 'a whole number', good: '4' },
  { flag: '--parasolMaxBatches', bad: '1.5', expected: 'a whole number', good: '1000' },
  {
    flag: '--cleanWorkDir',
    bad: 'sometimes',
    expected: 'one of always, onError, never, onSuccess',
    good: 'onError',
  },
  { flag: '--coordinationDir', bad: './absent', expected: 'a path that exists', good: '.' },
  { flag: '--retryBackoffSeconds', bad: '-1', expected: 'a number >= 0', good: '2' },
  { flag: '--retryBackoffFactor', bad: '0.5', expected: 'a number >= 1', good: '3' },
  { flag: '--badWorker', bad: 'abc', expected: 'a number from 0 to 1', good: '0.5' },
  { flag: '--badWorkerFailInterval', bad: '-0.01', expected: 'a number >= 0', good: '1e-2' },
  { flag: '--publishWorkflowMetrics', bad: 'yes', expected: 'one of all, current, no', good: 'no' },
  { flag: '--defaultWalltime', bad: '-1', expected: 'a whole number >= 0', good: '3600' },
  { flag: '--kubernetesPodTimeout', bad: '2m', expected: 'a number', good: '120' },
];

t.test('every ignored Toil option whose value Toil checks has a row here', async (t) => {
  const checked = FOREIGN_RUN_OPTIONS.filter((o) => o.check !== undefined).map((o) => o.flag);
  t.same([...checked].sort(), ROWS.map((r) => r.flag).sort());
});

t.test(
  'an ignored Toil option with a value Toil refuses: one line naming the flag, the value and what was expected, exit 2',
  async (t) => {
    const dir = scratchDir(t);
    const bad = [...ROWS, { flag: '--badWorker', bad: '1.5', expected: 'a number from 0 to 1', good: '' }];
    for (const r of bad) {
      const res = await runToil(['run', SORT, 'file:./js', '--numLines', '10', r.flag, r.bad], { cwd: dir });
      t.equal(res.code, 2, `${r.flag} ${r.bad}: exit 2 (${res.stderr})`);
      t.same(messageLines(res.stderr), [`toil: ${r.flag} ${r.bad}: expected ${r.expected}`], r.flag);
      t.notMatch(res.stderr, /\n\s+at /, `${r.flag}: no stack trace`);
      t.notOk(existsSync(join(dir, 'js')), `${r.flag}: no job store made`);
    }
  },
);

t.test(
  'every such option with a value Toil takes: the run goes on and says each has no effect',
  async (t) => {
    const dir = scratchDir(t);
    const res = await runToil(
      ['run', SORT, 'file:./js', '--numLines', '10', ...ROWS.flatMap((r) => [r.flag, r.good])],
      { cwd: dir },
    );
    t.equal(res.code, 0, res.stderr);
    for (const r of ROWS)
      t.match(res.stderr, new RegExp(`^toil: ${r.flag} has no effect here: `, 'm'), r.flag);
  },
);

t.test("a utility's ignored --logLevel with a level Toil refuses: exit 2, naming it", async (t) => {
  const dir = scratchDir(t);
  const res = await runToil(['stats', 'file:./absent', '--logLevel', 'loud'], { cwd: dir });
  t.equal(res.code, 2, res.stderr);
  t.same(messageLines(res.stderr), [
    'toil: --logLevel loud: expected one of critical, error, warning, warn, info, debug, trace, off, silent',
  ]);
});
