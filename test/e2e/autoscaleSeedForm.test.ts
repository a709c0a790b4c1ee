import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  byteSorted,
  liveWorkers,
  makeCluster,
  nonEmptyLines,
  sleep,
  startClusterCloud,
  startLocalCloud,
  FAST_SCALING,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT, runToil, startToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The seed's own form, `toil run sort.ts JOBSTORE --provisioner aws --nodeType … --batchSystem mesos
 * --mesosMaster …`, against `toil localcloud` (its own process) through AWS_ENDPOINT_URL_EC2: the
 * scaler runs in the `toil run` process for this one workflow and releases its nodes at the end.
 */
const SORT = join(REPO_ROOT, 'examples/sort.ts');
// A sort on autoscaled workers and two failing runs, each `toil run` starting its own leader: 130 s
// on a quiet two-core machine, 221 s on a busy one.
t.setTimeout(360_000);
// Each case has its own directory and local cloud (if any): they run side by side.
t.jobs = 3;

t.test('flags that would hang the workflow are refused up front, naming the flag (exit 2)', async (t) => {
  const dir = testDir(t, {});
  const flags = ['--provisioner', 'aws', '--batchSystem', 'mesos'];
  const where = ['--mesosMaster', '127.0.0.1:1', '--zone', 'us-west-2a', '--clusterName', 'seed'];
  const cases: { name: string; workflow?: string; flags: string[]; expect: RegExp }[] = [
    {
      name: 'a job larger than every allowed node type',
      flags: ['--nodeType', 't2.micro', '--defaultDisk', '200Gi'],
      expect: /job 'setup' can never run: disk: asks 200\.0 GiB.*change --nodeTypes\/--nodeType/,
    },
    {
      name: 'preemptable jobs, spot only, no spot capacity allowed',
      flags: ['--preemptableNodeType', 't2.medium', '--maxPreemptableNodes', '0', '--defaultPreemptable'],
      expect: /\(preemptable\) would wait forever: .*change --maxPreemptableNodes/,
    },
    {
      // --defaultPreemptable does not reach a service (the leader places it on on-demand).
      name: 'a service that says nothing of preemptable, spot-only types, --defaultPreemptable',
      workflow: join(REPO_ROOT, 'test/fixtures/workflowServiceRoom.ts'),
      flags: ['--nodeTypes', 't2.medium:0.03', '--defaultPreemptable'],
      expect:
        /^toil: job 'bigDb' can never run: preemptable: the job is not preemptable and every configured node type is spot .*add an on-demand type to --nodeTypes .*, or declare the service preemptable: true in its requirements/,
    },
    {
      // The root 'host' is issued first, its service 'bigDb' and child 'wide' after it; the
      // module defines 'bigDb' first.
      name: 'several jobs that are not preemptable, spot-only types: the first issued is named',
      workflow: join(REPO_ROOT, 'test/fixtures/workflowServiceRoom.ts'),
      flags: ['--nodeTypes', 't2.medium:0.03'],
      expect:
        /^toil: job 'host' can never run: preemptable: the job is not preemptable and every configured node type is spot .*, or make the job preemptable .*; 2 other jobs cannot run either: 'bigDb', 'wide'$/m,
    },
  ];
  for (const c of cases) {
    const r = await runToil(['run', c.workflow ?? SORT, `file:${dir}/js`, ...flags, ...c.flags, ...where], {
      cwd: dir,
    });
    t.equal(r.code, 2, `${c.name}: exit 2`);
    t.match(r.stderr, c.expect, `${c.name}: the message names the flag`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${c.name}: one line (${r.stderr.trim()})`);
  }
});

