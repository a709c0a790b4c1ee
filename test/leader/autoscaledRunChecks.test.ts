import t from 'tap';
import {
  checkJobLaunchable,
  checkScalingFlags,
  checkServicesTogether,
  type DeclaredJob,
} from '../../src/leader/autoscaledRunChecks.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { parseScalerConfig } from '../../src/scaler/config.js';
import { scalerConfigKeys, type ScalerSettingNames } from '../../src/leader/scalerSettingNames.js';

/**
 * The seed form's check before anything is launched: a job no allowed node type can ever run is
 * refused with the flag that would fix it — for a job that is not preemptable under spot-only node
 * types, an on-demand type (or --defaultPreemptible), not "a bigger type", which would not help.
 */
const catalogue = await readCatalogue();
const config = (nodeTypes: string, limits: Record<string, unknown> = {}) =>
  parseScalerConfig({ region: 'us-west-2', nodeTypes, ...limits }, catalogue);
const job = (o: Partial<DeclaredJob> = {}): DeclaredJob => ({
  name: 'root',
  cores: 1,
  memoryBytes: 2 ** 30,
  diskBytes: 2 ** 30,
  preemptable: false,
  ...o,
});

const rows: [name: string, nodeTypes: string, job: DeclaredJob, expected: RegExp, not?: RegExp][] = [
  [
    'not preemptable, only spot types: an on-demand type or --defaultPreemptible',
    't2.medium:0.03',
    job(),
    /^job 'root' can never run: preemptable: the job is not preemptable and every configured node type is spot \(largest allowed node type t2\.medium\); add an on-demand type to --nodeTypes \(one without :BID\), or make the job preemptable \(--defaultPreemptible, for a job that does not say\)$/,
    /bigger type/,
  ],
  [
    'a service, only spot types: an on-demand type or preemptable: true in its requirements, not --defaultPreemptible, which does not reach it',
    't2.medium:0.03',
    job({ name: 'db', service: true }),
    /^job 'db' can never run: preemptable: the job is not preemptable and every configured node type is spot \(largest allowed node type t2\.medium\); add an on-demand type to --nodeTypes \(one without :BID\), or declare the service preemptable: true in its requirements \(--defaultPreemptible does not reach a service\)$/,
    /make the job preemptable/,
  ],
  [
    'not preemptable, too big for the on-demand types but not for a spot one: the spot type is named, and an on-demand type as the fix',
    'c5.large,r5.large:0.05',
    job({ memoryBytes: 6 * 2 ** 30 }),
    /^job 'root' can never run: preemptable: the job is not preemptable, and only spot node types fit it \(r5\.large\); the on-demand ones are too small \(largest allowed node type r5\.large\); add an on-demand type to --nodeTypes \(one without :BID\), or make the job preemptable/,
    /no single node type/,
  ],
  [
    'too big for every type: a bigger type or the requirements',
    't2.medium',
    job({ memoryBytes: 100 * 2 ** 30 }),
    /^job 'root' can never run: memory: asks 100\.0 GiB, .*; change --nodeTypes\/--nodeType to a bigger type, or the job's requirements \(--defaultCores\/--defaultMemory\/--defaultDisk\)$/,
    /on-demand type/,
  ],
  [
    'both: every way out is named',
    't2.medium:0.03',
    job({ memoryBytes: 100 * 2 ** 30 }),
    /add an on-demand type to --nodeTypes .*, make the job preemptable .*, change --nodeTypes\/--nodeType to a bigger type, or the job's requirements/,
  ],
];

for (const [name, nodeTypes, j, expected, not] of rows)
  t.test(name, async (t) => {
    const e = t.throws(() => checkScalingFlags([j], config(nodeTypes))) as Error;
    t.match(e.message, expected);
    if (not) t.notMatch(e.message, not);
  });

t.test('of several jobs that can never run, the first given is named and the others counted', async (t) => {
  const spotOnly = config('t2.medium:0.03');
  const jobs = [
    job({ name: 'first', preemptable: true }),
    job({ name: 'second' }),
    job({ name: 'third', memoryBytes: 100 * 2 ** 30, preemptable: true }),
    job({ name: 'fourth' }),
  ];
  const e = t.throws(() => checkScalingFlags(jobs, spotOnly)) as Error & {
    details: Record<string, unknown>;
  };
  t.match(
    e.message,
    /^job 'second' can never run: preemptable: .*, or make the job preemptable \(--defaultPreemptible, for a job that does not say\); 2 other jobs cannot run either: 'third', 'fourth'$/,
  );
  t.equal(e.details.job, 'second');
  t.same(e.details.others, ['third', 'fourth'], 'the details name the others too');
  const one = t.throws(() => checkScalingFlags([job({ name: 'only' })], spotOnly)) as Error;
  t.notMatch(one.message, /other/, 'a lone job is named alone');
});

