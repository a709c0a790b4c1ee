import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, parseExecutions, runToil } from '../fixtures/workflowCli.js';

const SORT = join(REPO_ROOT, 'examples/sort.ts');
const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'toil-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function cSort(path: string): Buffer {
  return execFileSync('sort', [path], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 28 });
}

t.test(
  'toil run sorts a generated file exactly as LC_ALL=C sort does, and cleans the job store on success',
  async (t) => {
    const dir = scratch(t);
    const r = await runToil(
      ['run', SORT, 'file:./js', '--numLines', '5000', '--N', '20000', '--outputFile', 'sorted.txt'],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr);
    t.ok(existsSync(join(dir, 'fileToSort.txt')), 'the input was generated');
    t.equal(
      readFileSync(join(dir, 'fileToSort.txt'), 'utf8').split('\n').length - 1,
      5000,
      '5000 lines generated',
    );
    t.same(
      readFileSync(join(dir, 'sorted.txt')),
      cSort(join(dir, 'fileToSort.txt')),
      'byte-identical to LC_ALL=C sort',
    );
    t.notOk(existsSync(join(dir, 'js')), '--clean onSuccess (the default) removed the job store');
    t.match(r.stderr, /workflow succeeded: \d+ jobs run/);
  },
);

t.test(
  'sort keeps an existing input file and honours --fileToSort with lines of mixed case and punctuation',
  async (t) => {
    const dir = scratch(t);
    writeFileSync(join(dir, 'in.txt'), 'b\nB\na\n_x\nZ\n~\n!\n10\n9\nb\n');
    const r = await runToil(
      ['run', SORT, 'file:./js', '--fileToSort', 'in.txt', '--N', '4', '--outputFile', 'out.txt'],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), cSort(join(dir, 'in.txt')).toString('utf8'));
  },
);

t.test(
  'children run after their parent, follow-ons after the whole child subtree, promised values arrive',
  async (t) => {
    const dir = scratch(t);
    const log = join(dir, 'exec.log');
    const out = join(dir, 'sum.txt');
    const r = await runToil(
      ['run', TREE, 'file:./js', '--n', '16', '--out', out, '--log', log, '--clean', 'never'],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr);
    t.equal(
      readFileSync(out, 'utf8').trim(),
      String((16 * 15) / 2),
      'root value = sum of 0..15 through rv() promises',
    );
    const ex = parseExecutions(readFileSync(log, 'utf8'));
    const starts = ex.filter((e) => e.kind === 'start');
    t.equal(starts.filter((e) => e.name === 'tree').length, 31, '31 tree jobs (16 leaves)');
    t.equal(starts.filter((e) => e.name === 'add').length, 15, '15 follow-ons');
    t.equal(new Set(starts.map((e) => e.jobId)).size, starts.length, 'every job ran exactly once');
    const idx = (kind: string, id: string): number => ex.findIndex((e) => e.kind === kind && e.jobId === id);
    // Every add (follow-on) starts after every tree job whose range it covers has ended: here we
    // check the global property that the last add ends after every other job has ended.
    const lastAdd = ex.filter((e) => e.kind === 'end' && e.name === 'add').pop()!;
    t.equal(
      ex.filter((e) => e.kind === 'end').pop()!.jobId,
      lastAdd.jobId,
      'the root follow-on finishes last',
    );
    // A follow-on starts only after at least two leaves it sums have ended.
    for (const add of starts.filter((e) => e.name === 'add')) {
      const endsBefore = ex
        .slice(0, idx('start', add.jobId))
        .filter((e) => e.kind === 'end' && e.name === 'tree').length;
      t.ok(endsBefore >= 3, `add ${add.jobId} started after its parent and two children ended`);
    }
    const status = await runToil(['status', 'file:./js', '--json'], { cwd: dir });
    t.equal(status.code, 0, status.code === 0 ? 'exit 0' : status.stderr);
    const s = JSON.parse(status.stdout) as { finished: boolean; jobs: { known: number; completed: number } };
    t.same(
      { finished: s.finished, known: s.jobs.known, completed: s.jobs.completed },
      { finished: true, known: 46, completed: 46 },
    );
    const clean = await runToil(['clean', 'file:./js'], { cwd: dir });
    t.equal(clean.code, 0);
    t.notOk(existsSync(join(dir, 'js')), 'toil clean removed the job store');
  },
);

