import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  REPO_ROOT,
  messageLines,
  scratchDir,
  parseExecutions,
  runToil,
  sortedLikeCSort,
} from '../fixtures/workflowCli.js';

const SORT = join(REPO_ROOT, 'examples/sort.ts');
const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

function cSort(path: string): Buffer {
  return execFileSync('sort', [path], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 28 });
}

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

t.test(
  'toil run sorts a generated file exactly as LC_ALL=C sort does, and cleans the job store on success',
  async (t) => {
    const dir = scratchDir(t);
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
    const dir = scratchDir(t);
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
    const dir = scratchDir(t);
    const log = join(dir, 'exec.log');
    const out = join(dir, 'sum.txt');
    const r = await runToil(
      ['run', TREE, 'file:./js', '--n', '8', '--out', out, '--log', log, '--clean', 'never'],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr);
    t.equal(
      readFileSync(out, 'utf8').trim(),
      String((8 * 7) / 2),
      'root value = sum of 0..7 through rv() promises',
    );
    const ex = parseExecutions(readFileSync(log, 'utf8'));
    const starts = ex.filter((e) => e.kind === 'start');
    t.equal(starts.filter((e) => e.name === 'tree').length, 15, '15 tree jobs (8 leaves)');
    t.equal(starts.filter((e) => e.name === 'add').length, 7, '7 follow-ons');
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
      { finished: true, known: 22, completed: 22 },
    );
    const clean = await runToil(['clean', 'file:./js'], { cwd: dir });
    t.equal(clean.code, 0);
    t.notOk(existsSync(join(dir, 'js')), 'toil clean removed the job store');
  },
);

t.test(
  "Toil's quick start line runs as written: --numLines=5000 --lineLength=10 --overwriteOutput=True --workDir=DIR writes over an existing output",
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'sortedFile.txt'), 'an earlier output\n');
    const r = await runToil(
      [
        'run',
        SORT,
        'file:jobStore',
        '--numLines=5000',
        '--lineLength=10',
        '--overwriteOutput=True',
        `--workDir=${dir}`,
      ],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr);
    t.ok(sortedLikeCSort(dir), 'sortedFile.txt was written over with the sorted lines');
    t.ok(
      readFileSync(join(dir, 'fileToSort.txt'), 'utf8')
        .split('\n')
        .every((l) => l.length <= 10),
      'lines of at most --lineLength characters',
    );

    const kept = await runToil(['run', SORT, 'file:jobStore', '--overwriteOutput=False'], { cwd: dir });
    t.equal(kept.code, 2, 'an existing output with --overwriteOutput=False is refused');
    t.same(messageLines(kept.stderr), [
      `toil: workflow ${SORT} did not start: --overwriteOutput false: the output file sortedFile.txt already exists (delete it, or pass --overwriteOutput true)`,
    ]);
    t.ok(sortedLikeCSort(dir), 'the output is kept');
  },
);

t.test(
  '--fileToSort alone naming a file that does not exist is refused in one line, not sorted as random lines written under its name',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', SORT, 'file:./js', '--fileToSort', 'typo.txt'], { cwd: dir });
    t.equal(r.code, 2);
    t.same(messageLines(r.stderr), [
      `toil: workflow ${SORT} did not start: --fileToSort typo.txt: no such file (expected the file to sort, or --numLines N to generate it)`,
    ]);
    t.notOk(existsSync(join(dir, 'typo.txt')), 'no file was made under the name');
    t.notOk(existsSync(join(dir, 'js')), 'no job store is left');
    t.notOk(existsSync(join(dir, 'sortedFile.txt')), 'nothing was sorted');
  },
);

t.test(
  "sort takes the memory flags of Toil's autoscaling test as written (--sortMemory=0.6G --mergeMemory=3.0G) and --downCheckpoints",
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(
      join(dir, 'in.txt'),
      `${Array.from({ length: 300 }, (_, i) => `line ${(i * 7919) % 300}`).join('\n')}\n`,
    );
    const sorted = await runToil(
      ['run', SORT, 'file:./js', '--fileToSort=in.txt', '--sortMemory=0.6G', '--mergeMemory=3.0G', '--N=500'],
      { cwd: dir },
    );
    t.equal(sorted.code, 0, sorted.code === 0 ? 'exit 0' : sorted.stderr);
    t.equal(readFileSync(join(dir, 'sortedFile.txt'), 'utf8'), cSort(join(dir, 'in.txt')).toString('utf8'));

    // The sizes reach the jobs: a cap below one of them refuses that kind of job, by name.
    const mergeCapped = await runToil(
      ['run', SORT, 'file:./js2', '--fileToSort=in.txt', '--mergeMemory=3.0G', '--N=500', '--maxMemory=2G'],
      { cwd: dir },
    );
    t.not(mergeCapped.code, 0, 'a merge bigger than --maxMemory stops the run');
    t.match(mergeCapped.stderr, /job 'up' asks for 3\.0 GB memory, more than --maxMemory allows \(2\.0 GB\)/);
    const sortCapped = await runToil(
      ['run', SORT, 'file:./js3', '--fileToSort=in.txt', '--sortMemory=1.5G', '--N=500', '--maxMemory=1G'],
      { cwd: dir },
    );
    t.not(sortCapped.code, 0, 'a split job bigger than --maxMemory stops the run');
    t.match(
      sortCapped.stderr,
      /job 'down' asks for 1\.5 GB memory, more than --maxMemory allows \(1\.0 GB\)/,
    );

    const checkpointed = await runToil(
      [
        'run',
        SORT,
        'file:./js4',
        '--fileToSort=in.txt',
        '--downCheckpoints',
        '--N=500',
        '--outputFile=cp.txt',
      ],
      { cwd: dir },
    );
    t.equal(checkpointed.code, 0, checkpointed.code === 0 ? 'exit 0' : checkpointed.stderr);
    t.equal(readFileSync(join(dir, 'cp.txt'), 'utf8'), cSort(join(dir, 'in.txt')).toString('utf8'));

    const bad = await runToil(['run', SORT, 'file:./js5', '--fileToSort=in.txt', '--sortMemory=lots'], {
      cwd: dir,
    });
    t.equal(bad.code, 2, 'a malformed size is bad input');
    t.match(bad.stderr, /--sortMemory lots: expected a size like 0\.6G, 600M or 2Gi/);
    t.notOk(existsSync(join(dir, 'js5')), 'no job store is left by a refused start');
  },
);
