import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { debugFailingAdd } from '../fixtures/debugJobRuns.js';
import { fileStoreSnapshot as snapshot } from '../fixtures/storeSnapshot.js';
import { REPO_ROOT, scratchDir, runToil, startToil, type ToilResult } from '../fixtures/workflowCli.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
const FILES = join(REPO_ROOT, 'test/fixtures/workflowFiles.ts');

// Its cases run side by side: 73 s on a loaded two-core machine, so the limit has the same
// headroom as the other e2e files'.
t.setTimeout(240_000);
// Each case runs in a directory of its own: they run side by side.
t.jobs = 3;

/** `toil run` of the tree workflow in `dir`, its job `add` failing its first `failTimes` attempts. */
function runFailingAdd(dir: string, o: { failTimes: number; retryCount: number }): Promise<ToilResult> {
  const flags = {
    '--n': '2',
    '--out': join(dir, 'o'),
    '--log': join(dir, 'exec.log'),
    '--fail': 'add',
    '--failTimes': String(o.failTimes),
    '--retryCount': String(o.retryCount),
  };
  return runToil(['run', TREE, 'file:./js', ...Object.entries(flags).flat()], { cwd: dir });
}

t.test('toil debug-job runs a failed job here, shows why it fails, and changes nothing', async (t) => {
  const dir = scratchDir(t);
  // `add` fails its first 4 attempts: the run's 2, then the 2 debug runs below.
  const run = await runFailingAdd(dir, { failTimes: 4, retryCount: 1 });
  t.equal(run.code, 1, 'the workflow failed');
  const jobId = /job 'add' \(([0-9a-f-]+)\) failed after/.exec(run.stderr)?.[1];
  t.ok(jobId, 'the failed job is named');
  const before = snapshot(join(dir, 'js'));
  const statusBefore = await runToil(['status', 'file:./js'], { cwd: dir });

  await debugFailingAdd(t, 'file:./js', jobId!, { cwd: dir });
  t.same(snapshot(join(dir, 'js')), before, 'no object of the job store was added or changed');
  const statusAfter = await runToil(['status', 'file:./js'], { cwd: dir });
  t.equal(statusAfter.stdout, statusBefore.stdout, 'toil status says the same');

  const info = await runToil(['debug-job', 'file:./js', 'add', '--printJobInfo'], { cwd: dir });
  t.equal(info.code, 0, info.stderr);
  t.match(info.stdout, new RegExp(`^job: +add\\nid: +${jobId}\\n`, 'm'));
  t.match(info.stdout, /^input: +\{"a":0,"b":1,"opts":\{/m, 'its input, promises resolved');
  t.match(
    info.stdout,
    /^requirements: +cores 0\.5, memory 32\.0 MiB, disk 1\.0 MiB, preemptable no\ncheckpoint: +no\n/m,
  );
  t.match(info.stdout, /^ran: +no \(no commit in the job store\)$/m);
  t.match(info.stdout, /^failed: +2 attempt\(s\) logged; failed for good in the last run$/m);
  t.equal(info.stdout.match(/^ {2}attempt \d+: Error: add was told to fail$/gm)?.length, 2);
  t.notMatch(info.stdout, /about to fail/, 'nothing was run');

  const ambiguous = await runToil(['debug-job', 'file:./js', 'tree'], { cwd: dir });
  t.equal(ambiguous.code, 2, 'a name of several jobs: exit 2');
  t.match(
    ambiguous.stderr,
    /^toil: job name 'tree' matches 3 jobs in job store file:\.\/js: give one of their ids: [0-9a-f-]+, [0-9a-f-]+, [0-9a-f-]+\n$/,
  );
  const none = await runToil(['debug-job', 'file:./js', 'nosuch'], { cwd: dir });
  t.equal(none.code, 2, 'no match: exit 2');
  t.match(
    none.stderr,
    new RegExp(
      `^toil: no job named 'nosuch' or with that id in job store file:\\./js; failed for good: add \\(${jobId}\\)\\n$`,
    ),
    'the failed job is suggested',
  );
});

t.test(
  'toil debug-job of a job that waits behind a failed one: never issued, said as such (exit 2)',
  async (t) => {
    const dir = scratchDir(t);
    const flags = ['--n', '4', '--out', join(dir, 'o'), '--log', join(dir, 'exec.log')];
    const run = await runToil(
      ['run', TREE, 'file:./js', ...flags, '--fail', 'add', '--failTimes', '9', '--retryCount', '0'],
      { cwd: dir },
    );
    t.equal(run.code, 1, 'the inner adds failed');
    const status = await runToil(['status', 'file:./js', '--json', '--printDot'], { cwd: dir });
    const graph = (JSON.parse(status.stdout) as { graph: { id: string; name: string; state: string }[] })
      .graph;
    const waiting = graph.find((j) => j.name === 'add' && j.state === 'waiting');
    t.ok(waiting, 'the top add waits for the failed ones');
    const r = await runToil(['debug-job', 'file:./js', waiting!.id], { cwd: dir });
    t.equal(r.code, 2, r.stderr);
    t.match(
      r.stderr,
      new RegExp(
        `^toil: job 'add' \\(${waiting!.id}\\) in job store file:\\./js was never issued \\(it waits for the jobs before it\\), so there is nothing to run yet; failed for good: add \\([0-9a-f-]+\\), add \\([0-9a-f-]+\\)\\n$`,
      ),
    );
  },
);

t.test(
  'toil debug-job of the root job of a leader killed with -9 before it issued it: ready, never issued, --restart runs it',
  async (t) => {
    const dir = scratchDir(t);
    const flags = ['--n', '2', '--out', join(dir, 'o'), '--log', join(dir, 'exec.log')];
    const killer = join(REPO_ROOT, 'test/fixtures/killBeforeFirstTicket.mjs');
    const run = await runToil(['run', TREE, 'file:./js', ...flags], {
      cwd: dir,
      env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${killer}` },
    });
    t.equal(run.signal, 'SIGKILL', 'the leader was killed before its first ticket');
    const status = await runToil(['status', 'file:./js', '--json', '--printDot'], { cwd: dir });
    const graph = (JSON.parse(status.stdout) as { graph: { id: string; name: string; state: string }[] })
      .graph;
    t.match(graph, [{ name: 'tree', state: 'ready' }], 'only the root is declared, and it is ready');
    const r = await runToil(['debug-job', 'file:./js', 'tree'], { cwd: dir });
    t.equal(r.code, 2, r.stderr);
    t.equal(
      r.stderr,
      `toil: job 'tree' (${graph[0]!.id}) in job store file:./js is ready to run but was never issued (its leader stopped before issuing it), so there is nothing to run yet; 'toil run ${TREE} file:./js --restart' runs it\n`,
    );
    const restart = await runToil(['run', TREE, 'file:./js', ...flags, '--restart'], { cwd: dir });
    t.equal(restart.code, 0, restart.stderr);
    t.equal(readFileSync(join(dir, 'o'), 'utf8'), '1\n', 'the restart ran it: the sum of 0..1');
  },
);

t.test(
  "toil debug-job of a job whose promise never settles: exit 1 saying so, not a silent exit when Node's loop empties",
  async (t) => {
    const dir = scratchDir(t);
    const misbehaves = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');
    const leader = startToil(['run', misbehaves, 'file:./js', 'job-never-settles'], { cwd: dir });
    const tickets = join(dir, 'js', 'objects', 'jobs%');
    const deadline = Date.now() + 60_000;
    while (!(existsSync(tickets) && readdirSync(tickets).length > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    leader.child.kill('SIGKILL'); // its warm worker, where the job waits, exits as the link closes
    await leader.done;
    const r = await runToil(['debug-job', 'file:./js', 'stall'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /^toil: job 'stall' \([0-9a-f-]+\) failed: Error: job 'stall' never finished: its function's promise was still pending when nothing was left that could settle it/m,
    );
    t.notMatch(r.stderr, /^\s+at /m, 'no stack of Node internals');
  },
);

t.test(
  'toil debug-job of a job that returns: exit 0, its log lines shown, its files deleted again',
  async (t) => {
    const dir = scratchDir(t);
    const run = await runToil(['run', FILES, 'file:./js', '--clean', 'never'], { cwd: dir });
    t.equal(run.code, 0, run.stderr);
    const before = snapshot(join(dir, 'js'));
    // `produce` writes four files to the job store and deletes one in its commit.
    const r = await runToil(['debug-job', 'file:./js', 'produce'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /^\S+Z info \[produce\]: produced files\/[0-9a-f/-]+$/m, 'its log line, as it logs it');
    t.match(r.stderr, /job 'produce' \([0-9a-f-]+\) returned \(not committed\)/);
    t.same(snapshot(join(dir, 'js')), before, 'no file left in the store, the commit as it was');
  },
);

t.test(
  "toil debug-job of toil-ts whose node_modules is a symlink (npm link): the stack shows only the workflow's frames",
  async (t) => {
    const dir = scratchDir(t);
    // `add` fails the run's one attempt and the debug run below.
    const run = await runFailingAdd(dir, { failTimes: 2, retryCount: 0 });
    t.equal(run.code, 1, 'the workflow failed');
    // The package as built, its dependencies reached through a symlink: Node runs them from where
    // they really are, so their frames never start with this package's node_modules/.
    const pkg = join(dir, 'toil-ts');
    cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), {
      recursive: true,
      filter: (src) => src !== join(REPO_ROOT, 'dist/test'),
    });
    cpSync(join(REPO_ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
    cpSync(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const r = spawnSync(
      process.execPath,
      ['--openssl-legacy-provider', join(pkg, 'bin/toil.js'), 'debug-job', 'file:./js', 'add'],
      { cwd: dir, encoding: 'utf8', timeout: 60_000 },
    );
    t.equal(r.status, 1, 'exit 1, the job threw');
    t.match(r.stderr, /job 'add' \([0-9a-f-]+\) failed: Error: add was told to fail/);
    const frames = r.stderr.match(/^\s+at .*$/gm) ?? [];
    t.ok(frames.length > 0, 'a stack is shown');
    t.same(
      frames.filter((f) => !/^\s+at .*workflowTree\.ts:\d+:\d+\)?$/.test(f)),
      [],
      'every frame shown is in the workflow source',
    );
  },
);

t.test(
  "toil debug-job --printJobInfo says whether the job is a checkpoint (Toil's checkpoint=True), after its requirements, whoever declared it",
  async (t) => {
    const dir = scratchDir(t);
    const run = await runToil(
      [
        'run',
        join(REPO_ROOT, 'test/fixtures/workflowCheckpoint.ts'),
        'file:./js',
        '--clean',
        'never',
        '--failingRuns',
        '0',
      ],
      { cwd: dir },
    );
    t.equal(run.code, 0, run.stderr);
    // ck: a checkpoint added by top's run; top: declared by start; good: added by ck's run.
    for (const [job, checkpoint] of [
      ['ck', 'yes'],
      ['top', 'no'],
      ['good', 'no'],
    ] as const) {
      const info = await runToil(['debug-job', 'file:./js', job, '--printJobInfo'], { cwd: dir });
      t.equal(info.code, 0, `${job}: ${info.stderr}`);
      t.match(
        info.stdout,
        new RegExp(
          `^job: +${job}\\n(.*\\n){3}requirements: [^\\n]+\\ncheckpoint: +${checkpoint}\\nran: +yes`,
        ),
        `${job}: checkpoint ${checkpoint}`,
      );
    }
  },
);
