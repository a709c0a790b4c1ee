import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const PLAIN = join(REPO_ROOT, 'test/fixtures/workflowDeclaresNothing.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

t.test(
  'notices said before --logFile opens (a default config file key, a look-alike flag) start the log file, in order',
  async (t) => {
    const dir = scratchDir(t);
    mkdirSync(join(dir, '.toil'));
    writeFileSync(join(dir, '.toil', 'default.yaml'), 'notAnOption: 1\n');
    const r = await runToil(
      ['run', PLAIN, 'file:./js', '--logFile', 'run.log', '--disableProgress', '--retrycount', '2'],
      { cwd: dir, env: { HOME: dir, TOIL_WORKDIR: dir } },
    );
    t.equal(r.code, 0, r.stderr);
    const notices = [
      `toil: ${join(dir, '.toil', 'default.yaml')}: notAnOption is no toil run option; it is ignored`,
      'toil: --retrycount is not a toil option, so it goes to the workflow, not to toil (did you mean --retryCount?)',
    ];
    const stderr = r.stderr.trim().split('\n');
    const log = readFileSync(join(dir, 'run.log'), 'utf8').trim().split('\n');
    t.same(stderr.slice(0, 2), notices, 'stderr says them first');
    t.same(log.slice(0, 2), notices, 'the log file starts with them, in the same order');
    t.equal(log.length, stderr.length, 'and holds every line stderr did, once');
    t.match(log.at(-1), /^toil: workflow succeeded: 1 job run/, 'to the last');
  },
);