t.test(
  'a job that fails is retried --retryCount times and the workflow succeeds if a retry does',
  async (t) => {
    const dir = scratch(t);
    const log = join(dir, 'exec.log');
    const out = join(dir, 'sum.txt');
    const r = await runToil(
      [
        'run',
        TREE,
        'file:./js',
        '--n',
        '4',
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
    t.equal(readFileSync(out, 'utf8').trim(), '6');
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
    const dir = scratch(t);
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

t.test('bad input: one line naming the input and what was expected, exit 2, no stack trace', async (t) => {
  const dir = scratch(t);
  mkdtempSync(join(dir, 'x'));
  const cases: { name: string; args: string[]; expect: RegExp }[] = [
    {
      name: 'unknown locator scheme',
      args: ['run', SORT, 'gs:bucket/x'],
      expect: /invalid job store locator 'gs:bucket\/x'.*expected file:PATH or aws:REGION:NAME/,
    },
    {
      name: 'missing workflow file',
      args: ['run', join(dir, 'nope.ts'), 'file:./js'],
      expect: /workflow file .*nope\.ts does not exist \(expected/,
    },
    {
      name: '--restart of a job store that does not exist',
      args: ['run', SORT, 'file:./absent', '--restart'],
      expect: /job store file:\.\/absent does not exist \(expected an existing job store/,
    },
    {
      name: 'a job asking for more than the batch system allows',
      args: ['run', SORT, 'file:./big', '--numLines', '10', '--maxMemory', '100M'],
      expect:
        /job 'setup' asks for 600\.0 MiB memory, more than the largest node allows \(.*100\.0 MiB memory/,
    },
    {
      name: 'bad --retryCount',
      args: ['run', SORT, 'file:./js', '--retryCount', 'many'],
      expect: /--retryCount many: expected a whole number/,
    },
  ];
  for (const c of cases) {
    const r = await runToil(c.args, { cwd: dir });
    t.equal(r.code, 2, `${c.name}: exit 2 (${r.stderr})`);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !/^\d\d:\d\d:\d\d /.test(l));
    t.equal(lines.length, 1, `${c.name}: one line`);
    t.match(lines[0], c.expect, c.name);
    t.notMatch(r.stderr, /\n\s+at /, `${c.name}: no stack trace`);
  }
  // A job store that already exists, without --restart.
  const first = await runToil(['run', SORT, 'file:./exists', '--numLines', '10', '--clean', 'never'], {
    cwd: dir,
  });
  t.equal(first.code, 0, first.code === 0 ? 'exit 0' : first.stderr);
  const second = await runToil(['run', SORT, 'file:./exists', '--numLines', '10'], { cwd: dir });
  t.equal(second.code, 2);
  t.equal(second.stderr.trim().split('\n').length, 1);
  t.match(
    second.stderr,
    /job store file:\.\/exists already exists \(expected a new job store; use --restart/,
  );
});

t.test('--help of each sub-command describes it', async (t) => {
  for (const sub of ['run', 'status', 'clean']) {
    const r = await runToil([sub, '--help']);
    t.equal(r.code, 0);
    t.match(r.stdout, new RegExp(`Usage: toil ${sub}`));
  }
  const run = await runToil(['run', '--help']);
  for (const flag of [
    '--retryCount',
    '--restart',
    '--clean',
    '--logLevel',
    '--maxCores',
    '--maxMemory',
    '--defaultMemory',
    '--defaultPreemptable',
    '--batchSystem',
    '--mesosMaster',
  ])
    t.match(run.stdout, flag);
});
