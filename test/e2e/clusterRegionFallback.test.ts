import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startTestEndpoint } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

/**
 * ssh-, rsync- and destroy-cluster find an existing cluster, so a region is all they need: without
 * --zone or TOIL_AWS_ZONE they take TOIL_AWS_REGION, AWS_REGION, AWS_DEFAULT_REGION or the AWS
 * profile's region (what `aws configure` writes), as Toil does, and `toil destroy-cluster NAME`
 * works as Toil's docs write it. Each run reaches the local EC2 endpoint: a name it has never seen
 * is the endpoint's answer, not "no zone given".
 */
t.setTimeout(120_000);

t.test('the cluster utilities that find a cluster take a configured region for its zone', async (t) => {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const home = mkdtempSync(join(tmpdir(), 'toil-region-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const profileHome = join(home, 'profile');
  mkdirSync(join(profileHome, '.aws'), { recursive: true });
  writeFileSync(join(profileHome, '.aws', 'config'), '[default]\nregion = us-west-2\n');
  const bareHome = join(home, 'bare');
  mkdirSync(bareHome);
  const env = { AWS_ENDPOINT_URL_EC2: endpoint.url, HOME: bareHome };
  // A name with nothing of it is nothing to destroy (exit 0), said naming the region reached.
  const reached: [name: string, extra: Record<string, string>][] = [
    ['TOIL_AWS_REGION', { TOIL_AWS_REGION: 'us-west-2' }],
    ['AWS_DEFAULT_REGION', { AWS_DEFAULT_REGION: 'us-west-2' }],
    ["the AWS profile's region (aws configure)", { HOME: profileHome }],
    ['TOIL_AWS_ZONE inside TOIL_AWS_REGION', { TOIL_AWS_ZONE: 'us-west-2a', TOIL_AWS_REGION: 'us-west-2' }],
  ];
  for (const [name, extra] of reached) {
    const r = await runToil(['destroy-cluster', 'nosuch'], { ...env, ...extra });
    t.equal(r.code, 0, `${name}: exit 0 (stderr: ${r.stderr.slice(0, 2000)})`);
    t.match(
      r.stdout,
      /^nothing to destroy: nothing of cluster 'nosuch' is in region us-west-2 .*; clusters here: none$/m,
      name,
    );
  }
  const cases: [name: string, args: string[], extra: Record<string, string>, expected: RegExp][] = [
    [
      'ssh-cluster with TOIL_AWS_REGION',
      ['ssh-cluster', 'nosuch', 'true'],
      { TOIL_AWS_REGION: 'us-west-2' },
      /nosuch/,
    ],
    [
      'rsync-cluster with the AWS profile',
      ['rsync-cluster', 'nosuch', 'a.txt', ':/tmp'],
      { HOME: profileHome },
      /nosuch/,
    ],
    [
      'no zone and no region anywhere',
      ['destroy-cluster', 'nosuch'],
      {},
      /^toil: no zone or region given: pass --zone \(e\.g\. --zone us-west-2a\), or set TOIL_AWS_ZONE or TOIL_AWS_REGION \(or a region in your AWS profile\)$/,
    ],
    [
      'a region that is none',
      ['destroy-cluster', 'nosuch'],
      { TOIL_AWS_REGION: 'west' },
      /^toil: TOIL_AWS_REGION: 'west' is not a region like us-west-2$/,
    ],
  ];
  for (const [name, args, extra, expected] of cases) {
    const r = await runToil(args, { ...env, ...extra });
    t.equal(r.code, 2, `${name}: exit 2 (stderr: ${r.stderr.slice(0, 2000)})`);
    t.match(r.stderr.trim(), expected, name);
    t.notMatch(r.stderr, /no zone given/, `${name}: not refused for want of a zone`);
    t.notMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
  const launch = await runToil(['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k'], {
    ...env,
    TOIL_AWS_REGION: 'us-west-2',
  });
  t.match(
    launch.stderr.trim(),
    /^toil: no zone given: pass --zone/,
    'launch-cluster still needs a zone, as Toil',
  );
});

t.test(
  "an autoscaled toil run given no zone takes a configured region's first zone, as Toil's get_best_aws_zone",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'toil-region-run-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const bareHome = join(dir, 'home');
    mkdirSync(bareHome);
    const run = (extra: Record<string, string>) =>
      runToil(
        [
          ...['run', join(process.cwd(), 'examples/fanout.ts'), `file:${join(dir, 'js')}`],
          ...['--provisioner', 'aws', '--clusterName', 'c', '--nodeTypes', 'c5.large'],
          // Nothing answers there: the run ends at the master check, after the zone was taken.
          ...['--batchSystem', 'mesos', '--mesosMaster', '127.0.0.1:1', '--workDir', dir],
        ],
        { HOME: bareHome, AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1', ...extra },
      );
    const taken = await run({ TOIL_AWS_REGION: 'us-west-2' });
    t.equal(taken.code, 2, taken.stderr);
    t.match(
      taken.stderr,
      /^toil: --mesosMaster 127\.0\.0\.1:1: the Mesos master does not answer/m,
      'past the zone',
    );
    t.notMatch(taken.stderr, /zone/, 'no word of a missing zone');
    const bad = await run({ AWS_DEFAULT_REGION: 'west' });
    t.equal(bad.code, 2);
    t.equal(bad.stderr, "toil: AWS_DEFAULT_REGION: 'west' is not a region like us-west-2\n");
    const none = await run({});
    t.equal(none.code, 2);
    t.equal(
      none.stderr,
      'toil: no zone or region given: pass --zone (e.g. --zone us-west-2a), or set TOIL_AWS_ZONE or TOIL_AWS_REGION (or a region in your AWS profile)\n',
    );
    const badZone = await run({ TOIL_AWS_ZONE: 'uswest2a' });
    t.equal(badZone.stderr, 'toil: TOIL_AWS_ZONE=uswest2a: expected a zone like us-west-2a\n');
  },
);
