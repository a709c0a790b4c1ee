import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import t from 'tap';
import { command as runCommand, parseJobLimits } from '../../src/cli/run.js';
import { applyConfigValues, readConfigFile, writeConfigTemplate } from '../../src/cli/runConfigFile.js';
import { logLevelOf } from '../../src/cli/toilRunOptions.js';
import type { UserInputError } from '../../src/common/errors.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/** A fresh `toil run` command, its options parsed from `argv` as the command line gives them. */
function runWith(argv: string[]): Command {
  const program = new Command();
  runCommand.register(program, () => undefined);
  const run = program.commands.find((c) => c.name() === 'run')!;
  run.parseOptions(argv);
  return run;
}

t.test(
  "a config file's values fill in what the command line left out, as Toil's --config does",
  async (t) => {
    const run = runWith(['wf.ts', 'file:js', '--retryCount', '5']);
    applyConfigValues(
      run,
      {
        config_version: 1.0,
        retryCount: 0,
        defaultMemory: '80Gi',
        stats: true,
        freshWorkers: false,
        setEnv: ['A=1', 'B=2'],
        logLevel: 'warning',
        maxCores: null,
      },
      'c.yaml',
      true,
      {},
    );
    const o = run.opts();
    t.equal(o.retryCount, '5', 'the command line wins');
    t.equal(o.defaultMemory, '80Gi', 'over the built-in default');
    t.equal(o.stats, true, 'a switch set true');
    t.equal(o.freshWorkers, undefined, 'a switch set false stays off');
    t.same(o.setEnv, ['A=1', 'B=2'], 'a repeatable option from a list');
    t.equal(o.logLevel, 'warning');
    t.equal(o.maxCores, undefined, 'a key with no value is the default');
    t.equal(run.getOptionValueSource('defaultMemory'), 'config');

    const second = runWith(['wf.ts', 'file:js']);
    applyConfigValues(second, { defaultMemory: '8Gi' }, 'given.yaml', true, {});
    applyConfigValues(second, { defaultMemory: '1Gi', defaultDisk: '9Gi' }, 'default.yaml', false, {});
    t.equal(second.opts().defaultMemory, '8Gi', 'the file --config names wins over default.yaml');
    t.equal(second.opts().defaultDisk, '9Gi', 'default.yaml fills in the rest');

    const env = runWith(['wf.ts', 'file:js']);
    applyConfigValues(env, { workDir: '/from/file' }, 'c.yaml', true, { TOIL_WORKDIR: '/from/env' });
    t.equal(env.opts().workDir, undefined, 'TOIL_WORKDIR wins over the file, as Toil orders them');
  },
);

t.test('a bad config file is one clear error naming the file, the key and what was expected', async (t) => {
  const rows: [what: string, values: Record<string, unknown>, message: RegExp][] = [
    [
      'a misspelled option',
      { retryCuont: 2 },
      /^c\.yaml: retryCuont is not a toil run option \(did you mean retryCount\?\)/,
    ],
    ['a list for one value', { retryCount: [1, 2] }, /^c\.yaml: retryCount: expected one value, not a list$/],
    ['a mapping', { clean: { when: 'always' } }, /^c\.yaml: clean: expected a value, not a mapping$/],
    [
      'a number YAML reads as infinity (1e400)',
      { retryCount: Infinity },
      /^c\.yaml: retryCount: got a number out of range \(read as Infinity\); expected a finite number$/,
    ],
    [
      '-.inf',
      { defaultCores: -Infinity },
      /^c\.yaml: defaultCores: got a number out of range \(read as -Infinity\); expected a finite number$/,
    ],
    [
      'a switch that is not a boolean',
      { stats: 'often' },
      /^c\.yaml: stats: expected true or false, not often$/,
    ],
    ['a level that is none', { logLevel: 'loud' }, /^c\.yaml: logLevel: loud: expected one of critical, /],
    [
      "the job store, which is the command line's argument",
      { jobstore: 'file:./js' },
      /^c\.yaml: jobstore: "file:\.\/js": the job store is toil run's argument \(toil run WORKFLOW JOBSTORE\), which a config file does not set \(Toil writes this key empty\); give it on the command line$/,
    ],
  ];
  for (const [what, values, message] of rows) {
    const err = t.throws(
      () => applyConfigValues(runWith(['wf.ts', 'js']), values, 'c.yaml', true, {}),
      what,
    ) as UserInputError;
    t.equal(err.code, 'CONFIG_INVALID', what);
    t.match(err.message, message, what);
  }
  t.same(
    applyConfigValues(runWith(['wf.ts', 'js']), { jobStore: 'x', retryCount: 2 }, 'default.yaml', false, {}),
    ['jobStore'],
    'not strict (default.yaml): an unknown key is returned for a notice',
  );
  const dir = mkdtempSync(join(tmpdir(), 'toil-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bad.yaml'), 'retryCount: [1,\n');
  t.throws(() => readConfigFile(join(dir, 'bad.yaml')), {
    code: 'CONFIG_UNREADABLE',
    message: /bad\.yaml: not valid YAML/,
  });
  writeFileSync(join(dir, 'twice.yaml'), 'retryCount: 1\nstats: true\nretryCount: 3\n');
  t.throws(() => readConfigFile(join(dir, 'twice.yaml')), {
    code: 'CONFIG_UNREADABLE',
    message:
      /twice\.yaml: not valid YAML: Map keys must be unique at line 3, column 1 \(the line reads 'retryCount: 3'\)$/,
  });
  writeFileSync(join(dir, 'list.yaml'), '- retryCount\n');
  t.throws(() => readConfigFile(join(dir, 'list.yaml')), {
    code: 'CONFIG_INVALID',
    message: /expected a mapping of toil run options/,
  });
  t.throws(() => readConfigFile(join(dir, 'none.yaml')), {
    code: 'CONFIG_UNREADABLE',
    message: /--config .*none\.yaml: cannot read it \(ENOENT\)/,
  });
  t.equal(readConfigFile(join(dir, 'none.yaml'), true), undefined, 'an absent default.yaml is no error');
});