t.test(
  'sorts on the local cloud, scaling 0 → several workers → 0, and leaves no instance and no temp dir',
  async (t) => {
    const dir = testDir(t, { tmp: {} });
    // The run's default work dir and the workers' disks are under the temp dir: this test's own.
    const env = { TMPDIR: join(dir, 'tmp') };
    // With what `toil launch-cluster` leaves behind: the cluster's security group.
    const cloud = await startClusterCloud(t, 'seed', { env });
    t.same(await liveWorkers(cloud.ec2Url), [], 'no worker before the run');

    const started = Date.now();
    const { child, done } = startToil(
      [
        'run',
        SORT,
        'file:js',
        // ~27 KB in eight leaves, on t2.micro workers that hold one 600 MiB job each: eight jobs
        // queued at once with --targetTime 2 want several workers however fast the jobs run (on
        // t2.medium, two jobs a node, a fast machine sometimes needed only one).
        '--numLines',
        '1000',
        '--N',
        '6000',
        '--fileToSort',
        'in.txt',
        '--outputFile',
        'out.txt',
        '--provisioner',
        'aws',
        '--nodeType',
        't2.micro',
        '--maxNodes',
        '4',
        ...FAST_SCALING,
        '--batchSystem',
        'mesos',
        '--mesosMaster',
        cloud.mesosMaster,
        '--zone',
        'us-west-2a',
        '--clusterName',
        'seed',
        '--logLevel',
        'info',
        // Each job's log file is written by this process, the leader here too.
        '--writeLogs',
        'joblogs',
        '--writeLogsFromAllJobs',
      ],
      { cwd: dir, env: { ...env, AWS_ENDPOINT_URL_EC2: cloud.ec2Url } },
    );
    t.teardown(() => void child.kill('SIGKILL'));
    // Counted through the EC2 API while the run goes on.
    const steps: string[] = [];
    let peak = 0;
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited) {
      const n = (await liveWorkers(cloud.ec2Url)).length;
      peak = Math.max(peak, n);
      if (steps.at(-1)?.split(':')[1] !== String(n))
        steps.push(`${((Date.now() - started) / 1000).toFixed(1)}s:${n}`);
      await sleep(200);
    }
    const r = await done;
    t.equal(r.code, 0, `toil run exits 0 (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (r.code !== 0) t.comment(r.stderr.slice(-4000));
    t.same(
      nonEmptyLines(join(dir, 'out.txt')),
      byteSorted(nonEmptyLines(join(dir, 'in.txt'))),
      'sorted correctly',
    );
    t.ok(peak >= 2, `scaled to ${peak} workers; timeline ${steps.join(' ')}`);
    const jobsRun = Number(/workflow succeeded: (\d+) jobs run/.exec(r.stderr)?.[1]);
    t.ok(jobsRun > 0, `${jobsRun} jobs run`);
    const jobLogs = readdirSync(join(dir, 'joblogs'));
    t.equal(
      jobLogs.filter((n) => /^\w+_[0-9a-f-]+_\d+\.log$/.test(n)).length,
      jobsRun,
      '--writeLogs --writeLogsFromAllJobs: a file per job run',
    );
    await sleep(300);
    t.same(await liveWorkers(cloud.ec2Url), [], 'no worker instance left pending or running');
    // A terminated worker's disk goes with it; a finished run's scaler state and token too.
    let left = readdirSync(join(dir, 'tmp'));
    for (let i = 0; i < 50 && left.length > 0; i++, left = readdirSync(join(dir, 'tmp'))) await sleep(100);
    t.same(left, [], 'nothing left in the temp dir');
  },
);

t.test(
  'a launch refused for good fails the run fast with the reason (a vCPU limit, exit 1); no such cluster is refused before the run starts (exit 2)',
  async (t) => {
    const dir = testDir(t, {});
    // The leader (t2.medium, 2 vCPUs) uses the whole on-demand vCPU limit: every worker launch is refused.
    // At debug level the EC2 endpoint logs each request it refuses: the test counts them.
    const cloud = await startLocalCloud(['--vcpu-limit', '2', '--logLevel', 'debug']);
    const refusedLaunches = () =>
      cloud.output().match(/"action":"RunInstances","code":"VcpuLimitExceeded"/g)?.length ?? 0;
    t.teardown(async () => {
      cloud.child.kill('SIGTERM');
      await cloud.done;
    });
    await makeCluster(cloud.ec2Url, 'seed');
    const run = (js: string, clusterName: string) =>
      runToil(
        [
          'run',
          SORT,
          `file:${js}`,
          '--numLines',
          '50',
          '--provisioner',
          'aws',
          '--nodeType',
          't2.medium',
          '--scaleInterval',
          '1',
          '--batchSystem',
          'mesos',
          '--mesosMaster',
          cloud.mesosMaster,
          '--zone',
          'us-west-2a',
          '--clusterName',
          clusterName,
          // The run's scaler state lives under the work dir: this test's own, fresh each run.
          '--workDir',
          dir,
          '--logLevel',
          'warning',
        ],
        { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
      );

    const limit = await run('js-limit', 'seed');
    t.equal(limit.code, 1, 'exit 1: the run failed');
    t.match(
      limit.stderr,
      /toil: workflow failed: cannot launch nodes \(t2\.medium\/us-west-2a\/on-demand\): LIMIT_EXCEEDED: .*VcpuLimitExceeded.*; lower --maxNodes\/--maxPreemptableNodes or raise the account limit/,
      'the reason and what to change',
    );
    // Not left waiting: the run ends on the first refusal, which it does not try again (a run that
    // waited for capacity would hold until the file's timeout and fail it).
    t.equal(refusedLaunches(), 1, 'failed on the first refused launch, not retried');
    t.match(
      limit.stderr,
      /\ntoil: the job store file:js-limit is kept; fix the cause and run again with --restart\n/,
      'says the job store is kept and how to resume it, as a local run does',
    );
    t.ok(
      readdirSync(dir).some((n) => n.startsWith('toil-autoscale-')),
      'a failed run keeps its scaler state for --restart',
    );
    t.same(await liveWorkers(cloud.ec2Url), [], 'no worker launched or left');

    const missing = await run('js-missing', 'nosuch');
    t.equal(missing.code, 2, 'exit 2: the cluster named is not there (the user to fix)');
    // Refused before anything is made (it used to fail at its first launch with the store made).
    t.match(
      missing.stderr,
      /^toil: cluster 'nosuch' has no leader in region us-west-2; clusters here: seed; check the name and --zone$/m,
      'the reason, the clusters there are, and what to check',
    );
    t.equal(refusedLaunches(), 1, 'no launch was tried for a cluster that is not there');
    t.notOk(existsSync(join(dir, 'js-missing')), 'no job store was made: the same command runs once fixed');
  },
);