t.test('a job that fits is not refused', async (t) => {
  t.doesNotThrow(() => checkScalingFlags([job({ preemptable: true })], config('t2.medium:0.03')));
});

/**
 * An EBS-only type's disk is its root volume (--nodeStorage GiB) less Toil's overhead, 5 GB (Toil's
 * human2bytes("5G"), decimal) and 5 %: a 5 GiB volume keeps 95 MiB for jobs, as in Toil (5 GiB
 * here left nothing). A job that asks more is told what the overhead took, the volume it needs,
 * and the flag that sizes it: the type's --nodeStorageOverrides entry when it has one.
 */
t.test(
  'a small root volume keeps what Toil keeps for jobs, and a refusal says the --nodeStorage needed',
  async (t) => {
    const small = (nodeStorage: number) => config('t2.micro', { nodeStorage });
    t.doesNotThrow(
      () => checkScalingFlags([job({ memoryBytes: 2 ** 28, diskBytes: 2 ** 20 })], small(5)),
      'a 1 MiB job fits a 5 GiB root volume',
    );
    const e = t.throws(() =>
      checkScalingFlags([job({ memoryBytes: 2 ** 28, diskBytes: 2 * 2 ** 30 })], small(5)),
    ) as Error;
    t.match(
      e.message,
      /^job 'root' can never run: disk: asks 2\.0 GiB, the most any node type offers is 95\.6 MiB after overhead \(t2\.micro's 5\.0 GiB root volume less 4\.9 GiB for the OS, as Toil reserves it: 5 GB and 5 % of the volume; a root volume of 8 GiB or more gives the job its disk\) \(largest allowed node type t2\.micro\); raise --nodeStorage to 8 or more, change --nodeTypes\/--nodeType to a bigger type, or the job's requirements/,
    );
    t.doesNotThrow(
      () => checkScalingFlags([job({ memoryBytes: 2 ** 28, diskBytes: 2 * 2 ** 30 })], small(8)),
      'and that --nodeStorage does give it',
    );
    const overridden = config('t2.micro', { nodeStorage: 50, nodeStorageOverrides: { 't2.micro': 5 } });
    t.throws(
      () => checkScalingFlags([job({ memoryBytes: 2 ** 28, diskBytes: 2 * 2 ** 30 })], overridden),
      { message: /; raise --nodeStorageOverrides t2\.micro to 8 or more, / },
      'a type of its own root volume: its --nodeStorageOverrides entry, which --nodeStorage does not change',
    );
  },
);

/**
 * A host's services run all at once, with its successors beside them: checked together when the
 * host has run, against the nodes the scaler may launch (each alone fitting a node proves nothing).
 */
const GiB = 2 ** 30;
const svc = (name: string, cores: number, o: Partial<DeclaredJob> = {}) =>
  job({ name, cores, memoryBytes: GiB, diskBytes: GiB, service: true, ...o });
const user = job({ name: 'use', cores: 1, memoryBytes: GiB / 4, diskBytes: 2 ** 20 });

const together: [
  name: string,
  services: DeclaredJob[],
  beside: DeclaredJob | undefined,
  nodeTypes: string,
  limits: Record<string, unknown>,
  refused: RegExp | undefined,
][] = [
  [
    'two 8-core services and their user on 8-core nodes under --maxNodes 2: three nodes needed',
    [svc('dbA', 8), svc('dbB', 8)],
    user,
    'c5.2xlarge',
    { maxNodes: 2 },
    /^job 'host' adds services 'dbA' \(8 cores, 1\.0 GiB memory, 1\.0 GiB disk\), 'dbB' \(8 cores, [^)]*\) that run all at once, with room for its job 'use' \(1 cores, [^)]*\) beside them, but the nodes this run may launch cannot hold them together under --maxNodes 2 \(c5\.2xlarge\): they need 3 node\(s\) at once, and the run would wait for room that never comes until --deadlockWait failed it; raise the limit/,
  ],
  [
    'the same under --maxNodes 3: they fit',
    [svc('dbA', 8), svc('dbB', 8)],
    user,
    'c5.2xlarge',
    { maxNodes: 3 },
    undefined,
  ],
  [
    'small services share one node: --maxNodes 1 is enough',
    [svc('dbA', 2), svc('dbB', 2)],
    user,
    'c5.2xlarge',
    { maxNodes: 1 },
    undefined,
  ],
  [
    'preemptable services on spot-only types under --maxPreemptableNodes 1',
    [svc('dbA', 2, { preemptable: true }), svc('dbB', 2, { preemptable: true })],
    undefined,
    'c5.large:0.05',
    { maxPreemptableNodes: 1 },
    /cannot hold them together under --maxNodes 10 \(c5\.large:0\.05\), --maxPreemptableNodes 1: they need 2 node\(s\) at once/,
  ],
  [
    'an on-demand service never counts on a spot type: the on-demand type alone must hold it and its user',
    [svc('db', 2)],
    user,
    'c5.large:0.05,c5.large',
    { maxNodes: '10,1' },
    /job 'host' adds services 'db' .* under --maxNodes 10 \(c5\.large:0\.05\), 1 \(c5\.large\): they need 2 node\(s\)/,
  ],
  [
    'the same with a preemptable user: it takes a spot node beside the service',
    [svc('db', 2)],
    { ...user, preemptable: true },
    'c5.large:0.05,c5.large',
    { maxNodes: '10,1' },
    undefined,
  ],
  [
    'a service too big for every type alone is left to the check of each job',
    [svc('huge', 64)],
    user,
    'c5.2xlarge',
    { maxNodes: 1 },
    undefined,
  ],
];

