import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const FANOUT = join(REPO_ROOT, 'examples/fanout.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

const OVERRIDDEN =
  /^toil: --clean (\w+)(?: \(set in ([^)]+)\))? contradicts --stats, which needs the job store intact at the end of the run for 'toil stats': the job store is kept, as with --clean never$/;

/** The lines of `text` saying --stats overrides --clean, each as [clean, where it was set]. */
function overrides(text: string): (string | undefined)[][] {
  return text.split('\n').flatMap((l) => {
    const m = OVERRIDDEN.exec(l);
    return m ? [[m[1], m[2]]] : [];
  });
}

/**
 * Toil (Config.setOptions) warns of --stats beside a --clean that would delete the job store, and
 * keeps the store: "Contradicting options passed: Clean flag is set to always despite the stats
 * flag requiring the jobStore to be intact at the end of the run. Setting clean to 'never'."
 * toil-ts kept the store in silence, so the user who asked for it to go was never told.
 */
t.test('--stats with a --clean that deletes the store is said once, before the run starts', async (t) => {
  const dir = scratchDir(t);
  for (const clean of ['always', 'onSuccess', 'onError']) {
    const store = `js-${clean}`;
    const log = join(dir, `${clean}.log`);
    const r = await runToil(
      ['run', FANOUT, `file:./${store}`, '--jobs', '1', '--stats', '--clean', clean, '--logFile', log],
      { cwd: dir, env: { HOME: dir } },
    );
    t.equal(r.code, 0, r.stderr);
    t.same(overrides(r.stderr), [[clean, undefined]], `--clean ${clean}: said once`);
    const lines = r.stderr.split('\n');
    t.ok(
      lines.findIndex((l) => OVERRIDDEN.test(l)) < lines.findIndex((l) => / starting workflow /.test(l)),
      `--clean ${clean}: before the run starts`,
    );
    t.same(overrides(readFileSync(log, 'utf8')), [[clean, undefined]], `--clean ${clean}: in --logFile too`);
    t.ok(existsSync(join(dir, store)), `--clean ${clean}: the job store is kept`);
  }

  writeFileSync(join(dir, 'c.yaml'), 'clean: always\n');
  const file = await runToil(
    ['run', FANOUT, 'file:./js-file', '--jobs', '1', '--stats', '--config', 'c.yaml'],
    {
      cwd: dir,
      env: { HOME: dir },
    },
  );
  t.equal(file.code, 0, file.stderr);
  t.same(
    overrides(file.stderr),
    [['always', 'c.yaml: clean']],
    "a config file's --clean is named with its file",
  );
  t.ok(existsSync(join(dir, 'js-file')), 'and the job store is kept');
});

t.test(
  "--stats alone, with --clean never, or under Toil's own default.yaml says nothing of --clean",
  async (t) => {
    const dir = scratchDir(t);
    const home = join(dir, 'home');
    // Toil's `toil config` writes `clean: onSuccess`, its default: no request of this run.
    mkdirSync(join(home, '.toil'), { recursive: true });
    copyFileSync(
      join(REPO_ROOT, 'test/fixtures/toilDefaultConfig.yaml'),
      join(home, '.toil', 'default.yaml'),
    );
    for (const [name, extra, env] of [
      ['alone', [], { HOME: dir }],
      ['never', ['--clean', 'never'], { HOME: dir }],
      ['toil-default', [], { HOME: home }],
    ] as const) {
      const r = await runToil(['run', FANOUT, `file:./js-${name}`, '--jobs', '1', '--stats', ...extra], {
        cwd: dir,
        env,
      });
      t.equal(r.code, 0, r.stderr);
      t.same(overrides(r.stderr), [], `${name}: nothing said`);
      t.ok(existsSync(join(dir, `js-${name}`)), `${name}: the job store is kept`);
    }
  },
);

/**
 * A job store locator that names no store is the user's one mistake: the warning of --stats over
 * --clean came first, for a run that could never start, and the refusal second.
 */
t.test(
  'a bad job store locator beside --stats --clean always is refused in one line, no warning first',
  async (t) => {
    const dir = scratchDir(t);
    for (const [locator, expected] of [
      [
        'aws:bad',
        "toil: invalid job store locator 'aws:bad': expected aws:REGION:NAME, e.g. aws:us-west-2:my-store",
      ],
      [
        'gs:x',
        "toil: invalid job store locator 'gs:x': unknown scheme 'gs' (expected file:PATH or aws:REGION:NAME)",
      ],
    ] as const) {
      for (const leader of [[], ['--leader', 'http://127.0.0.1:9']]) {
        const r = await runToil(['run', FANOUT, locator, '--stats', '--clean', 'always', ...leader], {
          cwd: dir,
          env: { HOME: dir },
        });
        const how = `${locator}${leader.length > 0 ? ' with --leader' : ''}`;
        t.equal(r.code, 2, `${how}: exit 2`);
        t.same(r.stderr.trim().split('\n'), [expected], `${how}: the refusal alone`);
      }
    }
  },
);
