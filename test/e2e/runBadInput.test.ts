import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  REPO_ROOT,
  messageLines,
  scratchDir,
  runToil,
  TOIL_BIN,
  type ToilResult,
} from '../fixtures/workflowCli.js';
import { countingListener } from '../fixtures/countingListener.js';
import { forEachLimited } from '../../src/common/forEachLimited.js';

const SORT = join(REPO_ROOT, 'examples/sort.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

function mesosAddressRefused(flag: string, address: string): RegExp {
  const quoted = address.replace(/[.]/g, '\\.');
  return new RegExp(
    `^toil: ${flag} ${quoted}: expected the HOST:PORT of the Mesos master, e\\.g\\. 10\\.0\\.0\\.5:5050$`,
  );
}

/** The file's own test: the kept store's directory is removed when the file ends. */
const thisFile = t;
let keptRun: Promise<{ dir: string; ran: ToilResult }> | undefined;

/**
 * A directory holding `exists`, the job store of a sort that ran to its end and was kept, and that
 * run's result: made once for the file, and only refused runs are started on it.
 */
function storeThatExists(): Promise<{ dir: string; ran: ToilResult }> {
  keptRun ??= (async () => {
    const dir = scratchDir(thisFile);
    const ran = await runToil(['run', SORT, 'file:./exists', '--numLines', '1', '--clean', 'never'], {
      cwd: dir,
    });
    return { dir, ran };
  })();
  return keptRun;
}

t.test('bad input: one line naming the input and what was expected, exit 2, no stack trace', async (t) => {
  const dir = scratchDir(t);
  mkdtempSync(join(dir, 'x'));
  const cases: {
    name: string;
    args: string[];
    expect: RegExp;
    keepsStore?: boolean;
    env?: Record<string, string>;
  }[] = [
    {
      name: 'unknown locator scheme',
      args: ['run', SORT, 'gs:bucket/x'],
      expect: /invalid job store locator 'gs:bucket\/x'.*expected file:PATH or aws:REGION:NAME/,
    },
    // Its bucket (NAME--toil) would be over S3's limit: the name's length and the limits are said,
    // before any request is sent, by a run and by a command that reads a store alike.
    ...[['run', SORT], ['status']].map((command) => ({
      name: `toil ${command[0]}: an aws: job store name too long for its bucket`,
      args: [...command, `aws:us-west-2:${'a'.repeat(64)}`],
      env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' },
      expect: new RegExp(
        `^toil: invalid job store locator 'aws:us-west-2:a{64}': job store name 'a{64}' is 64 characters long, over Toil's 56 \\(its bucket 'a{64}--toil' would be 70 characters; S3 bucket names are at most 63\\) \\(it must be 3-56 characters`,
      ),
    })),
    // A region of any name AWS could give is taken (one newer than the code's list was refused);
    // a zone given for it is named so, before any request is sent.
    ...[['run', SORT], ['status']].map((command) => ({
      name: `toil ${command[0]}: an aws: job store in a zone, not a region`,
      args: [...command, 'aws:ap-southeast-6a:my-store'],
      env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' },
      expect:
        /^toil: invalid job store locator 'aws:ap-southeast-6a:my-store': region 'ap-southeast-6a' is an availability zone, not a region \(expected its region, ap-southeast-6\)$/,
    })),
    {
      name: 'an option where the job store goes (toil run wf.ts --jobStore file:js), no store named after it',
      args: ['run', SORT, '--jobStore', 'file:./js'],
      expect:
        /^toil: job store '--jobStore': an option, not a job store: toil run takes the workflow file, then the job store/,
    },
    {
      name: 'a misspelt flag where the job store goes',
      args: ['run', SORT, '--retrycount', '3', 'js'],
      expect: /^toil: job store '--retrycount': an option, not a job store/,
    },
    {
      name: 'a value given to a toil switch (--restart=yes), not passed to the workflow',
      args: ['run', SORT, 'file:./js', '--restart=yes'],
      expect:
        /^toil: --restart=yes: --restart takes no value, as in Toil: give --restart alone, or leave it out$/,
    },
    // Toil's store_false and store_const switches refuse a value as its store_true ones do; the
    // options toil-ts only ignores are no exception (the value went to the workflow).
    ...['--disableCaching=true', '--logDebug=1', '--noLinkImports=no'].map((arg) => ({
      name: `a value given to a Toil switch toil-ts ignores (${arg}), not passed to the workflow`,
      args: ['run', SORT, 'file:./js', arg],
      expect: new RegExp(`^toil: ${arg}: ${arg.split('=')[0]} takes no value, as in Toil`),
    })),
    {
      name: 'missing workflow file',
      args: ['run', join(dir, 'nope.ts'), 'file:./js'],
      expect: /workflow file .*nope\.ts does not exist \(expected/,
    },
    ...[':5050', '127.0.0.1:99999'].map((master) => ({
      name: `--mesosMaster ${master}, no host:port`,
      args: ['run', SORT, 'file:./js', '--batchSystem', 'mesos', '--mesosMaster', master],
      expect: mesosAddressRefused('--mesosMaster', master),
    })),
    // Toil's own spelling is named as typed; an autoscaled run takes and refuses what a local
    // one does (its leader config named batchSystem.mesosMaster, twice, and refused a bare host).
    {
      name: '--mesosEndpoint with a port past 65535, named as typed',
      args: ['run', SORT, 'file:./js', '--batchSystem', 'mesos', '--mesosEndpoint', '10.0.0.1:99999'],
      expect: mesosAddressRefused('--mesosEndpoint', '10.0.0.1:99999'),
    },
    ...['mesos-master:http', '10.0.0.1:99999', 'https://10.0.0.1:5050'].map((master) => ({
      name: `--provisioner aws --mesosMaster ${master}, no host:port`,
      args: [
        ...['run', SORT, 'file:./autoMaster', '--provisioner', 'aws', '--batchSystem', 'mesos'],
        ...['--zone', 'us-west-2a', '--clusterName', 'c', '--nodeType', 't2.medium'],
        ...['--mesosMaster', master],
      ],
      expect: mesosAddressRefused('--mesosMaster', master),
    })),
    {
      name: '--restart of a job store that does not exist',
      args: ['run', SORT, 'file:./absent', '--restart'],
      expect:
        /job store file:\.\/absent does not exist \(expected an existing job store; drop --restart to start a new workflow\)/,
    },
    {
      name: 'status of a job store that does not exist',
      args: ['status', 'file:./absent'],
      expect: /^toil: job store file:\.\/absent does not exist \(expected an existing job store\)$/m,
    },
    {
      name: 'a job asking for more than --maxMemory allows',
      args: ['run', SORT, 'file:./big', '--numLines', '10', '--maxMemory', '100Mi'],
      expect:
        /job 'setup' asks for 600\.0 MiB memory, more than --maxMemory allows \(100\.0 MiB\); raise --maxMemory/,
      // The workflow started: --restart with a larger --maxMemory resumes it.
      keepsStore: true,
    },
    {
      name: 'a misspelt toil flag, which the workflow refuses',
      args: ['run', SORT, 'file:./typo', '--numLines', '10', '--maxNode', '3'],
      expect:
        /^toil: workflow .*sort\.ts did not start: Unknown option '--maxNode'.* \(--maxNode is not a toil option; did you mean --maxNodes\?\)$/,
    },
    {
      name: 'a workflow argument the workflow refuses',
      args: ['run', SORT, 'file:./badarg', '--numLines', '0'],
      expect: /^toil: workflow .*sort\.ts did not start: --numLines 0: expected a whole number > 0$/,
    },
    {
      name: 'a misspelt node type, named by the flag that gave it (not a config path)',
      args: ['run', SORT, 'file:./nodetype', '--nodeTypes', 't2.mediu'],
      expect: /^toil: --nodeTypes t2\.mediu: unknown instance type "t2\.mediu" \(did you mean t2\.medium/,
    },
    {
      name: 'an autoscaling value out of range, named by its flag',
      args: [
        'run',
        SORT,
        'file:./compensation',
        ...['--provisioner', 'aws', '--batchSystem', 'mesos', '--mesosMaster', '127.0.0.1:1'],
        ...['--zone', 'us-west-2a', '--clusterName', 'c', '--nodeType', 't2.medium'],
        ...['--preemptableCompensation', '2'],
      ],
      expect: /^toil: --preemptableCompensation 2: expected a number from 0 to 1$/,
    },
    {
      name: "Toil's --preemptibleCompensation out of range, named as typed",
      args: [
        ...['run', SORT, 'file:./compensation2', '--provisioner', 'aws', '--batchSystem', 'mesos'],
        ...['--mesosMaster', '127.0.0.1:1', '--zone', 'us-west-2a', '--clusterName', 'c'],
        ...['--nodeType', 't2.medium', '--preemptibleCompensation', '2'],
      ],
      expect: /^toil: --preemptibleCompensation 2: expected a number from 0 to 1$/,
    },
    ...(
      [
        ['--betaInertia', '5', 'expected a number from 0 to 0.9'],
        ['--maxPreemptableNodes', '1.5', 'expected a whole number >= 0'],
        ['--nodeStorage', '0', 'expected a whole number > 0 and <= 65536'],
        ['--nodeStorageOverrides', 't2.medium:0', 'expected a whole number > 0 and <= 65536'],
        // Toil's --nodeStorage is an int, as EC2's VolumeSize: every launch of the run would be refused.
        ['--nodeStorage', '10.5', 'expected a whole number > 0 and <= 65536'],
        // EC2 makes no gp3 volume over 64 TiB: every launch of the run would be refused.
        [
          '--nodeStorage',
          '70000',
          "expected at most 65536 GiB \\(64 TiB, the largest gp3 volume EC2 makes; a node's root volume is gp3\\)",
        ],
        [
          '--nodeStorageOverrides',
          't2.medium:65537',
          "expected at most 65536 GiB \\(64 TiB, the largest gp3 volume EC2 makes; a node's root volume is gp3\\)",
        ],
      ] as const
    ).map(([flag, value, expected]) => ({
      name: `${flag} ${value}, out of range: the range in our words, named by its flag`,
      args: [
        ...['run', SORT, 'file:./range', '--provisioner', 'aws', '--batchSystem', 'mesos'],
        ...['--mesosMaster', '127.0.0.1:1', '--zone', 'us-west-2a', '--clusterName', 'c'],
        ...['--nodeType', 't2.medium', flag, value],
      ],
      expect: new RegExp(`^toil: ${flag} ${value.replace('.', '\\.')}: ${expected}$`),
    })),
    ...(
      [
        [
          ['--zone', 'uswest2a', '--clusterName', 'c'],
          {},
          '--zone uswest2a: expected a zone like us-west-2a',
        ],
        [
          ['--clusterName', 'c'],
          { TOIL_AWS_ZONE: 'bad' },
          'TOIL_AWS_ZONE=bad: expected a zone like us-west-2a',
        ],
        [
          ['--zone', 'us-west-2a', '--clusterName', 'Foo_Bar'],
          {},
          '--clusterName Foo_Bar: expected 1 to 63 letters, digits and dashes, beginning with a letter or digit',
        ],
      ] as const
    ).map(([flags, env, expected]) => ({
      name: `a bad zone or cluster name (${flags.join(' ')} ${JSON.stringify(env)}), named as given, not as a config path`,
      args: [
        ...['run', SORT, 'file:./zone', '--provisioner', 'aws', '--batchSystem', 'mesos'],
        ...['--mesosMaster', '127.0.0.1:1', '--nodeType', 't2.medium', ...flags],
      ],
      env: { ...env },
      expect: new RegExp(`^toil: ${expected.replace(/[.]/g, '\\.')}$`),
    })),
    {
      name: "Toil's --maxPreemptibleNodes that is no number, named as typed",
      args: [
        ...['run', SORT, 'file:./maxpre', '--provisioner', 'aws', '--batchSystem', 'mesos'],
        ...['--mesosMaster', '127.0.0.1:1', '--zone', 'us-west-2a', '--clusterName', 'c'],
        ...['--nodeType', 't2.medium', '--maxPreemptibleNodes', 'lots'],
      ],
      expect: /^toil: --maxPreemptibleNodes lots: expected a number$/,
    },
    {
      name: "Toil's --defaultPreemptible with a value that is no bool, named as typed",
      args: ['run', SORT, 'file:./defpre', '--defaultPreemptible', 'maybe'],
      expect: /^toil: --defaultPreemptible maybe: expected true or false$/,
    },
    {
      name: '--defaultPreemptible with a value that is no bool, with --leader, named as typed',
      args: [
        'run',
        SORT,
        'file:./defpre2',
        '--leader',
        'http://127.0.0.1:9',
        '--defaultPreemptible',
        'maybe',
      ],
      expect: /^toil: --defaultPreemptible maybe: expected true or false$/,
    },
    {
      name: 'TOIL_AWS_TAGS that is not JSON is an error naming it (the cluster name is not silently lost)',
      args: [
        'run',
        SORT,
        'file:./tags',
        ...['--provisioner', 'aws', '--batchSystem', 'mesos', '--mesosMaster', '127.0.0.1:1'],
        ...['--zone', 'us-west-2a', '--nodeType', 't2.medium'],
      ],
      env: { TOIL_AWS_TAGS: '{clusterName: c}' },
      expect: /^toil: TOIL_AWS_TAGS: '\{clusterName: c\}' is not JSON/,
    },
    {
      name: 'autoscaling Slurm with no controller config to reach it',
      args: [
        'run',
        SORT,
        'file:./slurm',
        ...['--provisioner', 'aws', '--batchSystem', 'slurm'],
        ...['--zone', 'us-west-2a', '--clusterName', 'c', '--nodeType', 't2.medium'],
      ],
      env: { SLURM_CONF: '/nonexistent/slurm.conf' },
      expect:
        /^toil: --provisioner aws --batchSystem slurm: \/nonexistent\/slurm\.conf does not exist; set SLURM_CONF to the controller's slurm\.conf$/,
    },
    {
      name: 'a Toil option whose result toil-ts cannot give is refused, naming it (not blamed on the workflow)',
      args: ['run', SORT, 'file:./sse', '--numLines', '10', '--sseKey', 'sse.key'],
      expect: /^toil: --sseKey: SSE-C encryption of the job store is not supported .*run without --sseKey$/,
    },
    {
      name: "Toil's boolean option turned on, where toil-ts cannot honour it",
      args: ['run', SORT, 'file:./double', '--numLines', '10', '--doubleMem', 'true'],
      expect: /^toil: --doubleMem: toil-ts does not retry a job with more memory/,
    },
    {
      name: "an option Toil removed is said to be gone, with what to do, not blamed on the workflow's parser",
      args: ['run', SORT, 'file:./alpha', '--numLines', '10', '--alphaPacking', '0.8'],
      expect:
        /^toil: --alphaPacking: Toil removed this option when it rewrote its autoscaler: .*lower --targetTime/,
    },
    {
      name: 'launch-cluster with a --vpcSubnet that is not a subnet ID (told before the cloud is asked)',
      args: [
        ...['launch-cluster', 'c', '--zone', 'us-west-2a', '--nodeType', 't2.medium'],
        ...['--keyPairName', 'k', '--vpcSubnet', 'vpc-0abc1234'],
      ],
      expect: /^toil: --vpcSubnet: 'vpc-0abc1234' is not a subnet ID like subnet-0123456789abcdef0$/,
    },
    {
      name: '--logFile in a directory that does not exist',
      args: ['run', SORT, 'file:./logfile', '--numLines', '10', '--logFile', 'no/such/dir/run.log'],
      expect: /^toil: --logFile no\/such\/dir\/run\.log: cannot be opened for appending \(ENOENT\)$/,
    },
    {
      name: '--writeLogs in a directory that cannot be made',
      args: ['run', SORT, 'file:./wl', '--numLines', '10', '--writeLogs', join(SORT, 'logs')],
      expect: /^toil: --writeLogs .*sort\.ts\/logs: cannot write job logs there \(ENOTDIR\)$/,
    },
    {
      name: '--writeLogs naming a file, which refused nothing and lost every log after the run started',
      args: ['run', SORT, 'file:./wlfile', '--numLines', '10', '--writeLogs', SORT],
      expect: /^toil: --writeLogs .*sort\.ts: cannot write job logs there \(ENOTDIR\)$/,
    },
    {
      name: '--writeLogs under /proc, where a recursive mkdir retried for ever at full CPU',
      args: ['run', SORT, 'file:./wlproc', '--numLines', '10', '--writeLogs', '/proc/x/logs'],
      expect: /^toil: --writeLogs \/proc\/x\/logs: cannot write job logs there \(ENOENT\)$/,
    },
    {
      name: '--writeLogs with --leader, whose process, not this one, learns of the jobs',
      args: ['run', SORT, 'file:./wlleader', '--leader', 'http://127.0.0.1:9', '--writeLogs', 'logs'],
      expect:
        /^toil: --writeLogs: with --leader the leader's process learns of the jobs' ends, not this one; .*run without it$/,
    },
    {
      name: '--workDir that is a file',
      args: ['run', SORT, 'file:./wdfile', '--numLines', '10', '--workDir', SORT],
      expect: /^toil: work directory .*sort\.ts \(--workDir\): it is not a directory$/,
    },
    {
      name: '--workDir that is a file, --provisioner aws (checked before anything is launched)',
      args: [
        ...['run', SORT, 'file:./wdseed', '--provisioner', 'aws', '--nodeTypes', 't2.medium'],
        ...['--zone', 'us-west-2a', '--clusterName', 'c', '--batchSystem', 'mesos'],
        ...['--mesosMaster', '127.0.0.1:9', '--workDir', SORT],
      ],
      expect: /^toil: work directory .*sort\.ts \(--workDir\): it is not a directory$/,
    },
    // As Toil's, every command that takes --workDir refuses one that does not exist, naming it.
    ...[
      ['worker', 'file:./js', 'job', '--workDir'],
      ['debug-job', 'file:./js', 'job', '--workDir'],
      ['status', 'file:./js', '--workDir'],
    ].map((args) => ({
      name: `toil ${args[0]} --workDir that does not exist`,
      args: [...args, 'no/such/dir'],
      expect:
        /^toil: work directory \S+\/no\/such\/dir \(--workDir\): it does not exist \(expected an existing directory: make it first\)$/,
    })),
    {
      name: "Toil's Slurm flags with --leader, whose leader, not this process, submits the Slurm jobs",
      args: ['run', SORT, 'file:./slurmleader', '--leader', 'http://127.0.0.1:9', '--slurmTime', '1:00:00'],
      expect:
        /^toil: --slurmTime: the leader daemon's Slurm settings hold for every workflow it runs, not one submission; set them in its config \(batchSystem\.slurmTime, slurmArgs, slurmQOS, slurmPE, slurmAllocateMem, batchLogsDir\) or TOIL_SLURM_ARGS where it runs$/,
    },
    {
      name: 'a --slurmTime Slurm cannot read, autoscaled (named as typed, before anything starts)',
      args: [
        'run',
        SORT,
        'file:./slurmtimeaws',
        ...['--provisioner', 'aws', '--batchSystem', 'slurm', '--slurmTime', '90m'],
        ...['--zone', 'us-west-2a', '--clusterName', 'c', '--nodeType', 't2.medium'],
      ],
      env: { SLURM_CONF: SORT },
      expect:
        /^toil: --slurmTime 90m: expected a Slurm time limit as \[DD-\]HH:MM:SS \(e\.g\. 4:00:00 or 1-12:00:00\)$/,
    },
    {
      // Toil refuses it too: the job's own --mem would be overridden, and the job wait for ever.
      name: 'TOIL_SLURM_ARGS with --mem, which toil-ts sets from each job (checked before the job store is made)',
      args: ['run', SORT, 'file:./slurmmem', '--batchSystem', 'slurm'],
      env: { TOIL_SLURM_ARGS: '--qos=low --mem=5G' },
      expect:
        /^toil: TOIL_SLURM_ARGS: --mem=5G: toil-ts asks Slurm for each job's own memory \(--mem\), as Toil does/,
    },
    {
      // A comment of the user's would hide a killed leader's jobs from --restart: they would run twice.
      name: '--slurmArgs with --comment, which ties each Slurm job to its attempt (named as --slurmArgs)',
      args: ['run', SORT, 'file:./slurmcomment', '--batchSystem', 'slurm', '--slurmArgs', '--comment=lab'],
      env: { TOIL_SLURM_ARGS: '--qos=low' },
      expect: /^toil: --slurmArgs: --comment=lab: toil-ts writes each Slurm job's comment itself/,
    },
    {
      name: 'a --slurmTime Slurm cannot read',
      args: ['run', SORT, 'file:./slurmtime', '--batchSystem', 'slurm', '--slurmTime', '4h'],
      expect:
        /^toil: --slurmTime 4h: expected a Slurm time limit as \[DD-\]HH:MM:SS \(e\.g\. 4:00:00 or 1-12:00:00\)$/,
    },
    {
      // scontrol itself retries a missing slurm.conf for a minute before it gives up.
      name: '--batchSystem slurm with SLURM_CONF naming no file (said at once, before the job store is made)',
      args: ['run', SORT, 'file:./slurmnoconf', '--numLines', '10', '--batchSystem', 'slurm'],
      env: { SLURM_CONF: '/nonexistent/slurm.conf' },
      expect:
        /^toil: --batchSystem slurm: SLURM_CONF \/nonexistent\/slurm\.conf does not exist; set SLURM_CONF to the Slurm cluster's slurm\.conf \(or unset it for this machine's\)$/,
    },
    {
      name: '--batchSystem slurm where no Slurm can be run (checked before the job store is made)',
      args: ['run', SORT, 'file:./noslurm', '--numLines', '10', '--batchSystem', 'slurm'],
      env: { PATH: join(dir, 'x-no-such-bin') },
      expect:
        /^toil: --batchSystem slurm: the Slurm controller does not answer \(scontrol ping failed: spawn scontrol ENOENT\) \(expected a Slurm cluster this machine can reach: set SLURM_CONF/,
    },
    {
      name: 'a --mesosMaster where no Mesos master answers (checked before the job store is made)',
      args: [
        'run',
        SORT,
        'file:./nomesos',
        '--numLines',
        '10',
        '--batchSystem',
        'mesos',
        '--mesosMaster',
        '127.0.0.1:9',
      ],
      expect:
        /^toil: --mesosMaster 127\.0\.0\.1:9: the Mesos master does not answer \(cannot reach the Mesos master at 127\.0\.0\.1:9: connect ECONNREFUSED[^)]*\) \(expected the host:port of a running Mesos master\)$/,
    },
    {
      // It started the leader, made the job store and logged a failed subscription for a minute.
      name: 'an autoscaled run whose --mesosEndpoint does not answer (checked before the leader starts)',
      args: [
        ...['run', SORT, 'file:./nomesosauto', '--numLines', '10', '--provisioner', 'aws'],
        ...['--batchSystem', 'mesos', '--zone', 'us-west-2a', '--clusterName', 'c'],
        ...['--nodeType', 't2.medium', '--mesosEndpoint', '127.0.0.1:9'],
      ],
      expect:
        /^toil: --mesosEndpoint 127\.0\.0\.1:9: the Mesos master does not answer \(cannot reach the Mesos master at 127\.0\.0\.1:9: connect ECONNREFUSED[^)]*\) \(expected the host:port of a running Mesos master\)$/,
    },
    {
      name: 'a --maxDisk of 0, which would refuse every job (Toil refuses it too)',
      args: ['run', SORT, 'file:./zerodisk', '--maxDisk', '0', '--batchSystem', 'mesos'],
      expect: /^toil: --maxDisk 0: expected a size > 0, like 600M or 2Gi$/,
    },
    {
      name: 'bad --retryCount',
      args: ['run', SORT, 'file:./js', '--retryCount', 'many'],
      expect: /--retryCount many: expected a whole number/,
    },
  ];
  // Each case is a process of its own, mostly start-up: four at a time. Cases naming the same
  // job store run one after another, so none finds (or is checked against) a store another made.
  const byStore = new Map<string, typeof cases>();
  for (const c of cases) {
    const key = c.args.find((a) => a.startsWith('file:')) ?? c.name;
    byStore.set(key, [...(byStore.get(key) ?? []), c]);
  }
  const chains = [...byStore.values()].sort((a, b) => b.length - a.length);
  await forEachLimited(chains, 4, async (chain) => {
    for (const c of chain) {
      const r = await runToil(c.args, { cwd: dir, ...(c.env ? { env: c.env } : {}) });
      t.equal(r.code, 2, `${c.name}: exit 2 (${r.stderr})`);
      const lines = messageLines(r.stderr);
      t.equal(lines.length, 1, `${c.name}: one line`);
      t.match(lines[0], c.expect, c.name);
      t.notMatch(r.stderr, /\n\s+at /, `${c.name}: no stack trace`);
      const store = /^file:\.\/(\w+)$/.exec(c.args[2] ?? '')?.[1];
      if (store && !c.keepsStore)
        t.notOk(existsSync(join(dir, store)), `${c.name}: no job store left behind`);
    }
  });
  t.notOk(existsSync(join(dir, 'no')), 'no work directory was made');
  for (const option of ['--jobStore', '--retrycount'])
    t.notOk(existsSync(join(dir, option)), `no job store named ${option} was made`);
  // A job store that already exists, without --restart.
  const { dir: existsIn, ran: first } = await storeThatExists();
  t.equal(first.code, 0, first.code === 0 ? 'exit 0' : first.stderr);
  const second = await runToil(['run', SORT, 'file:./exists', '--numLines', '10'], { cwd: existsIn });
  t.equal(second.code, 2);
  t.equal(second.stderr.trim().split('\n').length, 1);
  t.match(
    second.stderr,
    /job store file:\.\/exists already exists \(expected a new job store; it holds a workflow that finished\): remove it with 'toil clean file:\.\/exists' to run the workflow again, or use --restart to run only its finish again$/m,
  );
  // A directory of the user's own files: not a job store, not "already exists" (which pointed at
  // --restart and toil clean, both of which then said it does not exist).
  mkdirSync(join(dir, 'results'));
  writeFileSync(join(dir, 'results', 'thesis.tex'), 'precious');
  const taken = await runToil(['run', SORT, 'file:./results', '--numLines', '10'], { cwd: dir });
  t.equal(taken.code, 2);
  t.same(messageLines(taken.stderr).length, 1, 'one line');
  t.match(
    taken.stderr,
    /job store file:\.\/results: \S+results is a directory of other files \(e\.g\. 'thesis\.tex'\), not a job store, so it is not used, written to or deleted \(expected a path that does not exist yet, or an empty directory/,
  );
  t.same(readdirSync(join(dir, 'results')), ['thesis.tex'], 'untouched');
  // Toil ignores the autoscaling flags without --provisioner; this run does too, but says so. A
  // list of counts (one per node type, as Toil's docs write it) is no mistake without node types.
  const local = await runToil(['run', SORT, 'file:./local', '--numLines', '10', '--maxNodes', '3,4'], {
    cwd: dir,
  });
  t.equal(local.code, 0, local.stderr);
  t.match(
    local.stderr,
    /^toil: --maxNodes takes effect only with --provisioner aws; this run scales nothing/m,
  );
});

// As in Toil, whose TOIL_AWS_ZONE "overrides TOIL_AWS_REGION": a zone outside the configured region
// is the zone used, not a refusal; the run goes on to its next check, its Mesos master.
t.test(
  'an autoscaled run takes a zone outside the configured region, as Toil does, and refuses TOIL_AWS_NODE_DEBUG',
  async (t) => {
    const dir = scratchDir(t);
    // Without --mesosMaster the run would first ask EC2 for the cluster's leader: here.
    const ec2 = await countingListener(t);
    const autoscaled = (store: string, ...more: string[]): string[] => [
      ...['run', SORT, store, '--provisioner', 'aws', '--batchSystem', 'mesos'],
      ...['--clusterName', 'c', '--nodeType', 't2.medium', '--mesosMaster', '127.0.0.1:1', ...more],
    ];
    const unset = { TOIL_AWS_ZONE: '', TOIL_AWS_REGION: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' };
    const accepted = /^toil: --mesosMaster 127\.0\.0\.1:1: the Mesos master does not answer/;
    const cases: [name: string, args: string[], env: Record<string, string>, expected: RegExp][] = [
      [
        'TOIL_AWS_ZONE outside TOIL_AWS_REGION',
        autoscaled('file:./envzone'),
        { TOIL_AWS_ZONE: 'us-west-2a', TOIL_AWS_REGION: 'us-east-1' },
        accepted,
      ],
      [
        '--zone outside AWS_DEFAULT_REGION',
        autoscaled('file:./flagzone', '--zone', 'us-west-2a'),
        { AWS_DEFAULT_REGION: 'us-east-1' },
        accepted,
      ],
      [
        '--zone outside AWS_REGION, with TOIL_AWS_ZONE inside it (the flag is the zone used)',
        autoscaled('file:./bothzones', '--zone', 'eu-west-1b'),
        { TOIL_AWS_ZONE: 'us-east-1a', AWS_REGION: 'us-east-1' },
        accepted,
      ],
      [
        'TOIL_AWS_ZONE inside TOIL_AWS_REGION',
        autoscaled('file:./inside'),
        { TOIL_AWS_ZONE: 'us-east-1a', TOIL_AWS_REGION: 'us-east-1' },
        accepted,
      ],
      // Toil keeps the instances that fail their status checks; this run's scaler cannot, and says so.
      [
        'TOIL_AWS_NODE_DEBUG=true',
        autoscaled('file:./nodedebug', '--zone', 'us-west-2a'),
        { TOIL_AWS_NODE_DEBUG: 'true' },
        /^toil: TOIL_AWS_NODE_DEBUG=true: toil-ts does not keep EC2 instances that fail to boot for debugging/,
      ],
    ];
    // Four at a time: each case is a process of its own, with a job store of its own.
    await forEachLimited(cases, 4, async ([name, args, env, expected]) => {
      const r = await runToil(args, {
        cwd: dir,
        env: {
          ...unset,
          AWS_ENDPOINT_URL_EC2: ec2.url,
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          ...env,
        },
      });
      t.equal(r.code, 2, `${name}: exit 2 (${r.stderr})`);
      const lines = messageLines(r.stderr);
      t.equal(lines.length, 1, `${name}: one line`);
      t.match(lines[0], expected, name);
      t.notMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
      t.notOk(existsSync(join(dir, args[2]!.slice('file:./'.length))), `${name}: no job store made`);
    });
    t.equal(ec2.connections(), 0, 'EC2 was not asked');
  },
);

t.test(
  'an autoscaled run refused for its scaler flags ends before loading the bundler (esbuild) and the metrics (prom-client)',
  async (t) => {
    const dir = scratchDir(t);
    const probe = join(REPO_ROOT, 'test/fixtures/loadedPackages.mjs');
    const autoscaled = (store: string, ...more: string[]): string[] => [
      ...['run', SORT, store, '--provisioner', 'aws', '--batchSystem', 'mesos'],
      ...['--mesosMaster', '127.0.0.1:1', '--zone', 'us-west-2a', '--clusterName', 'c'],
      ...['--nodeType', 't2.medium', ...more],
    ];
    const loaded = async (args: string[], name: string, cwd = dir) => {
      const file = join(dir, `${name}.packages`);
      const r = await runToil(args, {
        cwd,
        env: {
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${probe}`,
          LOADED_PACKAGES_FILE: file,
        },
      });
      return {
        r,
        packages: readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
      };
    };
    const refused = await loaded(autoscaled('file:./js', '--preemptableCompensation', '2'), 'refused');
    t.equal(refused.r.code, 2, refused.r.stderr);
    t.match(refused.r.stderr, /^toil: --preemptableCompensation 2: expected a number from 0 to 1$/m);
    t.ok(refused.packages.includes('commander'), 'the probe sees what loaded (commander)');
    t.notOk(refused.packages.includes('esbuild'), 'esbuild was not loaded');
    t.notOk(refused.packages.includes('prom-client'), 'prom-client was not loaded');
    // A run refused after the scaler's config was accepted (its job store exists) has loaded them:
    // the probe would see them.
    const { dir: existsIn, ran: exists } = await storeThatExists();
    t.equal(exists.code, 0, exists.stderr);
    const later = await loaded(autoscaled('file:./exists'), 'later', existsIn);
    t.equal(later.r.code, 2, later.r.stderr);
    t.match(later.r.stderr, /job store file:\.\/exists already exists/);
    t.ok(later.packages.includes('esbuild') && later.packages.includes('prom-client'), 'loaded by then');
  },
);

t.test('--help of each sub-command describes it', async (t) => {
  for (const sub of ['run', 'status', 'clean']) {
    const r = await runToil([sub, '--help']);
    t.equal(r.code, 0);
    t.match(r.stdout, new RegExp(`Usage: toil ${sub}`));
  }
  const run = await runToil(['run', '--help']);
  for (const flag of [
    '--retryCount',
    '--restart',
    '--clean',
    '--logLevel',
    '--maxCores',
    '--maxMemory',
    '--defaultMemory',
    '--defaultPreemptable',
    '--batchSystem',
    '--mesosMaster',
  ])
    t.match(run.stdout, flag);
});

t.test('a shell left in a deleted directory: one line saying so, exit 2, no Node stack', async (t) => {
  const dir = scratchDir(t);
  const gone = join(dir, 'gone');
  // The shell enters the directory, which is then removed under it, as `rm -r` from another
  // terminal does; toil starts there.
  const r = spawnSync(
    'sh',
    [
      '-c',
      `unset NODE_OPTIONS; mkdir "$1" && cd "$1" && rmdir "$1" && exec "$2" "$3" run wf.ts file:./js`,
      'sh',
      gone,
      process.execPath,
      TOIL_BIN,
    ],
    // Unset: the test runner's NODE_OPTIONS hooks ask for the cwd themselves; this is the command
    // as a user runs it.
    { encoding: 'utf8' },
  );
  t.equal(r.status, 2, r.stderr);
  t.equal(r.stderr, 'toil: the current directory no longer exists (deleted or moved): cd to one that does\n');
});
