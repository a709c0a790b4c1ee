import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { endpointWithKeyPair, startTestEndpoint } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

/**
 * The cluster utilities take the options every Toil utility takes (Toil's
 * parser_with_common_options), as Toil's docs list them for launch-cluster: `--logInfo`,
 * `--logDebug`, … set the log level (default warning), `--logFile` appends the log to a file too,
 * `--tempDirRoot` says it changes nothing; none stops the command at "unknown option", and ssh- and
 * rsync-cluster do not take a switch before the name for the name.
 */
t.setTimeout(120_000);

t.test("Toil's logging options on the cluster utilities", async (t) => {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const dir = mkdtempSync(join(tmpdir(), 'toil-cluster-logging-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { AWS_ENDPOINT_URL_EC2: endpoint.url };
  const launch = [
    'launch-cluster',
    'c1',
    '--nodeType',
    't2.medium',
    '--keyPairName',
    'nokey',
    '-z',
    'us-west-2a',
  ];
  const noKey = /^toil: --keyPairName: no key pair named 'nokey' in region us-west-2 \(key pairs here: /m;

  const quiet = await runToil(launch, env);
  t.equal(quiet.code, 2);
  t.match(quiet.stderr, noKey);
  t.notMatch(quiet.stderr, /Using the appliance image/, 'the default level is warning');

  const logFile = join(dir, 'launch.log');
  const info = await runToil([...launch, '--logInfo', '--logFile', logFile], env);
  t.equal(info.code, 2, `--logInfo --logFile: the command runs (stderr: ${info.stderr.slice(0, 1000)})`);
  t.match(info.stderr, noKey);
  t.match(info.stderr, /Using the appliance image/, '--logInfo sets the level');
  t.match(readFileSync(logFile, 'utf8'), /Using the appliance image/, '--logFile gets the log too');

  const cases: [name: string, args: string[], expected: RegExp][] = [
    [
      'ssh-cluster --logWarning before the name',
      ['ssh-cluster', '--logWarning', '-z', 'us-west-2a', 'nosuch'],
      /nosuch/,
    ],
    [
      'rsync-cluster --logOff before the name',
      ['rsync-cluster', '--logOff', '-z', 'us-west-2a', 'nosuch', 'a.txt', ':/tmp'],
      /nosuch/,
    ],
    [
      "launch-cluster --awsEc2ExtraSecurityGroupId (Toil's) given a group's name, not its ID",
      [
        ...launch,
        '--awsEc2ExtraSecurityGroupId',
        'sg-0123456789abcdef0',
        '--awsEc2ExtraSecurityGroupId',
        'lab',
      ],
      /^toil: --awsEc2ExtraSecurityGroupId: 'lab' is not a security group ID like sg-0123456789abcdef0 \(give the ID, not the name\)$/,
    ],
  ];
  const destroy = await runToil(
    ['destroy-cluster', '--logDebug', '--tempDirRoot', dir, '-z', 'us-west-2a', 'nosuch'],
    env,
  );
  t.equal(destroy.code, 0, 'destroy-cluster --logDebug --tempDirRoot: nothing to destroy, exit 0');
  t.match(
    destroy.stderr,
    /^toil: --tempDirRoot has no effect here: the cluster utilities make no temporary files$/m,
  );
  t.match(destroy.stdout, /^nothing to destroy: nothing of cluster 'nosuch' is in region us-west-2 /m);
  for (const [name, args, expected] of cases) {
    const r = await runToil(args, env);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.match(r.stderr.trim(), expected, name);
    t.notMatch(r.stderr, /unknown option|invalid cluster name/, `${name}: the option is taken as one`);
  }
});

t.test(
  'launch- and destroy-cluster --logDebug: the log is lines a person reads on stderr, stdout only the progress',
  async (t) => {
    const { env } = await endpointWithKeyPair(t);
    const dir = mkdtempSync(join(tmpdir(), 'toil-cluster-logging-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const logFile = join(dir, 'launch.log');
    const launch = await runToil(
      [
        ...['launch-cluster', '--logDebug', 'c2', '--nodeType', 't2.medium', '-w', '1'],
        ...['--keyPairName', 'k', '-z', 'us-west-2a', '--logFile', logFile],
      ],
      env,
    );
    t.equal(launch.code, 0, launch.stderr);
    t.match(launch.stdout, /^cluster 'c2' is up: leader i-\w+ \(\S+\), 1 worker\(s\)$/m);
    t.notMatch(launch.stdout, /INFO|DEBUG|"level"|^\{/m, 'no log line on stdout');
    const appliance = /^\d\d:\d\d:\d\d INFO: Using the appliance image \(image=\S+\)$/m;
    t.match(launch.stderr, appliance, 'a log line as toil run prints it');
    t.match(
      launch.stderr,
      /^\d\d:\d\d:\d\d INFO provisioner: instances launched \(cluster=c2 role=worker /m,
      'the component and the fields are named',
    );
    t.notMatch(launch.stderr, /^\{/m, 'no JSON line on stderr');
    t.match(readFileSync(logFile, 'utf8'), appliance, '--logFile gets the same lines');

    const destroy = await runToil(['destroy-cluster', '--logDebug', '-z', 'us-west-2a', 'c2'], env);
    t.equal(destroy.code, 0, destroy.stderr);
    t.match(destroy.stdout, /^cluster 'c2' destroyed$/m);
    t.notMatch(destroy.stdout + destroy.stderr, /"level"|^\{/m, 'no JSON line');
  },
);
