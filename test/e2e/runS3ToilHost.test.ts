/**
 * Toil's docs point an `aws:` job store at MinIO or another S3-compatible store with TOIL_S3_HOST,
 * TOIL_S3_PORT and TOIL_S3_USE_SSL=False ("Using MinIO and S3-Compatible object stores", and the
 * environment variables' table). Set so, and with no AWS_ENDPOINT_URL_S3, the job store is a
 * bucket of that server (moto here): run, status and clean all reach it, and nothing goes to AWS's
 * S3 of the region. A value that makes no endpoint, or one contradicting AWS_ENDPOINT_URL_S3, is
 * the user's one line, exit 2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Client, startMoto } from '../fixtures/motoServer.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

const FANOUT = join(REPO_ROOT, 'examples/fanout.ts');
const LOCATOR = 'aws:us-west-2:toil-s3-host';
const BUCKET = 'toil-s3-host--toil';

t.setTimeout(240_000);

t.test(
  "TOIL_S3_HOST, TOIL_S3_PORT and TOIL_S3_USE_SSL=False put the job store on that server, as Toil's docs say",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const s3 = motoS3Client(moto);
    t.teardown(() => s3.destroy());
    const dir = mkdtempSync(join(tmpdir(), 'toil-s3-host-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const env = {
      AWS_ENDPOINT_URL_S3: undefined,
      TOIL_S3_HOST: '127.0.0.1',
      TOIL_S3_PORT: String(moto.port),
      TOIL_S3_USE_SSL: 'False',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    };
    const buckets = async (): Promise<string[]> => {
      const { ListBucketsCommand } = s3Sdk();
      const listed = await s3.send(new ListBucketsCommand({}));
      return (listed.Buckets ?? []).map((b) => b.Name ?? '');
    };

    const run = await runToil(
      ['run', FANOUT, LOCATOR, '--jobs', '3', '--clean', 'never', '--disableProgress'],
      {
        cwd: dir,
        env,
      },
    );
    t.equal(run.code, 0, `the workflow runs on the job store (stderr: ${run.stderr.slice(-2000)})`);
    t.match(run.stderr, /workflow succeeded: 5 jobs run/, 'every job ran');
    t.same(await buckets(), [BUCKET], 'the job store is a bucket of the server TOIL_S3_HOST names');

    const status = await runToil(['status', LOCATOR, '--json'], { cwd: dir, env });
    t.equal(status.code, 0, `toil status reads it (stderr: ${status.stderr.slice(0, 2000)})`);
    t.match(JSON.parse(status.stdout), { finished: true, failedAttempts: 0 }, 'the finished workflow');

    const clean = await runToil(['clean', LOCATOR], { cwd: dir, env });
    t.equal(clean.code, 0, `toil clean deletes it (stderr: ${clean.stderr.slice(0, 2000)})`);
    t.same(await buckets(), [], 'the bucket is gone from that server');

    const base = ['status', LOCATOR];
    const refused = async (what: string, over: Record<string, string>, expected: RegExp): Promise<void> =>
      oneLineRefusal(t, what, await runToil(base, { cwd: dir, env: { ...env, ...over } }), expected);
    await refused(
      'a port that is no number',
      { TOIL_S3_PORT: '90x' },
      /^toil: TOIL_S3_PORT: '90x' is not a port \(expected a whole number from 1 to 65535\)$/,
    );
    await refused(
      'a TOIL_S3_USE_SSL that is no boolean',
      { TOIL_S3_USE_SSL: 'plain' },
      /^toil: TOIL_S3_USE_SSL: 'plain' is not a boolean \(expected True or False\)$/,
    );
    await refused(
      'a URL for a host',
      { TOIL_S3_HOST: `http://127.0.0.1:${moto.port}` },
      /^toil: TOIL_S3_HOST: 'http:\/\/127\.0\.0\.1:\d+' is not a host name or IP address \(expected e\.g\. 127\.0\.0\.1/,
    );
    await refused(
      'another endpoint in AWS_ENDPOINT_URL_S3',
      { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' },
      /^toil: AWS_ENDPOINT_URL_S3 \(http:\/\/127\.0\.0\.1:1\) and TOIL_S3_HOST, TOIL_S3_USE_SSL, TOIL_S3_PORT \(http:\/\/127\.0\.0\.1:\d+\) name different S3 endpoints: set one of them$/,
    );
    const same = await runToil(base, { cwd: dir, env: { ...env, AWS_ENDPOINT_URL_S3: moto.endpoint } });
    t.equal(same.code, 2, 'the same endpoint in both is taken (the store, cleaned, is not there)');
    t.match(same.stderr, /does not exist/, 'it is looked for on that server');
  },
);
