import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

// Every `toil` process (leader, worker, CLI call) pays at start-up for what its module graph loads
// statically: the AWS SDK's clients, the status server (fastify) and the metrics (prom-client) cost
// most of it, so they are loaded at their point of use, and a local run or a worker loads none.

const SORT = join(REPO_ROOT, 'examples/sort.ts');
const PROBE = join(REPO_ROOT, 'test/fixtures/loadedPackages.mjs');
const ESM_IMPORTED = join(REPO_ROOT, 'test/fixtures/esmImportedCommonJs.mjs');
// All CommonJS (the SDK's packages resolve to dist-cjs): the probe sees them when they load.
const HEAVY = ['@aws-sdk/client-s3', '@aws-sdk/client-ec2', '@aws-sdk/client-ssm', 'fastify', 'prom-client'];

async function loadedBy(dir: string, name: string, args: string[]) {
  const file = join(dir, `${name}.packages`);
  const r = await runToil(args, {
    cwd: dir,
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${PROBE}`, LOADED_PACKAGES_FILE: file },
  });
  const packages = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  return { r, packages };
}

t.test('a plain local run loads neither the AWS SDK clients nor fastify nor prom-client', async (t) => {
  const dir = scratchDir(t);
  const { r, packages } = await loadedBy(dir, 'run', ['run', SORT, 'file:./js', '--numLines', '3']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /workflow succeeded: 2 jobs run/);
  t.ok(packages.includes('commander') && packages.includes('esbuild'), 'the probe sees what loaded');
  for (const name of HEAVY) t.notOk(packages.includes(name), `${name} was not loaded`);
});

t.test('a worker loads neither the AWS SDK clients nor fastify nor prom-client', async (t) => {
  const dir = scratchDir(t);
  const made = await runToil(['run', SORT, 'file:./js', '--numLines', '1', '--clean', 'never'], { cwd: dir });
  t.equal(made.code, 0, made.stderr);
  // A job the store does not hold: the worker opens the store and reads it, having loaded its whole
  // module graph (static imports load whatever the path taken).
  const { r, packages } = await loadedBy(dir, 'worker', [
    'worker',
    'file:./js',
    'no-such-job',
    '--attempt',
    '1',
  ]);
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /job no-such-job has no ticket in job store file:\.\/js/);
  t.ok(packages.includes('commander'), 'the probe sees what loaded');
  for (const name of HEAVY) t.notOk(packages.includes(name), `${name} was not loaded`);
});

t.test('toil --help loads neither yaml nor prom-client (nor the OpenTelemetry API it brings)', async (t) => {
  // Help loads every sub-command's module: the leader's metrics and the YAML of config files and
  // user data are loaded where they are used, not by the modules that name them.
  const dir = scratchDir(t);
  const { r, packages } = await loadedBy(dir, 'help', ['--help']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /launch-cluster/);
  t.ok(packages.includes('commander'), 'the probe sees what loaded');
  for (const name of ['yaml', 'prom-client', '@opentelemetry/api', ...HEAVY])
    t.notOk(packages.includes(name), `${name} was not loaded`);
});

/**
 * The packages a plain node process loads importing `module` of dist/src, then evaluating `then`
 * (an expression over the module's exports, `m`), if given.
 */
function packagesLoadedImporting(dir: string, module: string, then = ''): string[] {
  const file = join(dir, `${module.replace(/\W/g, '-')}.packages`);
  const url = JSON.stringify(join(REPO_ROOT, 'dist/src', module));
  execFileSync(
    process.execPath,
    [`--import=${PROBE}`, '--input-type=module', '-e', `const m = await import(${url}); ${then}`],
    { env: { ...process.env, LOADED_PACKAGES_FILE: file } },
  );
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

t.test(
  'the AWS clients module loads no SDK client: the cluster utilities and the daemon do not pay for S3',
  async (t) => {
    const dir = scratchDir(t);
    // What launch-cluster, destroy-cluster, ssh-/rsync-cluster and the daemon load to build their
    // EC2 client; S3's client (0.25 s of CPU to load) is in main/s3Client.js, loaded by aws: stores.
    const clients = packagesLoadedImporting(dir, 'main/awsClients.js');
    for (const name of HEAVY) t.notOk(clients.includes(name), `${name} was not loaded`);
    t.notOk(
      packagesLoadedImporting(dir, 'main/s3Client.js').includes('@aws-sdk/client-s3'),
      'main/s3Client.js loads S3 when it builds a client, not when it is imported',
    );
    t.ok(
      packagesLoadedImporting(
        dir,
        'main/s3Client.js',
        "m.createS3Client('us-east-1', {}).destroy()",
      ).includes('@aws-sdk/client-s3'),
      'the probe sees S3 where it loads',
    );
    // The leader's provisioner names the munge key's parameter (a Slurm cluster's) and needs no SSM.
    const provisioner = packagesLoadedImporting(dir, 'provisioner/aws/awsProvisioner.js');
    t.ok(provisioner.includes('@aws-sdk/client-ec2'), 'the probe sees EC2 where it loads');
    t.notOk(provisioner.includes('@aws-sdk/client-ssm'), 'the provisioner does not load SSM');
  },
);

t.test(
  'the AWS SDK client packages load with require, so Node compiles each once and scans none for its exports',
  async (t) => {
    // An ES import of one of these CommonJS files makes Node compile it to tell its format and
    // scan it for export names before compiling it to run: ~0.4 s of CPU for EC2's, per leader.
    const dir = scratchDir(t);
    const imported = join(dir, 'esm-imported.txt');
    writeFileSync(imported, '');
    const dist = (module: string) => JSON.stringify(join(REPO_ROOT, 'dist/src', module));
    const script = [
      `const m = await import(${dist('common/awsSdkPackages.js')});`,
      'for (const load of [m.ec2Sdk, m.iamSdk, m.s3Sdk, m.ssmSdk]) load();',
      // The modules that use them, which loaded them by import, and one that imports commander.
      ...[
        'cli/main.js',
        'provisioner/aws/awsCluster.js',
        'provisioner/aws/clusterIam.js',
        'jobstore/s3ObjectStore.js',
      ].map((module) => `await import(${dist(module)});`),
    ].join(' ');
    const loaded = join(dir, 'loaded.packages');
    execFileSync(
      process.execPath,
      [`--import=${PROBE}`, `--import=${ESM_IMPORTED}`, '--input-type=module', '-e', script],
      { env: { ...process.env, LOADED_PACKAGES_FILE: loaded, ESM_IMPORTED_FILE: imported } },
    );
    const packages = readFileSync(loaded, 'utf8').split('\n');
    const esmImported = readFileSync(imported, 'utf8');
    t.match(esmImported, /node_modules\/commander\//, 'the hook sees CommonJS imported by an ES module');
    for (const name of [
      '@aws-sdk/client-ec2',
      '@aws-sdk/client-iam',
      '@aws-sdk/client-s3',
      '@aws-sdk/client-ssm',
    ]) {
      t.ok(packages.includes(name), `${name} loaded`);
      t.notOk(esmImported.includes(`/node_modules/${name}/`), `${name} was required, not imported`);
    }
  },
);
