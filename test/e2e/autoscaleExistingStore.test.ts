import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { absoluteLocator, autoscaleStateDir, leftByRun } from '../../src/cli/autoscaleRunState.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { leaderStateStores } from '../../src/main/leaderState.js';
import { openJobStore } from '../../src/main/jobStores.js';
import { emptyTickState } from '../../src/scaler/tick/state.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil run examples/fanout.ts file:js --provisioner aws …` in `dir`, with its work dir `dir/tmp`.
 * Nothing answers for the cloud: a leader that starts fails there, after the store check.
 */
function autoscaledRun(dir: string, more: readonly string[]): ReturnType<typeof runToil> {
  return runToil(
    [
      ...['run', join(process.cwd(), 'examples/fanout.ts'), 'file:js', ...more, '--provisioner', 'aws'],
      ...['--nodeType', 't2.medium', '--batchSystem', 'mesos', '--zone', 'us-west-2a'],
      ...['--clusterName', 'c', '--mesosMaster', '127.0.0.1:1'],
    ],
    { cwd: dir, env: { TMPDIR: join(dir, 'tmp'), AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1' } },
  );
}

/**
 * `toil run … --provisioner aws` on a job store that exists, without --restart, is refused as a
 * local run's is, before any leader starts: one line, exit 2, and no word of releasing nodes.
 */
t.test('an autoscaled run on an existing job store is refused before a leader starts', async (t) => {
  const dir = testDir(t, { tmp: {} });
  await openJobStore(`file:${join(dir, 'js')}`).create();
  const run = await autoscaledRun(dir, []);
  t.equal(run.code, 2, 'exit 2');
  t.equal(
    run.stderr,
    "toil: job store file:js already exists (expected a new job store; it holds no workflow yet: a run stopped before the workflow's start() returned): use --restart to resume the workflow, or remove the job store with 'toil clean file:js' to start the workflow from scratch\n",
    'one line, as a local run says it',
  );
});

/**
 * `--restart` of a job store that does not exist is refused the same way: one line naming the
 * store, exit 2, no leader started (so no word of releasing nodes) and no leader state left in
 * the work dir for `toil status` to find.
 */
t.test('an autoscaled --restart of a missing job store is refused before a leader starts', async (t) => {
  const dir = testDir(t, { tmp: {} });
  const run = await autoscaledRun(dir, ['--restart']);
  t.equal(run.code, 2, 'exit 2');
  t.equal(
    run.stderr,
    'toil: job store file:js does not exist (expected an existing job store; drop --restart to start a new workflow)\n',
    'one line naming the store',
  );
  t.same(readdirSync(join(dir, 'tmp')), [], 'no leader state left in the work dir');
});

/**
 * But a killed run on that store may have left nodes in its state: then the leader starts, to
 * adopt and release them, and the state that names them is not dropped up front.
 */
t.test(
  'an autoscaled --restart of a missing job store still starts a leader for nodes a killed run left',
  async (t) => {
    const dir = testDir(t, { tmp: {} });
    const stateDir = autoscaleStateDir(join(dir, 'tmp'), absoluteLocator(`file:${join(dir, 'js')}`));
    const state = new FileObjectStore(stateDir);
    await state.create();
    await leaderStateStores(state).tickStore.save({
      ...emptyTickState(),
      owned: { 'i-0123456789abcdef0': { launchedAt: Date.now(), pricePerHour: 0.0464 } },
    });
    const run = await runToil(
      [
        ...['run', join(process.cwd(), 'examples/fanout.ts'), 'file:js', '--restart', '--provisioner', 'aws'],
        ...['--nodeType', 't2.medium', '--batchSystem', 'mesos', '--zone', 'us-west-2a'],
        ...['--clusterName', 'c', '--mesosMaster', '127.0.0.1:1'],
      ],
      // Nothing answers for the cloud: the leader that starts fails there, after the store check.
      { cwd: dir, env: { TMPDIR: join(dir, 'tmp'), AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1' } },
    );
    t.not(run.code, 0, 'the run fails');
    t.notMatch(run.stderr, /job store file:js does not exist/, 'not refused before the leader started');
    t.match(run.stderr, /EC2/, 'the leader started and went to the cloud');
    t.same(
      (await leftByRun(stateDir))?.nodes.map((n) => n.instanceId),
      ['i-0123456789abcdef0'],
      'the state naming the left node is kept',
    );
  },
);
