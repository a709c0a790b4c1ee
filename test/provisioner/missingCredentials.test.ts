import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ProvisionerError } from '../../src/provisioner/errors.js';
import { translateEc2Error } from '../../src/provisioner/aws/ec2Errors.js';
import { runToil } from '../fixtures/workflowCli.js';
import { pathToFileURL } from 'node:url';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * With no AWS credentials anywhere, the SDK fails before it sends a request. That is the user's
 * setup, not a crash: one line naming what is missing, exit 2, no stack. The endpoint is an address
 * reserved for documentation (TEST-NET-1): nothing is ever sent there, and the quick exit shows it.
 */
const LOOPBACK_ONLY = pathToFileURL(repoPath('test/fixtures/loopbackOnly.mjs')).href;

function noCredentialsEnv(dir: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) env[k] = undefined;
  return {
    ...env,
    HOME: dir,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    // The default chain would ask the instance metadata service last: not on this machine.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_EC2: 'http://192.0.2.1:4566',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Any connection off this machine is refused and reported on stderr, failing the test.
    NODE_OPTIONS: `--import=${LOOPBACK_ONLY}`,
  };
}

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const oneLine = (t: Test, stderr: string, what: string): void => {
  const lines = stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `${what}: one line on stderr (${JSON.stringify(stderr.slice(0, 400))})`);
  t.match(lines[0], /^toil: .*no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  t.notMatch(stderr, /internal error|\n\s+at /, `${what}: no stack trace`);
};

t.test('a cluster utility without credentials: one line naming them, exit 2, nothing sent', async (t) => {
  const dir = testDir(t, {});
  const started = Date.now();
  const r = await runToil(['destroy-cluster', 'nocreds', '--zone', 'us-west-2a'], {
    cwd: dir,
    env: noCredentialsEnv(dir),
  });
  t.equal(r.code, 2, 'exit 2');
  oneLine(t, r.stderr, 'destroy-cluster');
  t.ok(Date.now() - started < 20_000, `failed at once (${Date.now() - started} ms), no connection attempted`);
});

t.test('the leader daemon with an aws provisioner and no credentials: one line, exit 2', async (t) => {
  const dir = testDir(t, {});
  const cfg = join(dir, 'leader.yaml');
  writeFileSync(
    cfg,
    [
      `jobStore: file:${dir}/state`,
      'http: { port: 0 }',
      'batchSystem: { kind: mesos, mesosMaster: embedded }',
      'provisioner: { kind: aws, zone: us-west-2a, clusterName: nocreds }',
      'scaler: { region: us-west-2, zones: [us-west-2a], nodeTypes: [t2.medium] }',
      '',
    ].join('\n'),
  );
  const r = await runToil(['leader', '--config', cfg], { cwd: dir, env: noCredentialsEnv(dir) });
  t.equal(r.code, 2, 'exit 2');
  // pino's own lines go to stdout; what the person reads is stderr.
  oneLine(t, r.stderr, 'toil leader');
});

t.test(
  'translation: the SDK credential and region errors become user errors with a stable code',
  async (t) => {
    const creds = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const e = translateEc2Error(creds, 'DescribeInstances');
    t.ok(e instanceof ProvisionerError);
    t.equal(e.code, 'NO_CREDENTIALS');
    t.equal(e.disposition, 'user', 'printed as one line by the CLI, exit 2');
    t.match(e.message, /^EC2 DescribeInstances: no AWS credentials found/);
    const region = translateEc2Error(new Error('Region is missing'), 'RunInstances');
    t.equal(region.code, 'NO_REGION');
    t.equal(region.disposition, 'user');
    t.match(region.message, /no AWS region: give --zone/);
    // A reply from EC2 that happens to mention credentials stays the cloud's answer.
    const reply = Object.assign(new Error('AWS was not able to validate the provided access credentials'), {
      name: 'AuthFailure',
      $metadata: { httpStatusCode: 401 },
    });
    t.equal(translateEc2Error(reply, 'RunInstances').code, 'NOT_AUTHORISED');
  },
);