for (const [name, services, beside, nodeTypes, limits, refused] of together)
  t.test(name, async (t) => {
    const check = () => checkServicesTogether('host', services, beside, config(nodeTypes, limits));
    if (!refused) return void t.doesNotThrow(check);
    const e = t.throws(check) as Error & { code?: string };
    t.equal(e.code, 'WORKFLOW_WOULD_HANG');
    t.match(e.message, refused);
  });

t.test('a job a running workflow adds is judged against the node types the scaler may launch', async (t) => {
  const GiB = 2 ** 30;
  const mixed = config('c5.xlarge,r5.large');
  // 4 cores fit the c5.xlarge and 10 GiB the r5.large, but no type holds both.
  t.throws(() => checkJobLaunchable(job({ name: 'wide', cores: 4, memoryBytes: 10 * GiB }), mixed), {
    code: 'WORKFLOW_WOULD_HANG',
    message: /^job 'wide' can never run: /,
  });
  t.doesNotThrow(() => checkJobLaunchable(job({ name: 'narrow', cores: 4, memoryBytes: 4 * GiB }), mixed));
  t.doesNotThrow(() => checkJobLaunchable(job({ name: 'tall', cores: 2, memoryBytes: 10 * GiB }), mixed));
  // The same shape under another name is named as itself (verdicts are kept per name and shape).
  t.throws(() => checkJobLaunchable(job({ name: 'wide2', cores: 4, memoryBytes: 10 * GiB }), mixed), {
    message: /^job 'wide2' /,
  });
  // A limit under which nothing is ever launched for it.
  t.throws(
    () =>
      checkJobLaunchable(
        job({ name: 'down', preemptable: true }),
        config('t2.medium:0.02', { maxPreemptableNodes: 0 }),
      ),
    { message: /^job 'down'/ },
  );
  // A reloaded config is judged anew: a bigger type makes the same job launchable.
  t.doesNotThrow(() =>
    checkJobLaunchable(job({ name: 'wide', cores: 4, memoryBytes: 10 * GiB }), config('c5.xlarge,r5.xlarge')),
  );
});

/**
 * On a leader daemon the submitter's scaling flags do nothing: the operator changes the scaler's
 * keys in the daemon's config file. Its refusals name those keys and the file, never the flags.
 */
const daemonKeys = scalerConfigKeys('/etc/toil/leader.yaml');
const FLAG =
  /--nodeTypes|--nodeType\b|--maxNodes|--maxPreemptableNodes|--preemptableCompensation|--nodeStorage/;
/** A 2 GiB-disk job checked under `scaler`, worded with `names`. */
const deep = (scaler: ReturnType<typeof config>, names: ScalerSettingNames): void =>
  checkJobLaunchable(
    job({ name: 'deep', memoryBytes: 2 ** 28, diskBytes: 2 * 2 ** 30 }),
    scaler,
    undefined,
    names,
  );
