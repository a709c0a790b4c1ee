import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startEc2Relay } from '../fixtures/ec2Relay.js';
import {
  autoscaledRunArgs,
  liveWorkers,
  ownsANode,
  sleep,
  startClusterCloud,
  startToilProcess,
} from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

/**
 * `toil run … --provisioner aws` keeps its state (`toil-autoscale-<hash>`, its `.token` and
 * `.run.json` in the work dir, and a `.where` pointer in the default work dir) as the record of
 * the nodes it launched. They were removed only after a successful run, so a run that ended
 * otherwise with every node released and no job store left to resume (a --restart on a deleted
 * store that only ended what a killed run had left; a failed run with --clean always) left them
 * behind for good. Now they go whenever the run ends with no node left and nothing to resume;
 * when a release fails they are kept, and the run says which nodes may be billing and how to end them,
 * and exits 1 even though its workflow succeeded.
 */
t.setTimeout(300_000);
// Each case has its own directory, default work dir and local cloud: they run side by side.
t.jobs = 3;

/** What the run's state left in the work dir and the default work dir. */
function stateFiles(workDir: string, defaultDir: string): string[] {
  return [
    ...readdirSync(workDir).filter((n) => n.startsWith('toil-autoscale-')),
    ...readdirSync(defaultDir).filter((n) => n.startsWith('toil-autoscale-')),
  ].sort();
}

t.test(
  'a --restart on a deleted job store adopts and releases what a killed run left, then removes its state',
  async (t) => {
    const dir = testDir(t, { work: {} });
    const cloud = await startClusterCloud(t, 'gone');
    const workDir = join(dir, 'work');
    const defaultDir = join(dir, 'default');
    mkdirSync(defaultDir);
    const env = { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: defaultDir };
    const args = autoscaledRunArgs(['test/fixtures/workflowSpotHold.ts', 'file:js'], cloud, 'gone', workDir);
    const killed = startToilProcess(args, { cwd: dir, env });
    t.teardown(() => void killed.child.kill('SIGKILL'));
    await killed.waitFor(/launched nodes/, 60_000);
    const stateDir = readdirSync(workDir).find((n) => /^toil-autoscale-[0-9a-f]+$/.test(n))!;
    for (let i = 0; i < 100 && !(await ownsANode(join(workDir, stateDir))); i++) await sleep(100);
    killed.child.kill('SIGKILL');
    await killed.done;
    t.equal((await liveWorkers(cloud.ec2Url)).length, 1, 'the killed run left its node running');
    t.same(
      stateFiles(workDir, defaultDir),
      [stateDir, `${stateDir}.run.json`, `${stateDir}.token`, `${stateDir}.where`],
      "the killed run's state, with its pointer in the default work dir",
    );
    const clean = await runToil(['clean', 'file:js'], { cwd: dir, env });
    t.equal(clean.code, 0, clean.stderr);

    const restart = await runToil([...args, '--restart'], { cwd: dir, env });
    t.not(restart.code, 0, `the run fails on the missing store (${restart.stderr.slice(-1500)})`);
    t.match(restart.stderr, /toil: releasing every node this run launched/);
    t.same(await liveWorkers(cloud.ec2Url), [], 'the node the killed run left is released');
    t.same(stateFiles(workDir, defaultDir), [], 'no state file is left, nor the pointer');
  },
);

t.test('a failed run with --clean always leaves no state once its nodes are released', async (t) => {
  const dir = testDir(t, { work: {} });
  const cloud = await startClusterCloud(t, 'cleanfail');
  const workDir = join(dir, 'work');
  const defaultDir = join(dir, 'default');
  mkdirSync(defaultDir);
  const r = await runToil(
    [
      ...autoscaledRunArgs(
        ['test/fixtures/workflowDetaches.ts', 'file:js', 'throws', '1'],
        cloud,
        'cleanfail',
        workDir,
      ),
      ...['--retryCount', '0', '--clean', 'always'],
    ],
    { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: defaultDir } },
  );
  t.equal(r.code, 1, `the run fails (${r.stderr.slice(-1500)})`);
  t.match(r.stderr, /the job store file:js was deleted \(--clean always\)/);
  t.same(await liveWorkers(cloud.ec2Url), [], 'its node is released');
  t.same(stateFiles(workDir, defaultDir), [], 'no state file is left, nor the pointer');
});

t.test(
  'a run whose nodes could not be released keeps its state, says how to end them, and exits 1',
  async (t) => {
    const dir = testDir(t, { work: {} });
    const cloud = await startClusterCloud(t, 'norelease');
    // These credentials may launch instances but not terminate them.
    const relay = await startEc2Relay(t, cloud.ec2Url, {
      refuse: (action) => (action === 'TerminateInstances' ? 'UnauthorizedOperation' : undefined),
    });
    const workDir = join(dir, 'work');
    const defaultDir = join(dir, 'default');
    mkdirSync(defaultDir);
    const r = await runToil(
      autoscaledRunArgs(
        ['test/fixtures/workflowDetaches.ts', 'file:js', 'returns', '1'],
        cloud,
        'norelease',
        workDir,
      ),
      { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: relay.url, TOIL_WORKDIR: defaultDir } },
    );
    const live = await liveWorkers(cloud.ec2Url);
    t.equal(live.length, 1, `the node is still running (${r.stderr.slice(-1500)})`);
    t.match(r.stderr, /^toil: workflow succeeded: /m, 'the workflow itself succeeded');
    t.equal(r.code, 1, 'yet the run exits 1: a node it launched is left billing');
    const files = stateFiles(workDir, defaultDir);
    const stateDir = files[0]!;
    t.same(
      files,
      [stateDir, `${stateDir}.run.json`, `${stateDir}.token`, `${stateDir}.where`],
      'the state is kept, with its pointer: the only record of the node',
    );
    t.match(
      r.stderr,
      new RegExp(
        `toil: \\S.*not every node this run launched was released; its state ${workDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${stateDir} is kept:\\n` +
          `nodes: +1 worker instance\\(s\\) of cluster norelease \\(us-west-2a\\) [^\\n]*may be running and billing[^]*` +
          `  ${live[0]!.id} \\(on-demand[^]*give it up: aws ec2 terminate-instances --region us-west-2 --instance-ids ${live[0]!.id} `,
      ),
      'the run names the node and how to end it',
    );
  },
);
