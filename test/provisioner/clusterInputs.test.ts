import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/common/log.js';
import { UserInputError } from '../../src/common/errors.js';
import { applianceImage, validateImageName } from '../../src/provisioner/appliance.js';
import { clusterTags } from '../../src/provisioner/aws/tags.js';
import { buildIgnition, buildUserData, systemdQuote } from '../../src/provisioner/aws/userData.js';
import { rsyncArgs, sshArgs } from '../../src/provisioner/cluster/remote.js';
import {
  parseNodeTypes,
  resolveClusterRegion,
  parseTags,
  parseTagsJson,
  parseWorkerCounts,
  positiveInteger,
  resolveZone,
  validateCidr,
  validateClusterName,
} from '../../src/provisioner/cluster/validate.js';
import { suggestNames } from '../../src/common/suggest.js';

function userError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserInputError) return e.message;
    throw e;
  }
  throw new Error('no UserInputError');
}

t.test('cluster names follow Toil: lowercase, digits and -, no _', async (t) => {
  for (const ok of ['a', 'my-cluster', 'c3', '0abc']) t.equal(validateClusterName(ok), ok);
  for (const bad of ['My', 'my_cluster', '-x', 'x-', '', 'a'.repeat(64), 'a.b'])
    t.match(
      userError(() => validateClusterName(bad)),
      /^invalid cluster name/,
      bad,
    );
});

t.test("node types, worker counts, tags, CIDRs and sizes are parsed with Toil's syntax", async (t) => {
  t.same(parseNodeTypes('t2.medium,m5.large:0.05', '--nodeTypes'), [
    { instanceType: 't2.medium', market: 'on-demand' },
    { instanceType: 'm5.large', market: 'spot', bid: 0.05 },
  ]);
  t.match(
    userError(() => parseNodeTypes('t2.medium,', 'x')),
    /empty node type/,
  );
  t.equal(
    userError(() => parseNodeTypes('c5.large,,t2.medium', '--nodeTypes')),
    "--nodeTypes: 'c5.large,,t2.medium' has an empty node type (entry 2): expected an instance type between the commas",
    'the empty entry is named by its position',
  );
  t.match(
    userError(() => parseNodeTypes('m5.large:abc', 'x')),
    /spot bid 'abc' of m5\.large/,
  );
  t.match(
    userError(() => parseNodeTypes('a:1:2', 'x')),
    /TYPE or TYPE:BID/,
  );
  t.equal(
    userError(() => parseNodeTypes('t3.large/m5.large:0.05', '--nodeTypes')),
    "--nodeTypes: 't3.large/m5.large:0.05' is a class of interchangeable instance types (TYPE/TYPE[:BID]), which the scaler of an autoscaled run takes (toil run --nodeTypes, the leader config's scaler.nodeTypes), choosing among them as it launches; launch-cluster starts static workers of one type each: give one (e.g. t3.large:0.05)",
    'a class of types is refused naming the syntax and where it is taken, not as an unknown type',
  );
  t.same(parseWorkerCounts('1,2', 2), [1, 2]);
  t.same(parseWorkerCounts(undefined, 2), [0, 0]);
  t.match(
    userError(() => parseWorkerCounts('3', 2)),
    /one count per --nodeTypes entry/,
  );
  t.match(
    userError(() => parseWorkerCounts('x', 1)),
    /not a number of workers/,
  );
  t.same(parseTags(['a=b', 'c=']), { a: 'b', c: '' });
  t.match(
    userError(() => parseTags(['nope'])),
    /^-t\/--tag: 'nope' has no '=': expected KEY=VALUE/,
  );
  // Toil splits a tag at '=' into two parts and refuses any other count.
  t.match(
    userError(() => parseTags(['a=b', 'c=d=e'])),
    /^-t\/--tag: 'c=d=e' has 2 '=': expected KEY=VALUE with one '='/,
  );
  t.match(
    userError(() => parseTags(['a=b=c=d'])),
    /^-t\/--tag: 'a=b=c=d' has 3 '='/,
  );
  t.match(
    userError(() => parseTags(['=v'])),
    /^-t\/--tag: '=v' has an empty key: expected KEY=VALUE/,
  );
  t.match(
    userError(() => parseTags(['team=x', 'clusterName=other'])),
    /^-t\/--tag: 'clusterName' is a tag toil sets itself/,
  );
  t.same(
    parseTagsJson('{"clusterName":"c"}'),
    { clusterName: 'c' },
    "a leader's TOIL_AWS_TAGS names its cluster",
  );
  t.same(parseTagsJson('{"team":"x"}'), { team: 'x' });
  t.same(parseTagsJson(undefined), {});
  t.match(
    userError(() => parseTagsJson('[1]')),
    /JSON object of string values/,
  );
  t.match(
    userError(() => parseTagsJson('{')),
    /is not JSON/,
  );
  t.equal(validateCidr('203.0.113.7/32'), '203.0.113.7/32');
  t.equal(validateCidr('2001:db8::/64'), '2001:db8::/64');
  for (const bad of ['1.2.3.4', '1.2.3.4/33', 'x/8', '1.2.3.4/8/1'])
    t.match(
      userError(() => validateCidr(bad)),
      /not a CIDR block/,
    );
  t.equal(positiveInteger('80', '--leaderStorage'), 80);
  t.match(
    userError(() => positiveInteger('0', '--leaderStorage')),
    /--leaderStorage: '0' is not a positive whole number/,
  );
  t.same(resolveZone(undefined, 'us-east-1b'), { zone: 'us-east-1b', source: 'TOIL_AWS_ZONE' });
  t.same(resolveZone('eu-west-1a', 'us-east-1b'), { zone: 'eu-west-1a', source: '--zone' });
});

