import { join } from 'node:path';
import t from 'tap';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import { startEmbeddedLeader } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * A workflow a leader daemon ran to its end leaves no framework registered at the Mesos master:
 * its framework is torn down with it, not left inactive for the week-long failover timeout.
 */
t.test('a workflow that ends on a leader daemon tears its Mesos framework down', async (t) => {
  const dir = testDir(t, {});
  const { leader, base, env } = await startEmbeddedLeader(t, dir);
  const [, master = ''] = await leader.waitFor(/Mesos master (127\.0\.0\.1:\d+)/);
  const r = await runToil(
    [
      'run',
      join(REPO_ROOT, 'examples/fanout.ts'),
      'file:./js',
      ...['--jobs', '2', '--leader', base, '--logLevel', 'warning'],
    ],
    { cwd: dir, env },
  );
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const state = await new MesosMasterClient(master).state();
  t.same(
    state.frameworks.map((f) => `${f.name} ${f.id}`),
    [],
    'no framework left registered, active or not',
  );
  t.equal(state.completed_frameworks.length, 1, "the workflow's framework was torn down");
});