t.test(
  'toil config FILE writes every option commented out with its default; uncommented, it changes nothing',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'toil-config-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'default.yaml');
    const count = writeConfigTemplate(runWith([]), path);
    const text = readFileSync(path, 'utf8');
    t.ok(count > 40, `${count} options`);
    t.match(text, /^config_version: 1\.0$/m);
    t.match(text, /^#retryCount: 1$/m);
    t.match(text, /^#clean: onSuccess$/m);
    t.match(text, /^#stats: false$/m);
    const uncommented = text.replace(/^#([A-Za-z])/gm, '$1');
    writeFileSync(path, uncommented);
    const plain = runWith(['wf.ts', 'js']);
    const configured = runWith(['wf.ts', 'js']);
    applyConfigValues(configured, readConfigFile(path)!, path, true, {});
    t.same(configured.opts(), plain.opts(), 'the defaults, as written, are the defaults');
  },
);

t.test(
  'a value of the --config file that its option refuses names the file and key, not only the flag it stands for',
  async (t) => {
    const dir = testDir(t, {
      'my.yaml': 'config_version: 1.0\nretryCount: lots\n',
      'size.yaml': 'defaultMemory: 2Gx\n',
    });
    const sort = join(REPO_ROOT, 'examples/sort.ts');
    const bad = await runToil(['run', '--config', 'my.yaml', sort, 'file:js'], {
      cwd: dir,
      env: { HOME: dir },
    });
    t.equal(bad.code, 2, 'exit 2: bad input');
    t.equal(
      bad.stderr.trim(),
      'toil: --retryCount lots: expected a whole number >= 0 (set in my.yaml: retryCount)',
      'one line naming the file and the key',
    );
    const size = await runToil(['run', `--config=${join(dir, 'size.yaml')}`, sort, 'file:js'], {
      cwd: dir,
      env: { HOME: dir },
    });
    t.equal(size.code, 2);
    t.match(size.stderr, /^toil: --defaultMemory 2Gx: .*\(set in .*size\.yaml: defaultMemory\)\n$/);
    const typed = await runToil(['run', sort, 'file:js', '--retryCount', 'lots'], {
      cwd: dir,
      env: { HOME: dir },
    });
    t.equal(
      typed.stderr.trim(),
      'toil: --retryCount lots: expected a whole number >= 0',
      'typed: the flag alone',
    );
    t.notOk(existsSync(join(dir, 'js')), 'no job store made');
  },
);

t.test(
  'several refused values, some from the --config file: each line names the file and key of its own, under a plural heading',
  async (t) => {
    const dir = testDir(t, { 'scale.yaml': 'betaInertia: 5\npreemptibleCompensation: 2\n' });
    const sort = join(REPO_ROOT, 'examples/sort.ts');
    const bad = await runToil(
      ['run', '--config', 'scale.yaml', sort, 'file:js', '--nodeTypes', 't2.medium', '--targetTime', 'abc'],
      { cwd: dir, env: { HOME: dir } },
    );
    t.equal(bad.code, 2, 'exit 2: bad input');
    t.equal(
      bad.stderr.trim(),
      [
        'toil: these options are invalid:',
        '  - --targetTime abc: expected a duration like "30s", "5m" or "1h", got "abc"',
        '  - --betaInertia 5: expected a number from 0 to 0.9 (set in scale.yaml: betaInertia)',
        '  - --preemptibleCompensation 2: expected a number from 0 to 1 (set in scale.yaml: preemptibleCompensation)',
      ].join('\n'),
    );
    t.notOk(existsSync(join(dir, 'js')), 'no job store made');
  },
);

t.test(
  "Toil's setEnv mapping in a config file (setEnv: {NAME: VALUE}) sets each job's environment",
  async (t) => {
    const run = runWith(['wf.ts', 'file:js']);
    applyConfigValues(run, { setEnv: { A: 1, B: 'two', FROM_SHELL: null } }, 'c.yaml', true, {});
    t.same(
      run.opts().setEnv,
      ['A=1', 'B=two', 'FROM_SHELL'],
      'NAME=VALUE entries; a null value: the shell’s',
    );
    const empty = runWith(['wf.ts', 'file:js']);
    applyConfigValues(empty, { setEnv: {} }, 'c.yaml', true, {});
    t.same(empty.opts().setEnv, [], "Toil's default, setEnv: {}, sets nothing");
    t.throws(
      () => applyConfigValues(runWith(['wf.ts', 'js']), { setEnv: { A: { b: 1 } } }, 'c.yaml', true, {}),
      {
        code: 'CONFIG_INVALID',
        message: 'c.yaml: setEnv: A: expected a value for the variable, not a mapping',
      },
    );

    const dir = testDir(t, {
      'env.yaml': 'config_version: 1.0\nsetEnv: {GREETING: hello, FROM_SHELL: null}\n',
      'wf.ts': [
        "import { defineJob, defineWorkflow } from 'toil-ts';",
        "const show = defineJob<number, string>('show', { memory: '64Mi', disk: '1Mi' },",
        '  () => `${process.env.GREETING}/${process.env.FROM_SHELL}`);',
        'export default defineWorkflow<string>({',
        '  start: (ctx) => ctx.root(show, 1),',
        '  finish: (ctx, seen) => ctx.log.info(`the job saw ${seen}`),',
        '});',
      ].join('\n'),
    });
    const r = await runToil(['run', '--config', 'env.yaml', 'wf.ts', 'file:js'], {
      cwd: dir,
      env: { HOME: dir, FROM_SHELL: 'shell' },
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /the job saw hello\/shell/, "the job's environment has both");
  },
);

t.test(
  "Toil's sys.maxsize for maxCores, maxMemory and maxDisk (what its toil config writes) is no limit, and read as written",
  async (t) => {
    const dir = testDir(t, {
      'max.yaml': [
        'config_version: 1.0',
        'maxCores: 9223372036854775807',
        'maxMemory: 9223372036854775807',
        'maxDisk: 9223372036854775807',
        'maxJobs: 9223372036854775807',
        '',
      ].join('\n'),
    });
    const values = readConfigFile(join(dir, 'max.yaml'))!;
    const run = runWith(['wf.ts', 'file:js']);
    applyConfigValues(run, values, 'max.yaml', true, {});
    t.equal(run.opts().maxCores, '9223372036854775807', 'the digits as written, not 9223372036854776000');
    t.same(parseJobLimits(run.opts()), {}, 'no cap on cores, memory or disk');

    const r = await runToil(
      ['run', '--config', 'max.yaml', join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts'), 'file:js'],
      { cwd: dir, env: { HOME: dir } },
    );
    t.equal(r.code, 0, r.stderr);
    t.notMatch(
      r.stderr,
      /--max(Cores|Memory|Disk)|9223372036854776000|single_machine uses/,
      'nothing said of a cap',
    );
    t.match(r.stderr, /workflow succeeded/);
  },
);

t.test(
  "Toil's own config file, every option at the default its toil config writes, runs without a line about an option",
  async (t) => {
    const dir = testDir(t, {});
    const r = await runToil(
      [
        ...['run', '--config', join(REPO_ROOT, 'test/fixtures/toilDefaultConfig.yaml')],
        ...[join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts'), 'file:js'],
      ],
      { cwd: dir, env: { HOME: dir } },
    );
    t.equal(r.code, 0, r.stderr);
    t.same(
      r.stderr.split('\n').filter((l) => l.startsWith('toil: ')),
      [r.stderr.match(/^toil: workflow succeeded: .*$/m)?.[0]],
      'the only toil: line is the result',
    );
    t.notMatch(r.stderr, /has no effect|coalesceStatusCalls|--max(Cores|Memory|Disk)/);

    // Another value than Toil's default is applied, and its note printed, as from the command line.
    const run = runWith(['wf.ts', 'file:js']);
    applyConfigValues(
      run,
      { coalesceStatusCalls: true, logColors: false, logTrace: 'INFO' },
      'c.yaml',
      true,
      {},
    );
    t.equal(run.opts().coalesceStatusCalls, undefined, "Toil's default: not set");
    t.equal(run.opts().logTrace, undefined, "Toil's --logTrace written with the level's default: not set");
    t.equal(run.opts().logColors, 'false', 'another value: set');
  },
);

t.test("the last --logLevel or --log<Level> switch typed wins, over a config file's level", async (t) => {
  const rows: { name: string; argv: string[]; file: Record<string, unknown>; want: string }[] = [
    { name: 'the file alone', argv: [], file: { logLevel: 'INFO' }, want: 'INFO' },
    {
      name: '--logCritical over the file',
      argv: ['--logCritical'],
      file: { logLevel: 'INFO' },
      want: 'critical',
    },
    { name: '--logOff over the file', argv: ['--logOff'], file: { logLevel: 'DEBUG' }, want: 'critical' },
    {
      name: '--logDebug over the file',
      argv: ['--logDebug'],
      file: { logLevel: 'WARNING' },
      want: 'debug',
    },
    {
      name: '--logLevel over the file',
      argv: ['--logLevel', 'error'],
      file: { logLevel: 'INFO' },
      want: 'error',
    },
    { name: 'a switch the file sets', argv: [], file: { logDebug: true }, want: 'debug' },
    {
      name: 'a typed switch over the file’s switch',
      argv: ['--logError'],
      file: { logDebug: true },
      want: 'error',
    },
    {
      name: '--logLevel, then a switch: the switch',
      argv: ['--logLevel=INFO', '--logDebug'],
      file: {},
      want: 'debug',
    },
    {
      name: 'a switch, then --logLevel: --logLevel',
      argv: ['--logDebug', '--logLevel=INFO'],
      file: {},
      want: 'INFO',
    },
    {
      name: '--logLevel, then a switch, over the file',
      argv: ['--logLevel', 'error', '--logOff'],
      file: { logLevel: 'DEBUG' },
      want: 'critical',
    },
    {
      name: '--logLevel typed over the file’s switch',
      argv: ['--logLevel', 'error'],
      file: { logDebug: true },
      want: 'error',
    },
    {
      name: 'switches and --logLevel mixed: the last',
      argv: ['--logWarning', '--logLevel', 'debug', '--logError'],
      file: {},
      want: 'error',
    },
    {
      name: 'a switch after the workflow’s own -- is the workflow’s',
      argv: ['--logLevel', 'warning', '--', '--logDebug'],
      file: {},
      want: 'warning',
    },
  ];
  for (const row of rows) {
    const argv = ['wf.ts', 'file:js', ...row.argv];
    const run = runWith(argv);
    applyConfigValues(run, row.file, 'c.yaml', true, {});
    t.equal(logLevelOf(run.opts()), row.want, row.name);
  }

  // Toil's own file writes logLevel: INFO; the switch typed with it is obeyed end to end.
  const dir = testDir(t, {});
  const r = await runToil(
    [
      ...['run', '--config', join(REPO_ROOT, 'test/fixtures/toilDefaultConfig.yaml'), '--logCritical'],
      ...[join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts'), 'file:js'],
    ],
    { cwd: dir, env: { HOME: dir } },
  );
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, / INFO /, 'no INFO line under --logCritical');
  t.match(r.stderr, /workflow succeeded/);
});

t.test('toil config DIR is refused naming the path, and leaves no partial file beside it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = join(dir, 'adir');
  mkdirSync(target);
  t.throws(() => writeConfigTemplate(runWith([]), target), {
    code: 'BAD_FLAG',
    message: new RegExp(`^toil config ${target}: cannot write it \\(`),
  });
  t.same(readdirSync(dir), ['adir'], 'nothing left but the directory');
});
