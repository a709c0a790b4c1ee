import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import t from 'tap';
import { workDirOf } from '../../src/main/env.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = repoPath('test/fixtures/workflowScratch.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/** The scratch directories the jobs of one run reported, by job name. */
function scratchOfJobs(log: string): Map<string, string> {
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  return new Map(lines.map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
}

/** Toil's --workDir and TOIL_WORKDIR: where jobs write their temporary files. */
t.test(
  "jobs' scratch space is under --workDir, TOIL_WORKDIR, or TOIL_WORKDIR_OVERRIDE, and nothing is left there after the run",
  async (t) => {
    const dir = scratchDir(t);
    const cases: { name: string; flags: string[]; env: Record<string, string>; expected: string }[] = [
      { name: '--workDir, warm workers', flags: ['--workDir', 'wd-flag'], env: {}, expected: 'wd-flag' },
      {
        name: '--workDir, a fresh worker per job',
        flags: ['--workDir', 'wd-fresh', '--freshWorkers'],
        env: {},
        expected: 'wd-fresh',
      },
      {
        name: '--workDir, a job with --setEnv (its own worker)',
        flags: ['--workDir', 'wd-setenv', '--setEnv', 'X=1'],
        env: {},
        expected: 'wd-setenv',
      },
      { name: 'TOIL_WORKDIR', flags: [], env: { TOIL_WORKDIR: join(dir, 'wd-env') }, expected: 'wd-env' },
      {
        name: '--workDir wins over TOIL_WORKDIR',
        flags: ['--workDir', 'wd-both'],
        env: { TOIL_WORKDIR: join(dir, 'wd-not-this') },
        expected: 'wd-both',
      },
      {
        name: 'TOIL_WORKDIR_OVERRIDE wins over --workDir',
        flags: ['--workDir', 'wd-overridden'],
        env: { TOIL_WORKDIR_OVERRIDE: join(dir, 'wd-override') },
        expected: 'wd-override',
      },
    ];
    // As in Toil, the work directory must exist (one that does not is refused: see below).
    for (const c of cases) mkdirSync(join(dir, c.expected));
    for (const [i, c] of cases.entries()) {
      const log = join(dir, `scratch-${i}.log`);
      const r = await runToil(['run', WORKFLOW, `file:./js${i}`, log, ...c.flags], {
        cwd: dir,
        env: c.env,
      });
      t.equal(r.code, 0, `${c.name}: ${r.stderr}`);
      const seen = scratchOfJobs(log);
      t.same([...seen.keys()].sort(), ['leaf', 'root'], c.name);
      for (const [job, scratch] of seen)
        t.ok(scratch.startsWith(join(dir, c.expected) + sep), `${c.name}: job ${job}'s scratch ${scratch}`);
      // As a Toil run removes its workflow's directory there: no scratch, and no module copy.
      t.same(readdirSync(join(dir, c.expected)), [], `${c.name}: nothing of the run is left there`);
    }
  },
);

t.test(
  'a work directory that cannot be used: one line naming it and where it came from, exit 2, nothing made',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'a-file'), 'not a directory');
    const cases: { flags: string[]; env: Record<string, string>; message: RegExp }[] = [
      // Toil refuses a --workDir that does not exist; making it hid a mistyped path.
      {
        flags: ['--workDir', 'missing/wd'],
        env: {},
        message:
          /^toil: work directory \S+\/missing\/wd \(--workDir\): it does not exist \(expected an existing directory: make it first\)$/,
      },
      {
        flags: [],
        env: { TOIL_WORKDIR_OVERRIDE: join(dir, 'missing') },
        message: /^toil: work directory \S+\/missing \(TOIL_WORKDIR_OVERRIDE\): it does not exist/,
      },
      {
        flags: ['--workDir', 'a-file/wd'],
        env: {},
        message: /^toil: work directory \S+\/a-file\/wd \(--workDir\): it is not a directory$/,
      },
      {
        flags: [],
        env: { TOIL_WORKDIR: join(dir, 'a-file') },
        message: /^toil: work directory \S+\/a-file \(TOIL_WORKDIR\): it is not a directory$/,
      },
    ];
    for (const c of cases) {
      const r = await runToil(['run', WORKFLOW, 'file:./js', join(dir, 'x.log'), ...c.flags], {
        cwd: dir,
        env: c.env,
      });
      t.equal(r.code, 2, r.stderr);
      t.match(r.stderr.trim(), c.message);
      t.equal(r.stderr.trim().split('\n').length, 1, 'in one line, no stack');
      t.notOk(existsSync(join(dir, 'js')), 'no job store left behind');
      t.notOk(existsSync(join(dir, 'missing')), 'no work directory made');
    }
  },
);

t.test(
  'workDirOf: TOIL_WORKDIR_OVERRIDE, then the flag, then TOIL_WORKDIR, then the OS temp dir',
  async (t) => {
    t.equal(workDirOf('/a', { TOIL_WORKDIR: '/b', TOIL_WORKDIR_OVERRIDE: '/c' }), '/c');
    t.equal(workDirOf('/a', { TOIL_WORKDIR: '/b' }), '/a');
    t.equal(workDirOf(undefined, { TOIL_WORKDIR: '/b' }), '/b');
    t.equal(workDirOf(undefined, { TOIL_WORKDIR: '' }), workDirOf(undefined, {}));
    t.equal(workDirOf('rel', {}), join(process.cwd(), 'rel'), 'a relative directory is made absolute');
  },
);