const onDaemon: [name: string, check: () => void, expected: RegExp][] = [
  [
    'a job no type fits whole: a bigger type in scaler.nodeTypes',
    () =>
      checkJobLaunchable(
        job({ name: 'wide', cores: 4, memoryBytes: 10 * 2 ** 30 }),
        config('c5.xlarge,r5.large'),
        undefined,
        daemonKeys,
      ),
    /^job 'wide' can never run: .*; change scaler\.nodeTypes in \/etc\/toil\/leader\.yaml to a bigger type, or the job's requirements \(--defaultCores\/--defaultMemory\/--defaultDisk\)$/,
  ],
  [
    'a job that is not preemptable under spot-only types: an on-demand entry of scaler.nodeTypes',
    () => checkJobLaunchable(job(), config('t2.medium:0.03'), undefined, daemonKeys),
    /^job 'root' can never run: preemptable: .*; add an on-demand type to scaler\.nodeTypes in \/etc\/toil\/leader\.yaml \(one without a bid or spot: true\), or make the job preemptable/,
  ],
  [
    'a job only a type of maxNodes 0 fits: scaler.maxNodes',
    () =>
      checkJobLaunchable(
        job({ name: 'big', cores: 4 }),
        config('c5.xlarge,r5.large', { maxNodes: '0,2' }),
        undefined,
        daemonKeys,
      ),
    /^job 'big' would wait forever: maxNodes reached for c5\.xlarge .*; change scaler\.maxNodes or scaler\.nodeTypes \(an on-demand type\) in \/etc\/toil\/leader\.yaml$/,
  ],
  [
    'a preemptable job under maxPreemptableNodes 0 and spot-only types: the spot keys',
    () =>
      checkJobLaunchable(
        job({ name: 'down', preemptable: true }),
        config('t2.medium:0.02', { maxPreemptableNodes: 0 }),
        undefined,
        daemonKeys,
      ),
    /^job 'down' \(preemptable\) would wait forever: .*; change scaler\.maxPreemptableNodes, scaler\.preemptableCompensation, scaler\.maxNodes or scaler\.nodeTypes in \/etc\/toil\/leader\.yaml$/,
  ],
  [
    'a job whose disk is over the root volume: scaler.nodeStorage',
    () => deep(config('t2.micro', { nodeStorage: 5 }), daemonKeys),
    /^job 'deep' can never run: disk: .*; a root volume of 8 GiB or more gives the job its disk\) \(largest allowed node type t2\.micro\); raise scaler\.nodeStorage in \/etc\/toil\/leader\.yaml to 8 or more, change scaler\.nodeTypes in \/etc\/toil\/leader\.yaml to a bigger type, or the job's requirements/,
  ],
  [
    'a job whose disk is over the root volume launch-cluster gave: provisioner.nodeStorageGiB',
    () =>
      deep(
        config('t2.micro', { nodeStorage: 5 }),
        scalerConfigKeys('/etc/toil/leader.yaml', {
          kind: 'aws',
          zone: 'us-west-2a',
          clusterName: 'c',
          tags: {},
          applianceImage: 'quay.io/ucsc_cgl/toil:latest',
          nodeStorageGiB: 5,
        }),
      ),
    /; raise provisioner\.nodeStorageGiB in \/etc\/toil\/leader\.yaml to 8 or more, /,
  ],
  [
    "a job whose disk is over its type's own root volume: its scaler.nodeStorageOverrides entry",
    () => deep(config('t2.micro', { nodeStorageOverrides: { 't2.micro': 5 } }), daemonKeys),
    /; raise scaler\.nodeStorageOverrides\.t2\.micro in \/etc\/toil\/leader\.yaml to 8 or more, /,
  ],
  [
    "a host's services that cannot run together under the limits: the limits as keys",
    () =>
      checkServicesTogether(
        'host',
        [job({ name: 'dbA', cores: 8, service: true }), job({ name: 'dbB', cores: 8, service: true })],
        job({ name: 'use' }),
        config('c5.2xlarge', { maxNodes: 2, maxPreemptableNodes: 3, maxTotalNodes: 2 }),
        daemonKeys,
      ),
    /cannot hold them together under scaler\.maxNodes 2 \(c5\.2xlarge\), scaler\.maxPreemptableNodes 3, scaler\.maxTotalNodes 2: they need 3 node\(s\) at once, .*; raise the limit in \/etc\/toil\/leader\.yaml \(or allow a bigger scaler\.nodeTypes\), or give the services less room$/,
  ],
];
for (const [name, check, expected] of onDaemon)
  t.test(`on a daemon, ${name}, in its config file`, async (t) => {
    const e = t.throws(check) as Error & { code?: string };
    t.equal(e.code, 'WORKFLOW_WOULD_HANG');
    t.match(e.message, expected);
    t.notMatch(e.message, FLAG, 'no flag of the submitter is named');
  });

t.test('the same shape under the same config is worded for each reader', async (t) => {
  const mixed = config('c5.xlarge,r5.large');
  const wide = job({ name: 'wide', cores: 4, memoryBytes: 10 * 2 ** 30 });
  t.throws(() => checkJobLaunchable(wide, mixed), {
    message: /change --nodeTypes\/--nodeType to a bigger type/,
  });
  t.throws(() => checkJobLaunchable(wide, mixed, undefined, daemonKeys), {
    message: /change scaler\.nodeTypes in \/etc\/toil\/leader\.yaml to a bigger type/,
  });
});
