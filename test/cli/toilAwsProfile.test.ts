import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

/**
 * Toil's TOIL_AWS_PROFILE names the AWS profile Toil signs with (its boto3 sessions take it as
 * `profile_name`), over keys in the environment. A user with one profile per account sets it to
 * pick the account: toil-ts signed with the environment's keys instead, another account's, so a
 * cluster utility looked for (or destroyed) clusters there. The endpoint here is a server on this
 * machine that notes the key each request is signed with and refuses it, as EC2 refuses a key it
 * does not know.
 */
const LOOPBACK_ONLY = pathToFileURL(repoPath('test/fixtures/loopbackOnly.mjs')).href;
const PROFILE_KEY = 'AKIDFROMTHEPROFILE00';
const ENVIRONMENT_KEY = 'AKIDFROMENVIRONMENT0';

/** The access key id and region of a SigV4 `Authorization` header. */
function signedWith(req: IncomingMessage): { key: string; region: string } | undefined {
  const m = /Credential=([A-Z0-9]+)\/\d{8}\/([a-z0-9-]+)\//.exec(req.headers.authorization ?? '');
  return m ? { key: m[1]!, region: m[2]! } : undefined;
}

async function refusingEndpoint(t: Test) {
  const seen: { key: string; region: string }[] = [];
  const asked = { requests: 0 };
  const server = createServer((req, res) => {
    asked.requests++;
    const s = signedWith(req);
    if (s) seen.push(s);
    req.resume();
    res.writeHead(401, { 'content-type': 'text/xml' });
    res.end(
      '<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>1</RequestID></Response>',
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, asked };
}

function profileEnv(dir: string, endpoint: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env))
    if (k.startsWith('AWS_') || k.startsWith('TOIL_')) env[k] = undefined;
  return {
    ...env,
    HOME: dir,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_EC2: endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // The keys toil-ts used to sign with: the environment's, those of the default profile here.
    AWS_ACCESS_KEY_ID: ENVIRONMENT_KEY,
    AWS_SECRET_ACCESS_KEY: 'environment-secret',
    TOIL_AWS_PROFILE: 'science',
    NODE_OPTIONS: `--import=${LOOPBACK_ONLY}`,
  };
}

const FILES = {
  credentials: [
    '[default]',
    `aws_access_key_id = ${ENVIRONMENT_KEY}`,
    'aws_secret_access_key = default-secret',
    '[science]',
    `aws_access_key_id = ${PROFILE_KEY}`,
    'aws_secret_access_key = science-secret',
    '',
  ].join('\n'),
  config: ['[default]', 'region = us-west-2', '[profile science]', 'region = eu-west-1', ''].join('\n'),
};

t.test(
  "TOIL_AWS_PROFILE: a cluster utility signs with that profile's keys, not the environment's",
  async (t) => {
    const dir = testDir(t, FILES);
    const ec2 = await refusingEndpoint(t);
    const r = await runToil(['destroy-cluster', 'science-cluster', '--zone', 'eu-west-1a'], {
      cwd: dir,
      env: profileEnv(dir, ec2.url),
    });
    t.not(r.code, 0, 'the endpoint refused the key');
    t.match(r.stderr, /AuthFailure/, `the refusal is what stopped it (${r.stderr.slice(0, 300)})`);
    t.ok(ec2.seen.length > 0, 'the endpoint was asked');
    t.same(
      [...new Set(ec2.seen.map((s) => s.key))],
      [PROFILE_KEY],
      "every request signed with the profile's key",
    );
    t.notMatch(
      r.stderr,
      /Multiple credential sources/,
      "no SDK warning that the environment's keys are passed over",
    );
  },
);

t.test(
  "TOIL_AWS_PROFILE without a zone or region: the profile's region, as Toil's session takes it",
  async (t) => {
    const dir = testDir(t, FILES);
    const ec2 = await refusingEndpoint(t);
    const r = await runToil(['destroy-cluster', 'science-cluster'], {
      cwd: dir,
      env: profileEnv(dir, ec2.url),
    });
    t.not(r.code, 0, 'the endpoint refused the key');
    t.match(r.stderr, /AuthFailure/, `the refusal is what stopped it (${r.stderr.slice(0, 300)})`);
    t.ok(ec2.seen.length > 0, 'the endpoint was asked');
    t.same([...new Set(ec2.seen.map((s) => s.region))], ['eu-west-1'], "signed for the profile's region");
    t.same([...new Set(ec2.seen.map((s) => s.key))], [PROFILE_KEY], "with the profile's key");
  },
);

t.test("TOIL_AWS_PROFILE: an aws: job store is read with that profile's keys", async (t) => {
  const dir = testDir(t, FILES);
  const s3 = await refusingEndpoint(t);
  const env = { ...profileEnv(dir, 'http://127.0.0.1:1'), AWS_ENDPOINT_URL_S3: s3.url };
  const r = await runToil(['clean', 'aws:eu-west-1:science-store'], { cwd: dir, env });
  t.not(r.code, 0, `the endpoint refused the key (${r.stderr.slice(0, 300)})`);
  t.ok(s3.seen.length > 0, 'the endpoint was asked');
  t.same(
    [...new Set(s3.seen.map((s) => s.key))],
    [PROFILE_KEY],
    "every request signed with the profile's key",
  );
});

/**
 * A TOIL_AWS_PROFILE naming no profile of the files ended, at the first request, in the generic
 * "no AWS credentials found", which names neither the variable nor the files; the command now
 * refuses it in one line before any request.
 */
for (const [what, args, endpointVar] of [
  [
    'a cluster utility',
    ['destroy-cluster', 'science-cluster', '--zone', 'eu-west-1a'],
    'AWS_ENDPOINT_URL_EC2',
  ],
  ['toil clean of an aws: job store', ['clean', 'aws:eu-west-1:science-store'], 'AWS_ENDPOINT_URL_S3'],
] as const) {
  t.test(`TOIL_AWS_PROFILE naming no profile: ${what} refuses it in one line, asking nothing`, async (t) => {
    const dir = testDir(t, FILES);
    const endpoint = await refusingEndpoint(t);
    const env = {
      ...profileEnv(dir, endpoint.url),
      [endpointVar]: endpoint.url,
      TOIL_AWS_PROFILE: 'nosuch',
    };
    const r = await runToil(args, { cwd: dir, env });
    t.equal(r.code, 2, `exit 2 (${r.stderr.slice(0, 300)})`);
    t.same(
      r.stderr.trim().split('\n'),
      [
        `toil: TOIL_AWS_PROFILE=nosuch: no such profile in ${join(dir, 'credentials')} or ${join(dir, 'config')} ` +
          "(expected the name of a profile there; 'aws configure list-profiles' lists them)",
      ],
      'one line naming the variable, the profile and the files looked in; no stack trace',
    );
    t.equal(endpoint.asked.requests, 0, 'no request was sent');
  });
}
