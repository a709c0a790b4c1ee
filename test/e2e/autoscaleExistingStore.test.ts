import { join } from 'node:path';
import t from 'tap';
import { openJobStore } from '../../src/main/jobStores.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil run … --provisioner aws` on a job store that exists, without --restart, is refused as a
 * local run's is, before any leader starts: one line, exit 2, and no word of releasing nodes.
 */
t.test('an autoscaled run on an existing job store is refused before a leader starts', async (t) => {
  const dir = testDir(t, { tmp: {} });
  await openJobStore(`file:${join(dir, 'js')}`).create();
  const run = await runToil(
    [
      ...['run', join(process.cwd(), 'examples/fanout.ts'), 'file:js', '--provisioner', 'aws'],
      ...['--nodeType', 't2.medium', '--batchSystem', 'mesos', '--zone', 'us-west-2a'],
      ...['--clusterName', 'c', '--mesosMaster', '127.0.0.1:1'],
    ],
    // Nothing here answers: a leader started anyway would fail on the cloud, not on the store.
    { cwd: dir, env: { TMPDIR: join(dir, 'tmp'), AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1' } },
  );
  t.equal(run.code, 2, 'exit 2');
  t.equal(
    run.stderr,
    "toil: job store file:js already exists (expected a new job store; use --restart to resume it, or 'toil clean file:js' to remove it)\n",
    'one line, as a local run says it',
  );
});
