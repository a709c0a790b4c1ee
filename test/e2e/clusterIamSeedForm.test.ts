import t from 'tap';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ec2Sdk, s3Sdk } from '../../src/common/awsSdkPackages.js';
import { testEc2Client } from '../fixtures/ec2Local.js';
import {
  byteSorted,
  liveWorkers,
  nonEmptyLines,
  sleep,
  FAST_SCALING,
  startLocalCloud,
  Timeline,
} from '../fixtures/leaderE2e.js';
import {
  createMotoUser,
  MOTO_MISSING_REASON,
  motoAvailable,
  motoS3Client,
  startMoto,
  type MotoServer,
} from '../fixtures/motoServer.js';
import { REPO_ROOT, runToil, startToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';
import { pythonTool } from '../fixtures/pythonTool.js';

const { ListBucketsCommand } = s3Sdk();

const { DescribeInstancesCommand, ImportKeyPairCommand } = ec2Sdk();

/**
 * The seed's headline run, whole, on the local cloud with S3 and IAM on moto: launch-cluster makes
 * the cluster's roles and instance profiles (no --awsEc2ProfileArn), the seed form sorts on an
 * `aws:` job store while scaling 0 → N → 0, its workers reach S3 with role credentials from their
 * instance metadata (no key reaches them), and destroy-cluster leaves no role, policy or profile
 * (read back with the image's `aws iam` CLI), twice.
 */
const SORT = join(REPO_ROOT, 'examples/sort.ts');
const JOB_STORE = 'aws:us-west-2:autoscaling-sort-jobstore';
const run = promisify(execFile);

/** The image's aws CLI (botocore) against moto: an independent reader of what is left. */
async function awsIam(moto: MotoServer, args: string[], service = 'iam'): Promise<unknown> {
  const { stdout } = await run(pythonTool('aws'), [service, ...args, '--output', 'json'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ENDPOINT_URL_IAM: moto.endpoint,
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_DEFAULT_REGION: 'us-east-1',
    },
  });
  return stdout.trim() ? (JSON.parse(stdout) as unknown) : undefined;
}

async function importKey(ec2Url: string): Promise<void> {
  const ec2 = testEc2Client(ec2Url);
  await ec2.send(
    new ImportKeyPairCommand({
      KeyName: 'e2e',
      PublicKeyMaterial: Buffer.from(
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e',
      ),
    }),
  );
  ec2.destroy();
}

type NodeProcess = { pid: number; cmd: string; env: Record<string, string> };

/**
 * A reader of the processes of this test's local cloud's instances (descendants of `rootPid`
 * holding an instance id): other tests running beside this one start node processes of their own.
 * Each call returns those it has not returned before. Polled five times a second through a run:
 * a process's parent is read from /proc/PID/stat once, when it is first listed, and one found not
 * to descend from `rootPid` is not looked at again (a process only ever gains init as a new
 * parent), where reading every process's stat and a descendant's environment each time cost the
 * test's own process seconds of CPU.
 */
function nodeProcessReader(rootPid: number): () => NodeProcess[] {
  const parent = new Map<number, number>();
  const passed = new Set<number>();
  const descends = (pid: number): boolean => {
    for (
      let p = parent.get(pid), hops = 0;
      p !== undefined && p > 1 && hops < 64;
      p = parent.get(p), hops++
    ) {
      if (p === rootPid) return true;
    }
    return false;
  };
  return () => {
    const live = new Set(
      readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .map(Number),
    );
    for (const pid of parent.keys()) {
      if (live.has(pid)) continue;
      parent.delete(pid);
      passed.delete(pid);
    }
    for (const pid of live) {
      if (parent.has(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone meanwhile
      }
    }
    const out: NodeProcess[] = [];
    for (const pid of live) {
      if (passed.has(pid)) continue;
      if (!descends(pid)) {
        passed.add(pid);
        continue;
      }
      try {
        const env = Object.fromEntries(
          readFileSync(`/proc/${pid}/environ`, 'utf8')
            .split('\0')
            .filter(Boolean)
            .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        );
        // One forked but not yet started carries its parent's environment: read again next time.
        if (!env.TOIL_INSTANCE_ID) continue;
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        out.push({ pid, cmd, env });
        passed.add(pid);
      } catch {
        // gone meanwhile, or not ours
      }
    }
    return out;
  };
}

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(360_000);
// Each case has its own moto_server and local cloud: they run side by side.
t.jobs = 2;

t.test(
  'launch-cluster without IAM permissions: exit 2 naming iam:CreateRole, and nothing made',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    // moto checks every request after the first three against IAM: a user allowed EC2 and S3 only.
    const moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3' } });
    t.teardown(() => moto.stop());
    const cloud = await startLocalCloud();
    t.teardown(async () => {
      cloud.child.kill('SIGTERM');
      await cloud.done;
    });
    await importKey(cloud.ec2Url);
    const key = await createMotoUser(moto, 'limited', ['ec2:*', 's3:*']);
    const r = await runToil(
      ['launch-cluster', 'denied', '--nodeType', 't2.medium', '--keyPairName', 'e2e', '--zone', 'us-west-2a'],
      {
        env: {
          AWS_ENDPOINT_URL_EC2: cloud.ec2Url,
          AWS_ENDPOINT_URL_IAM: moto.endpoint,
          AWS_ACCESS_KEY_ID: key.accessKeyId,
          AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
        },
      },
    );
    t.equal(r.code, 2, 'exit 2: the caller is to fix it');
    t.match(
      r.stderr,
      /^toil: launch-cluster: these credentials may not call iam:CreateRole \(AccessDenied\): grant it \(launch-cluster needs iam:CreateRole, .*iam:PassRole\), or pass --awsEc2ProfileArn/m,
      'one line naming the permission and the way around it',
    );
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const ec2 = testEc2Client(cloud.ec2Url);
    const instances = await ec2.send(new DescribeInstancesCommand({}));
    ec2.destroy();
    t.same(instances.Reservations ?? [], [], 'no instance launched');
    t.notMatch(r.stdout, /security group/, 'no security group made');
    t.notMatch(r.stdout, /removing what was made|could not remove/, 'no removal of what was never made');
  },
);

