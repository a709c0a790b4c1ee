import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir, sortedLikeCSort } from '../fixtures/workflowCli.js';

const SORT = join(REPO_ROOT, 'examples/sort.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
// Each test runs its workflows in a directory of its own, one after another, and a run keeps about
// one core busy (its leader, then each job's worker in turn): four tests at a time.
t.jobs = 4;

/**
 * A command line copied from Toil's docs runs: Toil's own options are Toil's, not the workflow's.
 * Those toil-ts acts on take effect (`--logDebug`, `--logFile`), those it has no use for are each
 * named once with the reason, and none reaches the workflow's own parser.
 */
t.test("Toil's options as its docs write them: the workflow runs, the log goes to --logFile", async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(
    [
      'run',
      SORT,
      'file:./js',
      '--numLines',
      '3000',
      ...['--logDebug', '--logFile', 'run.log', '--disableCaching', '--realTimeLogging', 'True'],
      ...['--maxLocalJobs', '2', '--retryCount', '2', '--disableProgress'],
    ],
    { cwd: dir },
  );
  t.equal(r.code, 0, r.stderr);
  t.ok(sortedLikeCSort(dir), 'sorted as LC_ALL=C sort does');
  const notices = r.stderr.split('\n').filter((l) => l.includes('has no effect here'));
  t.same(
    notices.map((l) => /^toil: (--\w+) has no effect here: .+/.exec(l)?.[1]),
    ['--disableCaching', '--realTimeLogging', '--maxLocalJobs'],
    'each ignored option named once, with its reason',
  );
  t.match(r.stderr, / DEBUG /, '--logDebug sets the level');
  const log = readFileSync(join(dir, 'run.log'), 'utf8');
  t.match(log, /^toil: workflow succeeded: \d+ jobs run/m, '--logFile holds the run, to its last line');
  t.match(log, / DEBUG /, 'at the level asked for');
  t.equal(log.trim().split('\n').length, r.stderr.trim().split('\n').length, 'the same lines as stderr');
});

t.test(
  '--mesosEndpoint without --batchSystem mesos is said to have no effect; the jobs run here',
  async (t) => {
    const dir = scratchDir(t);
    const fanout = join(REPO_ROOT, 'examples/fanout.ts');
    for (const [flag, batchSystem] of [
      ['--mesosEndpoint', []],
      ['--mesosMaster', ['--batchSystem', 'single_machine']],
    ] as const) {
      const r = await runToil(
        ['run', fanout, `file:./js${flag}`, '--jobs', '2', flag, '10.0.0.5:5050', ...batchSystem],
        { cwd: dir },
      );
      t.equal(r.code, 0, r.stderr);
      t.match(r.stderr, /^toil: workflow succeeded: 4 jobs run/m, `${flag}: the jobs ran on this machine`);
      t.same(
        r.stderr.split('\n').filter((l) => l.includes('has no effect')),
        [
          `toil: ${flag} has no effect with --batchSystem single_machine (only mesos takes it; add --batchSystem mesos to run the jobs there)`,
        ],
        `${flag}: said once`,
      );
    }
  },
);

t.test(
  'the last of --logLevel and a --log<Level> switch wins; --logOff leaves only critical lines',
  async (t) => {
    const dir = scratchDir(t);
    const quiet = await runToil(['run', SORT, 'file:./q', '--numLines', '100', '--logOff'], { cwd: dir });
    t.equal(quiet.code, 0, quiet.stderr);
    t.notMatch(quiet.stderr, / (INFO|DEBUG|WARNING) /, 'no log lines below critical');
    t.match(quiet.stderr, /^toil: workflow succeeded/m, 'the outcome is still printed');
    const both = await runToil(
      ['run', SORT, 'file:./b', '--numLines', '100', '--logDebug', '--logLevel', 'warning'],
      {
        cwd: dir,
      },
    );
    t.equal(both.code, 0, both.stderr);
    t.notMatch(both.stderr, / (INFO|DEBUG) /, '--logLevel warning, given last, wins');
    const switchLast = await runToil(
      ['run', SORT, 'file:./s', '--numLines', '100', '--logLevel=warning', '--logDebug'],
      { cwd: dir },
    );
    t.equal(switchLast.code, 0, switchLast.stderr);
    t.match(switchLast.stderr, / DEBUG /, '--logDebug, given last, wins');
  },
);

/**
 * Toil's --logLevel takes each level in lower case, upper case and capitalised (`Debug`, as its
 * `--logDebug` help names it), on the command line and in its config file alike.
 */
