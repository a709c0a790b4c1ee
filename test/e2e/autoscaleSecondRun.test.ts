import { join } from 'node:path';
import t from 'tap';
import { sleep, startClusterCloud, FAST_SCALING } from '../fixtures/leaderE2e.js';
import { runToil, startToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * Two `toil run … --provisioner aws` on one job store: the second is refused as a second leader
 * of a local run is, naming the job store and the run that holds it, not the scaler state's lease.
 */
t.setTimeout(180_000);

const WORKFLOW = `import { defineJob, defineWorkflow } from 'toil-ts';
const nap = defineJob<number, number>('nap', { cores: 1, memory: '100Mi', disk: '10Mi' }, async (_job, ms) => {
  await new Promise((r) => setTimeout(r, ms));
  return ms;
});
export default defineWorkflow<number>({ async start(ctx) { return ctx.root(nap, 120_000); } });
`;

t.test(
  'a second autoscaled run on a job store in use is refused naming the job store and the run',
  async (t) => {
    const dir = testDir(t, { 'nap.ts': WORKFLOW, tmp: {} });
    const env = { TMPDIR: join(dir, 'tmp') };
    const cloud = await startClusterCloud(t, 'two', { env });
    const where =
      '--provisioner aws --nodeType t2.medium --batchSystem mesos --zone us-west-2a --clusterName two';
    const args = (extra: string[]) => [
      ...['run', 'nap.ts', 'file:js', ...extra, ...where.split(' '), ...FAST_SCALING],
      ...['--mesosMaster', cloud.mesosMaster],
    ];
    const runEnv = { ...env, AWS_ENDPOINT_URL_EC2: cloud.ec2Url };
    const first = startToil(args([]), { cwd: dir, env: runEnv });
    t.teardown(() => void first.child.kill('SIGKILL'));
    let out = '';
    first.child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    for (let i = 0; i < 300 && !/starting workflow/.test(out); i++) await sleep(100);
    t.match(out, /starting workflow/, 'the first run has started');

    const second = await runToil(args(['--restart']), { cwd: dir, env: runEnv });
    t.equal(second.code, 2, 'exit 2');
    t.match(
      second.stderr,
      /^toil: job store file:js is in use by the leader on \S+ \(pid \d+, generation 0\), the leader of another toil run --provisioner aws on it, until .* \(expected no other leader on it; stop that run \(Ctrl-C there, or toil kill file:js\)/,
      'names the job store and the run holding it',
    );
    t.notMatch(
      second.stderr,
      /leader state|jobStore in the config/,
      'not the scaler state of a leader config',
    );
    const fresh = await runToil(args([]), { cwd: dir, env: runEnv });
    t.equal(fresh.code, 2, 'without --restart: exit 2');
    t.match(
      fresh.stderr,
      /^toil: job store file:js already exists and is in use by the toil run --provisioner aws on \S+ \(pid \d+, generation 0\) \(expected a new job store\): name another job store/m,
      'names the run holding it, not --restart or toil clean',
    );
    first.child.kill('SIGINT');
    t.equal((await first.done).code, 130, 'the first run, interrupted, exits 130');
  },
);
