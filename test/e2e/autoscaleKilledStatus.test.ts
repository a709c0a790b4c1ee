import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  autoscaledRunArgs,
  liveWorkers,
  ownsANode,
  sleep,
  startClusterCloud,
  startToilProcess,
} from '../fixtures/leaderE2e.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil run … --provisioner aws` killed with -9 leaves the nodes it launched running, and only its
 * state directory knows them. `toil status JOBSTORE` says so at once (the dead leader's lease is
 * provably gone on this machine): which instances, their $/h, and the exact commands that resume
 * the run (adopting them) or give it up. It used to say only "not finished and stopped".
 */
t.setTimeout(180_000);

t.test('status of a store whose autoscaling leader was killed lists the nodes it left running', async (t) => {
  const dir = testDir(t, { work: {} });
  const cloud = await startClusterCloud(t, 'kill9');
  const workDir = join(dir, 'work');
  // The default work dir (TOIL_WORKDIR), where a status without --workDir looks.
  const env = { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: join(dir, 'default') };
  mkdirSync(join(dir, 'default'));
  const run = startToilProcess(
    autoscaledRunArgs(['test/fixtures/workflowSpotHold.ts', 'file:js'], cloud, 'kill9', workDir),
    { cwd: dir, env },
  );
  t.teardown(() => void run.child.kill('SIGKILL'));
  await run.waitFor(/launched nodes/, 60_000);
  // Killed once the launch's answer is saved (before that, the node is an unanswered launch).
  const stateDir = readdirSync(workDir).find((n) => /^toil-autoscale-[0-9a-f]+$/.test(n))!;
  for (let i = 0; i < 100 && !(await ownsANode(join(workDir, stateDir))); i++) await sleep(100);
  run.child.kill('SIGKILL');
  await run.done;
  const live = await liveWorkers(cloud.ec2Url);
  t.equal(live.length, 1, 'the killed run left its node running');

  const status = await runToil(['status', 'file:js', '--workDir', workDir], { cwd: dir, env });
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /state: +not finished and stopped/, 'the dead leader is said gone at once');
  t.match(
    status.stdout,
    /nodes: +1 worker instance\(s\) of cluster kill9 \(us-west-2a\) launched by this workflow's autoscaling leader, which is gone, are still its own and may be running and billing \(\$0\.\d{4}\/h\)/,
  );
  t.match(status.stdout, new RegExp(`  ${live[0]!.id} \\(on-demand, \\$0\\.\\d{4}/h, up \\d+ min\\)`));
  t.match(
    status.stdout,
    /resume it \(adopts them, releases them when it ends\): cd \S+ && toil run \S+workflowSpotHold\.ts file:js --provisioner aws .* --workDir \S+ --logLevel info --restart\n/,
  );
  t.match(
    status.stdout,
    new RegExp(
      `or give it up: aws ec2 terminate-instances --region us-west-2 --instance-ids ${live[0]!.id} \\(or the whole cluster: toil destroy-cluster --zone us-west-2a kill9\\), then rm -r `,
    ),
  );

  const json = await runToil(['status', 'file:js', '--workDir', workDir, '--json'], { cwd: dir, env });
  const parsed = JSON.parse(json.stdout) as { leftRunning?: { nodes: { instanceId: string }[] } };
  t.same(
    parsed.leftRunning?.nodes.map((n) => n.instanceId),
    [live[0]!.id],
    '--json lists them as leftRunning',
  );

  // The user does not repeat the run's --workDir: the run left a pointer in the default work dir.
  const plain = await runToil(['status', 'file:js'], { cwd: dir, env });
  t.equal(plain.code, 0, plain.stderr);
  t.match(
    plain.stdout,
    new RegExp(`nodes: +1 worker instance\\(s\\) of cluster kill9[^]*  ${live[0]!.id} \\(on-demand`),
    'without --workDir, status still finds the nodes the run left',
  );
  // Giving the run up removes the pointer too: left behind, it leads a later status to nothing.
  const pointer = join(dir, 'default', `${stateDir}.where`);
  for (const out of [plain.stdout, status.stdout])
    t.match(
      out,
      new RegExp(
        `then rm -r ${escape(join(workDir, stateDir))} \\S+\\.token \\S+\\.run\\.json ${escape(pointer)}\n`,
      ),
      'the way to give it up removes the pointer in the default work dir',
    );

  // toil kill --force cancels the dead run's jobs, not its nodes: it names them too.
  const kill = await runToil(['kill', '--force', 'file:js'], { cwd: dir, env });
  t.equal(kill.code, 0, kill.stderr);
  t.match(
    kill.stderr,
    new RegExp(
      `nodes: +1 worker instance\\(s\\) of cluster kill9 [^]*  ${live[0]!.id} \\(on-demand[^]*  resume it `,
    ),
    'toil kill --force of the dead run names the nodes it left',
  );

  // toil clean (what a run without --restart advises) deletes the store, after which status has
  // nothing to say: clean names the nodes the dead run left and how to end them.
  const clean = await runToil(['clean', 'file:js'], { cwd: dir, env });
  t.equal(clean.code, 0, clean.stderr);
  t.match(clean.stdout, /^deleted job store file:js$/m);
  t.match(
    clean.stderr,
    new RegExp(
      `nodes: +1 worker instance\\(s\\) of cluster kill9 [^]*  ${live[0]!.id} \\(on-demand[^]*  its job store is deleted, so it cannot be resumed: give it up: aws ec2 terminate-instances --region us-west-2 --instance-ids ${live[0]!.id} `,
    ),
    'clean names the nodes the dead run left and how to end them',
  );
  t.notMatch(clean.stderr, /resume it/, 'no resume advice for a deleted store');
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