t.test(
  'the appliance image: TOIL_APPLIANCE_SELF, else registry/name:version, validated and logged',
  async (t) => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }),
    });
    t.equal(applianceImage({}, '1.2.3', log), 'quay.io/ucsc_cgl/toil:1.2.3');
    t.match(lines.join(''), /Using default TOIL_DOCKER_REGISTRY as it is not set/);
    t.equal(
      applianceImage(
        { TOIL_DOCKER_REGISTRY: 'reg.example:5000/team/', TOIL_DOCKER_NAME: 'leader' },
        '1.2.3',
        log,
      ),
      'reg.example:5000/team/leader:1.2.3',
    );
    t.match(lines.join(''), /Overriding TOIL_DOCKER_NAME/);
    t.equal(applianceImage({ TOIL_APPLIANCE_SELF: 'me/toil:dev' }, '1.2.3', log), 'me/toil:dev');
    t.match(
      userError(() => applianceImage({ TOIL_DOCKER_NAME: 'Bad Name' }, '1', log)),
      /^TOIL_DOCKER_REGISTRY\/TOIL_DOCKER_NAME: .* is not a Docker image reference/,
    );
    t.match(
      userError(() => validateImageName('', 'X')),
      /X: '' is empty/,
    );
    t.match(
      userError(() => validateImageName(`a/${'b'.repeat(260)}`, 'X')),
      /longer than 256/,
    );
  },
);

t.test(
  'user data: Ignition 2.2.0 starting the appliance with the right Mesos role, under 16 KiB, no secrets',
  async (t) => {
    const worker = buildIgnition({
      role: 'worker',
      clusterName: 'c',
      applianceImage: 'img:1',
      zone: 'us-west-2a',
      leaderPrivateIp: '10.0.0.5',
      preemptable: true,
      tags: { Owner: 'o' },
    });
    t.equal(worker.ignition.version, '2.2.0');
    const unit = worker.systemd.units.find((u) => u.name === 'toil-worker.service')!;
    t.match(
      unit.contents,
      /ExecStart=\/usr\/bin\/docker run --name=toil_worker --net=host --init .* img:1 mesos-agent .*--master=10\.0\.0\.5:5050 --attributes=preemptable:true/,
    );
    t.match(
      unit.contents,
      /-e "TOIL_AWS_TAGS=\{\\"Owner\\":\\"o\\"\}"/,
      'tags passed on, quoted for systemd',
    );
    const leader = buildIgnition({
      role: 'leader',
      clusterName: 'c',
      applianceImage: 'img:1',
      zone: 'us-west-2a',
      preemptable: false,
      tags: {},
    });
    t.same(
      leader.systemd.units.map((u) => u.name),
      ['toil-leader.service', 'toil-leader-daemon.service'],
    );
    t.match(
      leader.systemd.units[0]!.contents,
      /mesos-master --log_dir=\/var\/lib\/mesos --registry=in_memory --cluster=c/,
    );
    t.match(leader.systemd.units[1]!.contents, /img:1 toil leader --config=\/etc\/toil\/leader\.yaml/);
    t.throws(
      () =>
        buildIgnition({
          role: 'worker',
          clusterName: 'c',
          applianceImage: 'i',
          zone: 'z',
          preemptable: false,
          tags: {},
        }),
      /leader private address/,
    );
    const big = { ...Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`tag${i}`, 'x'.repeat(40)])) };
    t.throws(
      () =>
        buildUserData({
          role: 'leader',
          clusterName: 'c',
          applianceImage: 'i',
          zone: 'z',
          preemptable: false,
          tags: big,
        }),
      /over EC2's limit of 16384/,
    );
    t.equal(systemdQuote('plain-word'), 'plain-word');
    t.equal(systemdQuote('a b'), '"a b"');
  },
);