t.test(
  "the seed's form on an aws: job store: IAM from launch-cluster, 0 → N → 0 workers with IMDS credentials, bucket removed, destroy-cluster leaves no IAM",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const dir = testDir(t, {});
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    // The nodes are offered moto's S3, as a VPC endpoint would offer S3; nothing else of ours.
    const cloud = await startLocalCloud(['--s3-endpoint', moto.endpoint]);
    t.teardown(async () => {
      cloud.child.kill('SIGTERM');
      await cloud.done;
    });
    await importKey(cloud.ec2Url);
    const env = {
      AWS_ENDPOINT_URL_EC2: cloud.ec2Url,
      AWS_ENDPOINT_URL_IAM: moto.endpoint,
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      TOIL_AWS_ZONE: 'us-west-2a',
    };

    const launch = await runToil(
      ['launch-cluster', 'seed', '--leaderNodeType', 't2.medium', '--keyPairName', 'e2e'],
      { env },
    );
    t.equal(launch.code, 0, launch.stderr);
    t.match(launch.stdout, /IAM roles and instance profiles toil-seed-leader, toil-seed-worker ready/);
    const profiles = (await awsIam(moto, ['list-instance-profiles'])) as {
      InstanceProfiles: { InstanceProfileName: string; Arn: string; Roles: { RoleName: string }[] }[];
    };
    t.same(
      profiles.InstanceProfiles.map((p) => [p.InstanceProfileName, p.Roles.map((r) => r.RoleName)]).sort(),
      [
        ['toil-seed-leader', ['toil-seed-leader']],
        ['toil-seed-worker', ['toil-seed-worker']],
      ],
      'two profiles, each holding its role',
    );
    const roleTags = (await awsIam(moto, ['list-role-tags', '--role-name', 'toil-seed-worker'])) as {
      Tags: { Key: string; Value: string }[];
    };
    t.match(
      Object.fromEntries(roleTags.Tags.map((x) => [x.Key, x.Value])),
      { clusterName: 'seed', Owner: 'e2e' },
      'tagged with the cluster and its owner',
    );
    const workerProfileArn = profiles.InstanceProfiles.find(
      (p) => p.InstanceProfileName === 'toil-seed-worker',
    )!.Arn;

    // The seed's form, with the timings that keep the test short.
    const timeline = new Timeline();
    const seen = new Map<number, { cmd: string; env: Record<string, string> }>();
    const nodeProcesses = nodeProcessReader(cloud.child.pid!);
    const { child, done } = startToil(
      [
        'run',
        SORT,
        JOB_STORE,
        '--clusterName',
        'seed',
        '--provisioner',
        'aws',
        '--nodeType',
        't2.medium',
        '--maxNodes',
        '3',
        '--batchSystem',
        'mesos',
        '--mesosMaster',
        cloud.mesosMaster,
        // ~13 KB in four leaves: workers launched and their jobs reading S3, few worker processes.
        '--numLines',
        '500',
        '--N',
        '4500',
        '--fileToSort',
        'in.txt',
        '--outputFile',
        'out.txt',
        ...FAST_SCALING,
      ],
      { cwd: dir, env },
    );
    t.teardown(() => void child.kill('SIGKILL'));
    const s3 = motoS3Client(moto);
    t.teardown(() => s3.destroy());
    let bucketDuringRun = false;
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited) {
      timeline.record((await liveWorkers(cloud.ec2Url)).length);
      bucketDuringRun ||= ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).some(
        (b) => b.Name === 'autoscaling-sort-jobstore--toil',
      );
      for (const p of nodeProcesses()) if (!seen.has(p.pid)) seen.set(p.pid, p);
      await sleep(200);
    }
    const r = await done;
    t.equal(r.code, 0, r.code === 0 ? 'toil run exits 0' : r.stderr.slice(-3000));
    t.same(
      nonEmptyLines(join(dir, 'out.txt')),
      byteSorted(nonEmptyLines(join(dir, 'in.txt'))),
      'sorted correctly',
    );
    t.ok(timeline.peak >= 1, `scaled 0 → ${timeline.peak} → 0: ${timeline.toString()}`);
    t.equal(timeline.steps[0]?.split(':')[1], '0', 'no worker before the run');
    await sleep(300);
    t.same(await liveWorkers(cloud.ec2Url), [], 'no worker left pending or running');

    t.ok(bucketDuringRun, 'the job store bucket autoscaling-sort-jobstore--toil existed during the run');
    const buckets = (await awsIam(moto, ['list-buckets'], 's3api')) as { Buckets?: { Name: string }[] };
    t.same(
      (buckets.Buckets ?? []).map((b) => b.Name),
      [],
      'the job store bucket autoscaling-sort-jobstore--toil was removed on success',
    );

    // Workers: launched with the worker profile, asked their metadata for role credentials, and no
    // process of theirs (agents, and the job processes they ran) held a key.
    const state = (await (await fetch(`${cloud.ec2Url}/_localcloud/state`)).json()) as {
      instances: {
        instanceId: string;
        tags: Record<string, string>;
        instanceProfileArn?: string;
        roleCredentialRequests: number;
      }[];
    };
    const workers = state.instances.filter((i) => i.tags.ToilNodeType === 'worker');
    t.ok(workers.length >= 1, `${workers.length} worker instance(s)`);
    const jobs = [...seen.values()].filter((p) => / worker /.test(p.cmd));
    t.ok(
      jobs.length >= 1,
      `${jobs.length} job process(es) seen on the nodes, ${seen.size} node processes in all`,
    );
    // A worker retired before it ran a job never needs credentials; one that ran a job must have
    // read them from its metadata service (its environment holds no key, checked below).
    const ranJobs = new Set(jobs.map((p) => p.env.TOIL_INSTANCE_ID));
    t.ok(
      workers.some((w) => ranJobs.has(w.instanceId)),
      'jobs ran on the launched worker instances',
    );
    for (const w of workers) {
      t.equal(w.instanceProfileArn, workerProfileArn, `${w.instanceId}: the worker profile`);
      if (!ranJobs.has(w.instanceId)) continue;
      t.ok(
        w.roleCredentialRequests >= 1,
        `${w.instanceId}: ran jobs and fetched role credentials from IMDS (${w.roleCredentialRequests})`,
      );
    }
    const withKeys = [...seen.values()].filter((p) =>
      Object.keys(p.env).some((k) =>
        ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'].includes(k),
      ),
    );
    t.same(
      withKeys.map((p) => p.cmd),
      [],
      'no access key in any node process environment',
    );
    const blind = jobs.filter(
      (p) => !p.env.AWS_EC2_METADATA_SERVICE_ENDPOINT || p.env.AWS_ENDPOINT_URL_S3 !== moto.endpoint,
    );
    t.same(
      blind.map((p) => `${p.cmd} (${Object.keys(p.env).sort().join(',')})`),
      [],
      "each job process sees its instance's metadata and the S3 endpoint the cloud offers",
    );

    const destroy = await runToil(['destroy-cluster', 'seed'], { env });
    t.equal(destroy.code, 0, destroy.stderr);
    t.match(
      destroy.stdout,
      /deleted instance profile toil-seed-leader[\s\S]*deleted IAM role toil-seed-worker/,
    );
    const roles = (await awsIam(moto, ['list-roles'])) as { Roles: { RoleName: string }[] };
    t.same(
      roles.Roles.map((x) => x.RoleName).filter((n) => n.startsWith('toil-seed')),
      [],
      'no role left',
    );
    t.same(
      ((await awsIam(moto, ['list-instance-profiles'])) as { InstanceProfiles: unknown[] }).InstanceProfiles,
      [],
      'no instance profile left',
    );
    t.same(
      ((await awsIam(moto, ['list-policies', '--scope', 'Local'])) as { Policies: unknown[] }).Policies,
      [],
      'no policy left',
    );
    const again = await runToil(['destroy-cluster', 'seed'], { env });
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /nothing left of cluster 'seed'/, 'a second destroy says so');
  },
);
