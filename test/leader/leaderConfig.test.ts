import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError } from '../../src/common/configErrors.js';
import { parseLeaderConfig, restartOnlyChanges } from '../../src/leader/leaderConfig.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

const catalogue = await readCatalogue();

function problems(text: string): string[] {
  try {
    parseLeaderConfig(text, catalogue);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

t.test('the shipped configs parse; durations become ms; the result is frozen', async (t) => {
  const embedded = parseLeaderConfig(readFileSync('config/leader.yaml', 'utf8'), catalogue);
  t.equal(embedded.http.host, '127.0.0.1');
  t.equal(embedded.http.port, 8080);
  t.equal(embedded.http.maxTickAge, 300_000);
  t.equal(embedded.provisioner.kind, 'embedded');
  t.equal(embedded.batchSystem.mesosMaster, 'embedded');
  t.equal(embedded.localcloud.bootDelay, 2000);
  t.equal(embedded.tick.queueDebounce, 500);
  t.equal(embedded.scaler.scaleIntervalSeconds, 10);
  t.same(
    embedded.scaler.nodeTypes.map((n) => [n.label, n.capacityType]),
    [
      ['t2.medium', 'on-demand'],
      ['t2.medium:spot', 'spot'],
    ],
  );
  t.ok(Object.isFrozen(embedded) && Object.isFrozen(embedded.http) && Object.isFrozen(embedded.scaler));

  const aws = parseLeaderConfig(readFileSync('config/aws.example.yaml', 'utf8'), catalogue);
  t.equal(aws.provisioner.kind, 'aws');
  if (aws.provisioner.kind === 'aws') {
    t.equal(aws.provisioner.clusterName, 'my-cluster');
    t.same(aws.provisioner.tags, { Project: 'genomics' });
  }
  t.equal(aws.batchSystem.mesosMaster, '127.0.0.1:5050');
  t.equal(aws.scaler.maxTotalNodes, 50);
});

t.test('defaults fill every section but the scaler, which is required', async (t) => {
  const c = parseLeaderConfig('scaler: { nodeTypes: c5.large }', catalogue);
  t.equal(c.http.host, '127.0.0.1', 'binds to loopback unless told otherwise');
  t.equal(c.shutdown.grace, 30_000);
  t.equal(c.tick.concurrency, 4);
  t.equal(c.provisioner.kind, 'embedded');
  t.same(problems(''), ['scaler: missing (at least scaler.nodeTypes is needed)']);
});

t.test('every problem is reported at once, with its path, from every section', async (t) => {
  const found = problems(`
http:
  port: 99999
  maxTickAge: soon
batchSystem:
  mesosMaster: "not-an-address"
provisioner:
  kind: aws
  zone: us-west-2a
  clusterName: "bad name!"
tick:
  concurrency: 0
bogus: 1
scaler:
  nodeTypes: c5.lage
  minNodes: 5
  maxNodes: 2
`);
  const has = (prefix: string): boolean => found.some((p) => p.startsWith(prefix));
  t.ok(has('http.port:'), 'port out of range');
  t.ok(has('http.maxTickAge: expected a duration'), 'duration that does not parse');
  t.ok(has('batchSystem.mesosMaster:'), 'bad master address');
  t.ok(has('provisioner.clusterName:'), 'bad cluster name');
  t.ok(has('tick.concurrency:'), 'concurrency below 1');
  t.ok(
    found.some((p) => p.includes('bogus')),
    'unknown keys are named',
  );
  t.ok(
    found.some((p) => p.startsWith('scaler.nodeTypes') && p.includes('did you mean c5.large')),
    "the scaler's own problems come with their path",
  );
  t.ok(found.length >= 7, `all problems together (${found.length})`);
});

t.test('YAML syntax errors and cross-section conflicts are problems too', async (t) => {
  t.match(problems('scaler: [unclosed')[0], /line \d+, column \d+: not valid YAML/);
  t.match(problems('- a list\n- not a mapping'), [/must be a mapping/]);
  t.same(
    problems(`
provisioner: { kind: aws, region: us-east-1, zone: us-west-2a, clusterName: c }
scaler: { region: us-west-2, nodeTypes: c5.large }`),
    ['provisioner.zone: us-west-2a is not in provisioner.region us-east-1'],
  );
  t.match(
    problems(`
provisioner: { kind: aws, zone: us-west-2a, clusterName: c }
scaler: { region: us-east-1, nodeTypes: c5.large }`),
    [/scaler.region: us-east-1 differs/],
  );
});

t.test(
  'http.host is checked when the config is read: an IP address or an RFC 1123 hostname, else a problem naming the key',
  async (t) => {
    const hostProblems = (host: string): string[] =>
      problems(`http: { host: ${JSON.stringify(host)} }\nscaler: { nodeTypes: c5.large }`);
    for (const good of [
      '127.0.0.1',
      '0.0.0.0',
      '::',
      '::1',
      'fe80::1',
      'localhost',
      'leader-1.example.org',
      '10-0-0-5.internal',
      'a'.repeat(63),
    ])
      t.same(hostProblems(good), [], `${good}: taken`);
    const expected =
      'expected an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1) or a hostname of letters, digits and dashes between dots (e.g. leader.example.org)';
    const rows: [host: string, problem: string][] = [
      ['not a host!', `http.host: ${expected}, got 'not a host!'`],
      ['', `http.host: ${expected}, got ''`],
      ['-leader', `http.host: ${expected}, got '-leader'`],
      ['leader-.example.org', `http.host: ${expected}, got 'leader-.example.org'`],
      ['leader..example.org', `http.host: ${expected}, got 'leader..example.org'`],
      ['under_score', `http.host: ${expected}, got 'under_score'`],
      ['256.0.0.1', `http.host: ${expected}, got '256.0.0.1'`],
      ['10.0.0', `http.host: ${expected}, got '10.0.0'`],
      ['http://127.0.0.1', `http.host: ${expected}, got 'http://127.0.0.1'`],
      ['127.0.0.1:8080', `http.host: ${expected}, got '127.0.0.1:8080'`],
      [`${'a'.repeat(64)}.org`, `http.host: ${expected}, got '${'a'.repeat(64)}.org'`],
      ['[::1]', "http.host: '[::1]': an IPv6 address is written without brackets here (::1)"],
    ];
    for (const [host, problem] of rows)
      t.same(hostProblems(host), [problem], `${JSON.stringify(host)}: refused`);
    t.same(
      problems(`http: { host: 8080 }\nscaler: { nodeTypes: c5.large }`),
      ['http.host: expected a string, got a number'],
      'not a string: its type said',
    );

    const dir = testDir(t, {
      'host.yaml': "http: { host: 'not a host!' }\nscaler: { nodeTypes: c5.large }\n",
    });
    const check = await runToil(['config', 'check', `${dir}/host.yaml`]);
    t.equal(check.code, 2, 'toil config check refuses it');
    t.match(check.stderr, `host.yaml is invalid:\n  - http.host: ${expected}, got 'not a host!'\n`);
    t.notMatch(check.stderr, /at .*\.js:\d+/, 'no stack trace');
  },
);

t.test('http.allowedHosts takes host names and .domains, and names an entry of another form', async (t) => {
  const allowedProblems = (names: string[]): string[] =>
    problems(`http: { allowedHosts: ${JSON.stringify(names)} }\nscaler: { nodeTypes: c5.large }`);
  t.same(
    allowedProblems([
      'leader.example.org',
      '.example.org',
      'LEADER',
      'leader.example.org.',
      '10.0.0.5',
      '[::1]',
    ]),
    [],
  );
  const expected =
    'expected a host name (e.g. leader.example.org), or a domain after a dot for it and every name under it (e.g. .example.org), without a scheme or port';
  t.same(
    allowedProblems(['leader.example.org:8080', 'http://leader.example.org', '*.example.org', '.', '']),
    [
      `http.allowedHosts[0]: ${expected}, got 'leader.example.org:8080'`,
      `http.allowedHosts[1]: ${expected}, got 'http://leader.example.org'`,
      `http.allowedHosts[2]: ${expected}, got '*.example.org'`,
      `http.allowedHosts[3]: ${expected}, got '.'`,
      `http.allowedHosts[4]: ${expected}, got ''`,
    ],
  );
  t.same(problems('scaler: { nodeTypes: c5.large }').length, 0);
});

t.test(
  'a job store locator the leader could not open is a problem with its path, as the leader says it',
  async (t) => {
    const rows: [string, string, string][] = [
      [
        'an unknown scheme',
        'bogus:foo',
        "jobStore: invalid job store locator 'bogus:foo': unknown scheme 'bogus' (expected file:PATH or aws:REGION:NAME)",
      ],
      [
        'file: with no path',
        'file:',
        "jobStore: invalid job store locator 'file:': expected a directory path after file:",
      ],
      [
        'an aws: store in a zone, not a region',
        'aws:us-west-2a:store',
        "jobStore: invalid job store locator 'aws:us-west-2a:store': region 'us-west-2a' is an availability zone, not a region (expected its region, us-west-2)",
      ],
    ];
    for (const [name, locator, want] of rows) {
      const found = problems(`jobStore: "${locator}"\nscaler: { nodeTypes: c5.large }`);
      t.equal(found.length, 1, `${name}: one problem (${found.join(' | ')})`);
      t.ok(found[0]?.startsWith(want), `${name}: ${found[0]}`);
    }
    t.same(problems(`jobStore: "file:./state"\nscaler: { nodeTypes: c5.large }`), [], 'a good one passes');
  },
);

t.test("an aws provisioner's zone gives the scaler its region and zones when it names none", async (t) => {
  const scaler = (yaml: string) => parseLeaderConfig(yaml, catalogue).scaler;
  t.match(
    scaler(`provisioner: { kind: aws, zone: us-west-2b, clusterName: c }
scaler: { nodeTypes: c5.large }`),
    { region: 'us-west-2', zones: ['us-west-2b'] },
    "the cluster's zone alone: priced in its region, workers in the leader's zone (as Toil)",
  );
  t.match(
    scaler(`provisioner: { kind: aws, zone: us-west-2b, clusterName: c }
scaler: { region: us-west-2, zones: [us-west-2a, us-west-2c], nodeTypes: c5.large }`),
    { region: 'us-west-2', zones: ['us-west-2a', 'us-west-2c'] },
    'what the scaler section says wins',
  );
  t.match(
    scaler(`provisioner: { kind: aws, region: us-east-1, zone: us-east-1c, clusterName: c }
scaler: { nodeTypes: c5.large }`),
    { region: 'us-east-1', zones: ['us-east-1c'] },
    'provisioner.region',
  );
  t.equal(
    scaler('scaler: { nodeTypes: c5.large }').region,
    'us-east-1',
    'the embedded local cloud keeps the scaler default',
  );
});

t.test("the workers' disk: what the scaler plans with is what the provisioner launches", async (t) => {
  const disk = (yaml: string) =>
    parseLeaderConfig(yaml, catalogue).scaler.nodeTypes[0]!.instanceTypes[0]!.diskBytes / 2 ** 30;
  t.equal(
    disk(`provisioner: { kind: aws, zone: us-west-2a, clusterName: c, nodeStorageGiB: 200 }
scaler: { region: us-west-2, nodeTypes: c5.large }`),
    200,
    'provisioner.nodeStorageGiB alone: the scaler plans with it',
  );
  t.equal(
    disk(`provisioner: { kind: aws, zone: us-west-2a, clusterName: c }
scaler: { region: us-west-2, nodeTypes: c5.large, nodeStorage: 80 }`),
    80,
    'scaler.nodeStorage alone',
  );
  t.equal(
    disk(`provisioner: { kind: aws, zone: us-west-2a, clusterName: c, nodeStorageGiB: 80 }
scaler: { region: us-west-2, nodeTypes: c5.large, nodeStorage: 80 }`),
    80,
    'both, agreeing',
  );
  t.same(
    problems(`provisioner: { kind: aws, zone: us-west-2a, clusterName: c, nodeStorageGiB: 200 }
scaler: { region: us-west-2, nodeTypes: c5.large, nodeStorage: 50 }`),
    [
      'provisioner.nodeStorageGiB: 200 differs from scaler.nodeStorage 50 (the scaler would plan with one disk size and launch another); give one of them',
    ],
  );
  // EC2 makes a root volume of whole GiB (and Toil's --nodeStorage is an int): a fraction would
  // have every launch refused.
  t.same(
    problems(`provisioner: { kind: aws, zone: us-west-2a, clusterName: c }
scaler: { region: us-west-2, nodeTypes: c5.large, nodeStorage: 10.5, nodeStorageOverrides: { c5.large: 20.5 } }`),
    [
      'scaler.nodeStorage: expected a whole number > 0 and <= 65536',
      'scaler.nodeStorageOverrides.c5.large: expected a whole number > 0 and <= 65536',
    ],
  );
});

t.test('batchSystem.kind picks Slurm; the embedded local cloud needs its own controller', async (t) => {
  const c = parseLeaderConfig('batchSystem: { kind: slurm }\nscaler: { nodeTypes: c5.large }', catalogue);
  t.match(c.batchSystem, { kind: 'slurm', slurmConf: 'embedded' });
  t.equal(parseLeaderConfig('scaler: { nodeTypes: c5.large }', catalogue).batchSystem.kind, 'mesos');
  t.same(
    problems(
      'batchSystem: { kind: slurm, slurmConf: /etc/slurm/slurm.conf }\nscaler: { nodeTypes: c5.large }',
    ),
    [
      'batchSystem.slurmConf: /etc/slurm/slurm.conf: the embedded local cloud runs its own controller; expected embedded',
    ],
  );
  t.match(problems('batchSystem: { kind: pbs }\nscaler: { nodeTypes: c5.large }'), [/batchSystem.kind/]);
  t.same(problems('batchSystem: { slurmConf: /x.conf }\nscaler: { nodeTypes: c5.large }'), [
    'batchSystem.slurmConf: not a key of kind mesos',
  ]);
  t.same(parseLeaderConfig('scaler: { nodeTypes: c5.large }', catalogue).batchSystem, {
    kind: 'mesos',
    mesosMaster: 'embedded',
  });
  const aws = parseLeaderConfig(
    `batchSystem: { kind: slurm, slurmConf: /etc/slurm/slurm.conf, slurmPartition: spot }
provisioner: { kind: aws, zone: us-west-2a, clusterName: c }
scaler: { region: us-west-2, nodeTypes: c5.large }`,
    catalogue,
  );
  t.match(aws.batchSystem, { kind: 'slurm', slurmConf: '/etc/slurm/slurm.conf', slurmPartition: 'spot' });
});

t.test("batchSystem takes Toil's Slurm flags as keys of kind slurm, checked as the flags are", async (t) => {
  const c = parseLeaderConfig(
    `batchSystem: { kind: slurm, slurmArgs: "--nice=5 --account=lab", slurmTime: "4:00:00", slurmQOS: normal, slurmPE: multi, slurmAllocateMem: false, batchLogsDir: /shared/logs }
scaler: { nodeTypes: c5.large }`,
    catalogue,
  );
  t.match(c.batchSystem, {
    kind: 'slurm',
    slurmArgs: '--nice=5 --account=lab',
    slurmTime: '4:00:00',
    slurmQOS: 'normal',
    slurmPE: 'multi',
    slurmAllocateMem: false,
    batchLogsDir: '/shared/logs',
  });
  t.same(problems('batchSystem: { kind: slurm, slurmTime: 4h }\nscaler: { nodeTypes: c5.large }'), [
    'batchSystem.slurmTime: expected a Slurm time limit as [DD-]HH:MM:SS (e.g. 4:00:00 or 1-12:00:00)',
  ]);
  // Refused by toil config check as the daemon refuses it at start: a --mem there would give
  // every job that memory.
  for (const [args, said] of [
    ['--nice=5 --mem=5G', /^batchSystem\.slurmArgs: --mem=5G: toil-ts asks Slurm for each job's own memory/],
    [
      '--comment=mine',
      /^batchSystem\.slurmArgs: --comment=mine: toil-ts writes each Slurm job's comment itself/,
    ],
  ] as const) {
    const refused = problems(
      `batchSystem: { kind: slurm, slurmArgs: "${args}" }\nscaler: { nodeTypes: c5.large }`,
    );
    t.equal(refused.length, 1, `slurmArgs "${args}": one problem`);
    t.match(refused[0], said);
  }
  t.same(problems('batchSystem: { kind: slurm, slurmQOS: "a b" }\nscaler: { nodeTypes: c5.large }'), [
    'batchSystem.slurmQOS: expected a Slurm QOS name',
  ]);
  t.same(problems('batchSystem: { slurmTime: "1:00:00" }\nscaler: { nodeTypes: c5.large }'), [
    'batchSystem.slurmTime: not a key of kind mesos',
  ]);
});

t.test('a time limit of 0 is refused: it would fail every start(), load, finish or probe', async (t) => {
  for (const key of [
    'workflows.startTimeout',
    'workflows.loadTimeout',
    'workflows.finishTimeout',
    'http.maxTickAge',
  ]) {
    const [section, field] = key.split('.');
    t.same(
      problems(`${section}: { ${field}: 0s }\nscaler: { region: us-west-2, nodeTypes: c5.large }`),
      [`${key}: expected a duration above 0 (e.g. 30s, 5m, 1h)`],
      key,
    );
  }
  t.same(problems('workflows: { startTimeout: 1s }\nscaler: { region: us-west-2, nodeTypes: c5.large }'), []);
});

t.test('an EC2 cluster takes x86_64 node types only (as Toil); the embedded cloud takes any', async (t) => {
  t.same(
    problems(`
provisioner: { kind: aws, zone: us-west-2a, clusterName: c }
scaler: { nodeTypes: "c5.large,c6g.large:0.05,m6g.large/m5.large" }`),
    [
      'scaler.nodeTypes[1]: c6g.large is an arm64 instance type: the nodes boot an x86_64 image and a Mesos cluster runs on amd64 only, as in Toil; choose x86_64 types (c5, m5, r5 …)',
      'scaler.nodeTypes[2]: m6g.large is an arm64 instance type: the nodes boot an x86_64 image and a Mesos cluster runs on amd64 only, as in Toil; choose x86_64 types (c5, m5, r5 …)',
    ],
  );
  t.same(
    problems('scaler: { region: us-west-2, nodeTypes: "c6g.large" }'),
    [],
    'the embedded cloud runs agents of any type here',
  );
});

t.test('restartOnlyChanges names sections a reload cannot apply', async (t) => {
  const a = parseLeaderConfig('scaler: { nodeTypes: c5.large, maxNodes: 2 }', catalogue);
  const b = parseLeaderConfig(
    'scaler: { nodeTypes: c5.large, maxNodes: 9 }\nhttp: { port: 9090 }',
    catalogue,
  );
  t.same(restartOnlyChanges(a, b), ['http']);
});

t.test(
  'restartOnlyChanges does not name the workflows and shutdown sections, which the leader reads where it uses them',
  async (t) => {
    const a = parseLeaderConfig('scaler: { nodeTypes: c5.large }', catalogue);
    const b = parseLeaderConfig(
      'scaler: { nodeTypes: c5.large }\nworkflows: { startTimeout: 5m }\nshutdown: { releaseNodes: true, grace: 5s }',
      catalogue,
    );
    t.same(restartOnlyChanges(a, b), [], 'a reload applies them: no restart is asked for');
  },
);

t.test('toil config check prints OK for a good file and every problem (exit 2) for a bad one', async (t) => {
  const ok = await runToil(['config', 'check', 'config/leader.yaml']);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /config\/leader.yaml: OK \(policy cost, 2 node type\(s\)/);

  const dir = testDir(t, {
    'bad.yaml': 'http: { port: -1 }\nscaler: { nodeTypes: c5.large, betaInertia: 3 }\n',
  });
  const bad = await runToil(['config', 'check', `${dir}/bad.yaml`]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /bad.yaml is invalid:\n {2}- http.port: .*\n {2}- scaler.betaInertia: /);
  t.notMatch(bad.stderr, /at .*\.js:\d+/, 'no stack trace');

  // A port web clients refuse, which toil leader refuses at start: a problem of the file, said
  // alone or with the file's others.
  writeFileSync(`${dir}/badport.yaml`, 'http: { port: 6000 }\nscaler: { nodeTypes: c5.large }\n');
  const badPort = await runToil(['config', 'check', `${dir}/badport.yaml`]);
  t.equal(badPort.code, 2, 'http.port 6000: refused');
  t.equal(badPort.stdout, '', 'no OK');
  t.match(
    badPort.stderr,
    /^toil: \S+badport\.yaml is invalid:\n {2}- http\.port: port 6000 is one web clients refuse to connect to \(a "bad port" of the Fetch standard: .*\), so nothing could reach the leader there \(toil leader refuses it at start\); expected another port, e\.g\. 8080\n$/,
  );
  writeFileSync(
    `${dir}/badport2.yaml`,
    'http: { port: 10080 }\nscaler: { nodeTypes: c5.large, betaInertia: 3 }\n',
  );
  const withOthers = await runToil(['config', 'check', `${dir}/badport2.yaml`]);
  t.match(
    withOthers.stderr,
    /is invalid:\n {2}- http\.port: port 10080 is one .*\n {2}- scaler\.betaInertia: /,
  );
  // toil leader's own parse leaves it to the leader: its --port may stand in for the file's.
  t.equal(
    parseLeaderConfig('http: { port: 6000 }\nscaler: { nodeTypes: c5.large }', catalogue).http.port,
    6000,
  );
  t.equal(
    parseLeaderConfig('http: { port: 6001 }\nscaler: { nodeTypes: c5.large }', catalogue, 'f', {
      servedPort: true,
    }).http.port,
    6001,
    'a port next to a bad one is served',
  );

  t.equal(ok.stderr, '', 'a region the catalogue prices: no warning');
  // A region the catalogue has no on-demand prices for: valid, with the leader's start-up warning.
  writeFileSync(
    `${dir}/estimated.yaml`,
    'scaler: { region: eu-west-1, zones: [eu-west-1a], nodeTypes: t2.medium }\n',
  );
  const estimated = await runToil(['config', 'check', `${dir}/estimated.yaml`]);
  t.equal(estimated.code, 0, estimated.stderr);
  t.match(estimated.stdout, /estimated\.yaml: OK /);
  t.equal(
    estimated.stderr,
    "toil: warning: the instance catalogue has no on-demand price for region eu-west-1: t2.medium priced at us-east-1's list price, so costs shown are estimates; for exact prices give scaler.instanceTypes.<type>.onDemandPrice (USD/h in eu-west-1) in the leader's config (docs/scaler.md)\n",
  );

  // A budget only spot nodes fit under: valid, with the warning the leader gives at start.
  writeFileSync(
    `${dir}/budget.yaml`,
    'scaler: { nodeTypes: [t2.medium, { type: t2.medium, spot: true }], maxHourlyCost: 0.01 }\n',
  );
  const budget = await runToil(['config', 'check', `${dir}/budget.yaml`]);
  t.equal(budget.code, 0, budget.stderr);
  t.equal(
    budget.stderr,
    'toil: warning: maxHourlyCost $0.01/h is below the on-demand price of every node type (the cheapest, t2.medium, is $0.0464/h): the scaler can launch only spot nodes, while their market price is under it, and work that is not preemptable never gets a node\n',
  );

  const missing = await runToil(['config', 'check', `${dir}/nope.yaml`]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read config file .*nope.yaml: ENOENT/);
});