t.test(
  'ssh and rsync command lines follow Toil: core@IP, docker exec into toil_leader, --insecure, one ":" path',
  async (t) => {
    t.same(sshArgs('1.2.3.4', [], { insecure: false, sshOptions: ['-oPort=2222'], tty: false }), [
      '-L',
      '5050:localhost:5050',
      '-oPort=2222',
      'core@1.2.3.4',
      'docker',
      'exec',
      '-i',
      'toil_leader',
      'bash',
    ]);
    t.same(sshArgs('1.2.3.4', ['sh', '-c', 'exit 7'], { insecure: true, sshOptions: [], tty: true }), [
      '-tt',
      '-L',
      '5050:localhost:5050',
      '-oUserKnownHostsFile=/dev/null',
      '-oStrictHostKeyChecking=no',
      'core@1.2.3.4',
      'docker',
      'exec',
      '-i',
      '-t',
      'toil_leader',
      'sh',
      '-c',
      "'exit 7'",
    ]);
    t.same(
      rsyncArgs('1.2.3.4', ['-av', 'sort.ts', ':/tmp'], { insecure: true, sshOptions: ['-oPort=2222'] }),
      [
        '-e',
        'ssh -oUserKnownHostsFile=/dev/null -oStrictHostKeyChecking=no -oPort=2222',
        '--rsync-path',
        'docker exec -i toil_leader rsync',
        '-av',
        'sort.ts',
        'core@1.2.3.4:/tmp',
      ],
    );
    t.match(
      userError(() => rsyncArgs('ip', [':a', ':b'], { insecure: false, sshOptions: [] })),
      /only one argument may start with ':'/,
    );
  },
);

t.test(
  "a user's Name and Owner tags replace toil's defaults, as in Toil; clusterName stays the cluster's",
  async (t) => {
    t.same(clusterTags({ clusterName: 'c', owner: 'k', extraTags: { team: 'x' } }), {
      Name: 'c',
      Owner: 'k',
      team: 'x',
      clusterName: 'c',
    });
    t.same(clusterTags({ clusterName: 'c', owner: 'k', extraTags: { Name: 'web', Owner: 'bob' } }), {
      Name: 'web',
      Owner: 'bob',
      clusterName: 'c',
    });
  },
);

t.test('"did you mean" finds typos and transpositions, not strangers', async (t) => {
  const known = ['t2.medium', 't2.micro', 'm5.large', 'm5a.large', 'c5.large'];
  t.same(suggestNames('t2.mediun', known), ['t2.medium']);
  t.same(suggestNames('m5.lareg', known)[0], 'm5.large');
  t.same(suggestNames('x1e.32xlarge', known), []);
});

t.test("a configured region is taken by AWS's region naming, ISO and sovereign regions too", async (t) => {
  for (const region of ['us-west-2', 'us-gov-west-1', 'us-isob-east-1', 'eusc-de-east-1', 'ap-southeast-6'])
    t.same(resolveClusterRegion(undefined, undefined, { region, source: 'TOIL_AWS_REGION' }), {
      region,
      source: 'TOIL_AWS_REGION',
    });
  for (const region of ['west', 'us-west-2a', 'US-WEST-2'])
    t.throws(
      () => resolveClusterRegion(undefined, undefined, { region, source: 'AWS_REGION' }),
      { message: `AWS_REGION: '${region}' is not a region like us-west-2` },
      region,
    );
});
