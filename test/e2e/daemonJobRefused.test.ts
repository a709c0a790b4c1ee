import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { embeddedLeaderConfig, startToilProcess } from '../fixtures/leaderE2e.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { startToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The leader daemon (embedded local cloud, node types c5.xlarge and r5.large) runs a workflow whose
 * child asks for 4 cores and 10 GiB: each resource alone fits a type, the whole fits none. The
 * child waited for ever with nothing said (the client showed "1 waiting to start"); it is refused
 * when it is added, naming it and what no type offers, and `toil run --leader` exits 2.
 */
t.setTimeout(180_000);

t.test('a job no node type fits whole is refused on the daemon when it is added, exit 2', async (t) => {
  const dir = testDir(t, {});
  const cfgPath = join(dir, 'leader.yaml');
  writeFileSync(
    cfgPath,
    embeddedLeaderConfig(dir, [
      ['    - t2.medium\n    - { type: t2.medium, spot: true }', '    - c5.xlarge\n    - r5.large'],
    ]),
  );
  const leader = startToilProcess(['leader', '--config', cfgPath], { cwd: dir });
  t.teardown(() => void leader.child.kill('SIGKILL'));
  const [, base = ''] = await leader.waitFor(/status at (http:\/\/[0-9.:]+)\/status/, 60_000);
  const run = startToil(
    ['run', repoPath('test/fixtures/workflowChildFitsNoType.ts'), `file:${dir}/js`, '--leader', base],
    { cwd: dir, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } },
  );
  // It used to wait for ever: a minute is many times what the refusal takes.
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  t.teardown(() => clearTimeout(timer));
  const result = await run.done;
  t.equal(result.code, 2, `refused as bad input (stderr: ${result.stderr})`);
  t.match(result.stderr, /toil: workflow failed on the leader: job 'wide' can never run: /);
  t.notMatch(result.stderr, /submit again to restart it/);
  t.notMatch(
    leader.output(),
    /workflow failed to run|\bat \S+\.[jt]s:\d+/,
    'the daemon logs a refusal, no stack',
  );
});