t.test(
  '--logLevel as Toil spells it: Debug, DEBUG, debug; and logLevel: Warning in a config file',
  async (t) => {
    const dir = scratchDir(t);
    for (const [i, level] of ['Debug', 'DEBUG', 'debug'].entries()) {
      const r = await runToil(['run', SORT, `file:./d${i}`, '--numLines', '100', `--logLevel=${level}`], {
        cwd: dir,
      });
      t.equal(r.code, 0, `--logLevel=${level}: ${r.stderr}`);
      t.match(r.stderr, / DEBUG /, `--logLevel=${level} logs at debug`);
    }
    writeFileSync(join(dir, 'warn.yaml'), 'logLevel: Warning\n');
    const file = await runToil(['run', SORT, 'file:./w', '--numLines', '100', '--config', 'warn.yaml'], {
      cwd: dir,
    });
    t.equal(file.code, 0, file.stderr);
    t.notMatch(file.stderr, / (INFO|DEBUG) /, 'logLevel: Warning from the file');
    const typo = await runToil(['run', SORT, 'file:./t', '--logLevel', 'Loud'], { cwd: dir });
    t.equal(typo.code, 2, 'a level that is none is still refused');
    t.equal(
      typo.stderr,
      'toil run: --logLevel Loud: expected one of critical, error, warning, warn, info, debug, trace, off, silent (in lower case, Capitalised or UPPER CASE)\n',
      'in one line naming the value and the levels',
    );
    t.notOk(existsSync(join(dir, 't')), 'and no job store is made');
  },
);

t.test("--stats keeps the job store, and `toil stats` reports each job name's runs", async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(['run', SORT, 'file:./js', '--numLines', '20000', '--N', '50000', '--stats'], {
    cwd: dir,
  });
  t.equal(r.code, 0, r.stderr);
  t.ok(existsSync(join(dir, 'js')), 'the job store is kept (as --clean never)');
  const raw = await runToil(['stats', 'file:./js', '--raw'], { cwd: dir });
  t.equal(raw.code, 0, raw.stderr);
  t.notMatch(raw.stdout, /\d\.\d{7,}/, 'no float noise (six decimals at most)');
  const s = JSON.parse(raw.stdout) as {
    jobs: number;
    byName: {
      name: string;
      count: number;
      time: { total: number };
      clock?: { total: number };
      memory?: { max: number };
    }[];
  };
  const counts = Object.fromEntries(s.byName.map((n) => [n.name, n.count]));
  t.ok(counts['down']! >= 7 && counts['up']! >= 3, `down and up jobs counted: ${JSON.stringify(counts)}`);
  t.equal(
    s.byName.reduce((sum, n) => sum + n.count, 0),
    s.jobs,
    'every job that ran is under its name',
  );
  for (const n of s.byName) {
    t.ok(n.time.total > 0, `${n.name}: wall time recorded`);
    t.ok(n.clock !== undefined && n.clock.total > 0, `${n.name}: CPU time recorded`);
    t.ok(n.memory !== undefined && n.memory.max > 10 * 2 ** 20, `${n.name}: peak memory recorded`);
  }
  const table = await runToil(['stats', 'file:./js', '--sortCategory', 'alpha'], { cwd: dir });
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, new RegExp(`^jobs: +${s.jobs} run, `, 'm'));
  const rows = table.stdout.split('\n').filter((l) => /^(down|up|setup|sort|finish)\b/.test(l));
  t.same(
    rows.map((l) => l.split(/\s+/)[0]),
    [...rows.map((l) => l.split(/\s+/)[0])].sort(),
    '--sortCategory alpha orders the names',
  );
  const bad = await runToil(['stats', 'file:./js', '--sortCategory', 'size'], { cwd: dir });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^toil: --sortCategory size: expected one of time, clock, memory, alpha, count$/m);
  const gone = await runToil(['stats', 'file:./absent'], { cwd: dir });
  t.equal(gone.code, 2);
  t.match(gone.stderr, /job store file:\.\/absent does not exist/);
});

// Jobs written for an 8-core machine; each says how many of its siblings ran beside it.
const EIGHT_CORE_WORKFLOW = `
import { defineJob, defineWorkflow } from 'toil-ts';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
const big = defineJob<number, number>('big', { cores: 8, memory: '32Mi', disk: '1Mi' }, async (job, i) => {
  mkdirSync('running', { recursive: true });
  writeFileSync('running/' + i, '');
  let most = 0;
  for (let k = 0; k < 20; k++) {
    most = Math.max(most, readdirSync('running').length);
    await new Promise((r) => setTimeout(r, 50));
  }
  rmSync('running/' + i);
  return most;
});
const collect = defineJob<number[], number[]>('collect', { cores: 0.1, memory: '32Mi', disk: '1Mi' }, (_j, xs) => xs);
const root = defineJob<null, number[]>('root', { cores: 0.1, memory: '32Mi', disk: '1Mi' }, (job) =>
  job.addFollowOn(collect, [0, 1, 2, 3].map((i) => job.addChild(big, i).rv())).rv());
export default defineWorkflow<number[]>({
  start(ctx) { return ctx.root(root, null); },
  finish(_ctx, most) { writeFileSync('most.json', JSON.stringify(most)); },
});
`;

