import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { CliAgentLauncher } from '../../src/localcloud/ec2/agents.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startEc2Endpoint } from '../../src/localcloud/ec2/index.js';
import { buildUserData } from '../../src/provisioner/aws/userData.js';
import { testEc2Client } from '../fixtures/ec2Local.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';

const { RunInstancesCommand, DescribeInstancesCommand } = ec2Sdk();

/**
 * An instance launched with an instance profile gets role credentials from its own metadata
 * service (IMDSv2), and the processes the local cloud starts for it see that service, the S3
 * endpoint the cloud offers its nodes, and nothing of the caller's environment: the AWS SDK's
 * default chain, run with exactly that environment, finds the role's keys and no others.
 */
const SLEEPER = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const PROFILE = 'arn:aws:iam::123456789012:instance-profile/toil-creds-worker';
const CALLER_KEY = 'AKIDCALLERMUSTNOTLEAK';

function environ(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** The SDK's default credential chain in a fresh process with exactly `env`. */
function sdkCredentials(env: Record<string, string>): Promise<{ code: number; out: string }> {
  const script = `
    const { S3Client } = await import('@aws-sdk/client-s3');
    try {
      const c = await new S3Client({ region: 'us-west-2' }).config.credentials();
      process.stdout.write(JSON.stringify(c));
    } catch (e) { process.stdout.write('ERROR ' + e.name + ': ' + e.message); process.exitCode = 3; }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

t.test(
  'a worker launched with an instance profile: role credentials over IMDSv2, found by the SDK default chain; its environment holds no caller key',
  async (t) => {
    // The caller's own keys, which must not reach the node.
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = CALLER_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'caller-secret';
    t.teardown(() => {
      for (const [k, v] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    });
    const clock = new ManualClock();
    const endpoint = await startEc2Endpoint({
      clock,
      log: silentLogger(),
      bootDelayMs: 1000,
      tickMs: 1000,
      mesosMaster: '127.0.0.1:5999',
      s3Endpoint: 'http://127.0.0.1:4599',
      launcher: new CliAgentLauncher({
        log: silentLogger(),
        command: SLEEPER,
        s3Endpoint: 'http://127.0.0.1:4599',
      }),
    });
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    const userData = buildUserData({
      role: 'worker',
      clusterName: 'creds',
      applianceImage: 'img:1',
      zone: 'us-west-2a',
      leaderPrivateIp: '10.9.9.9',
      preemptable: false,
      tags: {},
    });
    const launch = (profile?: string) =>
      ec2.send(
        new RunInstancesCommand({
          ImageId: LOCAL_IMAGE.imageId,
          InstanceType: 't2.medium',
          MinCount: 1,
          MaxCount: 1,
          UserData: userData,
          MetadataOptions: { HttpTokens: 'required' },
          ...(profile ? { IamInstanceProfile: { Arn: profile } } : {}),
        }),
      );
    const withRole = (await launch(PROFILE)).Instances![0]!.InstanceId!;
    const without = (await launch()).Instances![0]!.InstanceId!;
    await clock.advance(1000);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [withRole] }));
    t.equal(
      described.Reservations![0]!.Instances![0]!.IamInstanceProfile?.Arn,
      PROFILE,
      'DescribeInstances shows the profile',
    );

    const pid = endpoint.cloud.instances.get(withRole)!.process!.pid!;
    const env = environ(pid);
    t.same(
      // tap's process tracking adds its _TAPJS_ variables to every child it sees spawned.
      Object.keys(env)
        .filter((k) => k !== 'NODE_OPTIONS' && !k.startsWith('_TAPJS_'))
        .sort(),
      [
        'AWS_EC2_METADATA_SERVICE_ENDPOINT',
        'AWS_ENDPOINT_URL_S3',
        'HOME',
        'PATH',
        'TMPDIR',
        'TOIL_INSTANCE_ID',
        'TOIL_PRIVATE_IP',
      ],
      "the node's environment is its own: nothing of the caller's",
    );
    t.equal(env.AWS_ENDPOINT_URL_S3, 'http://127.0.0.1:4599', 'the S3 endpoint the cloud offers its nodes');
    t.notOk(
      Object.values(env).some((v) => v.includes(CALLER_KEY)),
      "no caller key in the node's environment",
    );

    // The metadata service, read as the SDK reads it.
    const imds = env.AWS_EC2_METADATA_SERVICE_ENDPOINT!;
    t.equal(
      (await fetch(`${imds}/latest/meta-data/iam/security-credentials/`)).status,
      401,
      'IMDSv2 required: no token, no credentials',
    );
    const token = await (
      await fetch(`${imds}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      })
    ).text();
    const get = (path: string) =>
      fetch(`${imds}/latest/meta-data/${path}`, { headers: { 'x-aws-ec2-metadata-token': token } });
    t.equal(await (await get('iam/security-credentials/')).text(), 'toil-creds-worker', 'the role name');
    t.match(JSON.parse(await (await get('iam/info')).text()), {
      Code: 'Success',
      InstanceProfileArn: PROFILE,
    });
    const served = JSON.parse(
      await (await get('iam/security-credentials/toil-creds-worker')).text(),
    ) as Record<string, string>;
    t.match(served, { Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: /^ASIA[A-Z2-7]{16}$/ });
    t.equal(
      Date.parse(served.Expiration!) - Date.parse(served.LastUpdated!),
      6 * 3600_000,
      'valid for six hours',
    );
    t.equal((await get('iam/security-credentials/another-role')).status, 404, 'another role: 404');

    const sdk = await sdkCredentials(env);
    t.equal(sdk.code, 0, sdk.out);
    const found = JSON.parse(sdk.out) as {
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken: string;
    };
    t.same(
      [found.accessKeyId, found.secretAccessKey, found.sessionToken],
      [served.AccessKeyId, served.SecretAccessKey, served.Token],
      "the SDK's default chain finds the role's credentials",
    );
    // One fetch by this test, at least one by the SDK.
    t.ok((await stateOf(endpoint.url, withRole)) >= 2, 'the metadata service counted the requests');

    // Without a profile: no credentials at all, so the SDK finds none (nothing else to fall back on).
    const bare = environ(endpoint.cloud.instances.get(without)!.process!.pid!);
    const none = await sdkCredentials(bare);
    t.equal(none.code, 3, 'no profile: the SDK finds no credentials');
    t.match(none.out, /ERROR CredentialsProviderError/);
  },
);

async function stateOf(url: string, id: string): Promise<number> {
  const s = (await (await fetch(`${url}/_localcloud/state`)).json()) as {
    instances: { instanceId: string; roleCredentialRequests: number }[];
  };
  return s.instances.find((i) => i.instanceId === id)?.roleCredentialRequests ?? -1;
}
