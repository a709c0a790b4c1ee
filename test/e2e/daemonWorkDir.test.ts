import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { embeddedLeaderConfig, startToilProcess } from '../fixtures/leaderE2e.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

// Two runs of a small workflow on the embedded local cloud; a busy two-core machine is slow.
t.setTimeout(240_000);

t.test(
  "the leader daemon's scratch and module cache go where toil run's do (TOIL_WORKDIR, else the temp dir), never its working directory",
  async (t) => {
    const dir = testDir(t, { cwd: {}, tmp: {}, workdir: {} });
    const cwd = join(dir, 'cwd');
    const cfgPath = join(dir, 'leader.yaml');
    writeFileSync(cfgPath, embeddedLeaderConfig(dir));
    const start = (env: Record<string, string | undefined>) => {
      const leader = startToilProcess(['leader', '--config', cfgPath], { cwd, env });
      t.teardown(() => void leader.child.kill('SIGKILL'));
      return leader;
    };
    const client = { cwd, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } };
    const log = join(dir, 'exec.log');
    // The root fails once (no retry): the run fails and its store is kept; submitted again, the
    // daemon resumes it, reading its module from the store into the module cache.
    const run = (base: string) =>
      runToil(
        ['run', TREE, `file:${dir}/js`, '--n', '2', '--log', log, '--out', join(dir, 'sum.txt')].concat([
          '--fail',
          'tree',
          '--failTimes',
          '1',
          '--retryCount',
          '0',
          '--leader',
          base,
        ]),
        client,
      );

    const leader = start({
      TMPDIR: join(dir, 'tmp'),
      TOIL_WORKDIR: undefined,
      TOIL_WORKDIR_OVERRIDE: undefined,
    });
    const [, base = ''] = await leader.waitFor(/status at (http:\/\/[0-9.:]+)\/status/);
    const failed = await run(base);
    t.equal(failed.code, 1, 'the first run fails, as told');
    const resumed = await run(base);
    t.equal(
      resumed.code,
      0,
      `submitted again, the run is resumed and succeeds (${resumed.stderr.slice(-500)})`,
    );
    t.same(readdirSync(cwd), [], "nothing in the daemon's working directory");
    t.ok(readdirSync(join(dir, 'tmp')).includes('toil-ts-modules'), 'the module cache is in the temp dir');
    leader.child.kill('SIGTERM');
    await leader.done;

    // TOIL_WORKDIR, when set, is where both go.
    mkdirSync(join(dir, 'tmp2'));
    const second = start({ TMPDIR: join(dir, 'tmp2'), TOIL_WORKDIR: join(dir, 'workdir') });
    const [, base2 = ''] = await second.waitFor(/status at (http:\/\/[0-9.:]+)\/status/);
    // A fresh log and failure budget: --failTimes counts the failures taken beside the log.
    writeFileSync(log, '');
    for (const f of readdirSync(dir)) if (f.startsWith('exec.log.failure-')) rmSync(join(dir, f));
    t.equal((await run(base2)).code, 1, 'a new run fails once');
    t.equal((await run(base2)).code, 0, 'and is resumed');
    t.same(readdirSync(cwd), [], "still nothing in the daemon's working directory");
    t.ok(
      readdirSync(join(dir, 'workdir')).includes('toil-ts-modules'),
      'the module cache is in TOIL_WORKDIR',
    );
  },
);