t.test(
  "--scale as Toil's single machine: 8-core jobs run on 2 cores at 0.25, one at a time at 0.25, refused without it",
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'wf.ts'), EIGHT_CORE_WORKFLOW);
    const refused = await runToil(['run', 'wf.ts', 'file:./none', '--maxCores', '2', '--disableProgress'], {
      cwd: dir,
    });
    t.equal(refused.code, 2, refused.stderr);
    t.match(refused.stderr, /job 'big' asks for 8 cores, more than --maxCores allows \(2\);/);
    for (const [scale, together] of [
      ['0.25', 1],
      ['0.125', 2],
    ] as const) {
      const r = await runToil(
        ['run', 'wf.ts', `file:./js-${scale}`, '--maxCores', '2', '--scale', scale, '--disableProgress'],
        { cwd: dir },
      );
      t.equal(r.code, 0, r.stderr);
      const most = Math.max(...(JSON.parse(readFileSync(join(dir, 'most.json'), 'utf8')) as number[]));
      t.equal(most, together, `--scale ${scale}: at most ${together} of the 8-core jobs at once on 2 cores`);
    }
    const bad = await runToil(['run', 'wf.ts', 'file:./bad', '--scale', '0'], { cwd: dir });
    t.equal(bad.code, 2);
    t.match(bad.stderr, /^toil: --scale 0: expected a number > 0/m);
  },
);

t.test(
  "Toil's config file: `toil config FILE`, uncomment, `toil run --config=FILE`; the command line wins, $HOME/.toil/default.yaml fills in",
  async (t) => {
    const dir = scratchDir(t);
    const env = { HOME: dir };
    const made = await runToil(['config', 'my.yaml'], { cwd: dir, env });
    t.equal(made.code, 0, made.stderr);
    const template = readFileSync(join(dir, 'my.yaml'), 'utf8');
    writeFileSync(
      join(dir, 'my.yaml'),
      template.replace(/^#stats: false$/m, 'stats: true').replace(/^#logLevel:$/m, 'logLevel: warning'),
    );
    const r = await runToil(['run', SORT, 'file:./js', '--numLines', '500', '--config=my.yaml'], {
      cwd: dir,
      env,
    });
    t.equal(r.code, 0, r.stderr);
    t.notMatch(r.stderr, / INFO /, 'logLevel: warning from the file');
    t.ok(existsSync(join(dir, 'js')), 'stats: true from the file keeps the job store');

    const cli = await runToil(
      ['run', SORT, 'file:./js2', '--numLines', '500', '--config', 'my.yaml', '--logLevel', 'info'],
      { cwd: dir, env },
    );
    t.equal(cli.code, 0, cli.stderr);
    t.match(cli.stderr, / INFO run: starting workflow/, 'the command line wins over the file');

    mkdirSync(join(dir, '.toil'));
    writeFileSync(join(dir, '.toil/default.yaml'), 'config_version: 1.0\nclean: never\njobStore: x\n');
    const fallback = await runToil(['run', SORT, 'file:./js3', '--numLines', '500'], { cwd: dir, env });
    t.equal(fallback.code, 0, fallback.stderr);
    t.match(fallback.stderr, /\.toil\/default\.yaml: jobStore is no toil run option; it is ignored/);
    t.ok(existsSync(join(dir, 'js3')), 'clean: never from default.yaml keeps the job store');

    const typo = await runToil(['run', SORT, 'file:./js4', '--config', 'bad.yaml'], { cwd: dir, env });
    t.equal(typo.code, 2);
    t.match(typo.stderr, /^toil: --config bad\.yaml: cannot read it \(ENOENT\)/m);
    writeFileSync(join(dir, 'bad.yaml'), 'retryCuont: 3\n');
    const bad = await runToil(['run', SORT, 'file:./js5', '--config', 'bad.yaml'], { cwd: dir, env });
    t.equal(bad.code, 2);
    t.match(
      bad.stderr,
      /^toil: bad\.yaml: retryCuont is not a toil run option \(did you mean retryCount\?\)/m,
    );
    t.notOk(existsSync(join(dir, 'js5')), 'nothing made');
  },
);

t.test('a run refused once it started says why in --logFile too, as on stderr', async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(
    ['run', SORT, 'file:./js', '--numLines', '200', '--logFile', 'run.log', '--maxMemory', '500M'],
    { cwd: dir },
  );
  t.equal(r.code, 2, r.stderr);
  const reason = /^toil: job 'setup' asks for .* more than --maxMemory allows .*$/m.exec(r.stderr)?.[0];
  t.ok(reason, 'stderr says why');
  const log = readFileSync(join(dir, 'run.log'), 'utf8');
  t.equal(log.trim().split('\n').at(-1), reason, '--logFile ends with the same reason');
  t.equal(log.trim().split('\n').length, r.stderr.trim().split('\n').length, 'the same lines as stderr');
});
