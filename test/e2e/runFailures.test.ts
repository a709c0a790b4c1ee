import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, TREE_THROW_LINE, scratchDir, parseExecutions, runToil } from '../fixtures/workflowCli.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

t.test(
  'a job that fails is retried --retryCount times and the workflow succeeds if a retry does',
  async (t) => {
    const dir = scratchDir(t);
    const log = join(dir, 'exec.log');
    const out = join(dir, 'sum.txt');
    // n = 2 makes one `add` job (with more, two adds may run at once and share the failures).
    const r = await runToil(
      [
        'run',
        TREE,
        'file:./js',
        '--n',
        '2',
        '--out',
        out,
        '--log',
        log,
        '--fail',
        'add',
        '--failTimes',
        '2',
        '--retryCount',
        '2',
      ],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr);
    t.equal(readFileSync(out, 'utf8').trim(), '1');
    const failing = parseExecutions(readFileSync(log, 'utf8')).filter((e) => e.kind === 'failing');
    t.equal(failing.length, 2, 'two failed attempts');
    t.equal(failing[0]!.jobId, failing[1]!.jobId, 'the same job was retried');
    t.not(failing[0]!.attempt, failing[1]!.attempt, 'with a new attempt number');
    t.match(r.stderr, /job 'add' failed; trying again/);
  },
);

t.test(
  'a job that keeps failing: non-zero exit, its name and the tail of its stderr shown, retries honoured',
  async (t) => {
    const dir = scratchDir(t);
    const log = join(dir, 'exec.log');
    const r = await runToil(
      [
        'run',
        TREE,
        'file:./js',
        '--n',
        '2',
        '--out',
        join(dir, 'o'),
        '--log',
        log,
        '--fail',
        'add',
        '--failTimes',
        '3',
        '--retryCount',
        '1',
        '--freshWorkers',
      ],
      { cwd: dir },
    );
    t.equal(r.code, 1, 'exit 1: the workflow failed');
    t.match(r.stderr, /job 'add' \([0-9a-f-]+\) failed after 2 attempt\(s\)/);
    t.match(r.stderr, /stderr-marker-of-add: about to fail/, "the job's stderr tail is shown");
    t.match(r.stderr, /add was told to fail/, 'and its error');
    t.equal(
      r.stderr.match(/^\S+ WARNING job: log-marker-of-add: about to fail \(attempt \d+\) \(job=add /gm)
        ?.length,
      2,
      "what each failed attempt logged (job.log) is on the leader's log, at its level",
    );
    t.equal(
      r.stderr.match(/^\s+at /gm)?.length ?? 0,
      r.stderr.match(/^\s+at .*workflowTree\.ts:\d+:\d+\)?$/gm)?.length,
      'every frame shown is in the workflow source',
    );
    t.equal(
      r.stderr.match(new RegExp(`at record \\(.*workflowTree\\.ts:${TREE_THROW_LINE}:\\d+\\)`, 'g'))?.length,
      1,
      "one stack, mapped to the line of the user's source that threw",
    );
    t.notMatch(r.stderr, /toil-ts-modules|\.mjs:/, 'no frame of the bundle');
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(status.stdout, /^state: +failed: 1 job\(s\) failed for good/m, 'toil status says it failed');
    t.match(status.stdout, /failed: +add \([0-9a-f-]+\): Error: add was told to fail/);
    t.equal(
      parseExecutions(readFileSync(log, 'utf8')).filter((e) => e.kind === 'failing').length,
      2,
      '1 try + 1 retry',
    );
    t.ok(existsSync(join(dir, 'js')), 'the job store is kept for --restart');
    const again = await runToil(
      ['run', TREE, 'file:./js', '--n', '2', '--out', join(dir, 'o'), '--log', log, '--restart'],
      { cwd: dir },
    );
    t.equal(again.code, 0, `--restart (with fresh retries) succeeds: ${again.stderr}`);
    t.equal(readFileSync(join(dir, 'o'), 'utf8').trim(), '1');
    t.equal(
      parseExecutions(readFileSync(log, 'utf8')).filter((e) => e.kind === 'failing').length,
      3,
      'one more failure, then success',
    );
  },
);
