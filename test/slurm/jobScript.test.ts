import t from 'tap';
import type { IssuedJob } from '../../src/ports/batchSystem.js';
import { expandHostlist } from '../../src/slurm/hostlist.js';
import { parseSinfoJson, parseSqueueJson } from '../../src/slurm/json.js';
import {
  batchScript,
  parseAttemptComment,
  parseSlurmArgs,
  sbatchArgs,
  unionExcluded,
} from '../../src/slurm/jobScript.js';

const MB = 2 ** 20;
const base: IssuedJob = {
  jobId: 'j-1',
  attempt: 3,
  name: 'sort part',
  requirements: {
    cores: 1.5,
    memory: 600 * MB + 1,
    disk: 2 * 1024 * MB,
    preemptable: false,
    walltimeMs: 90_000,
  },
  command: ['/usr/bin/node', '/opt/toil.js', 'worker', "file:/data/it's here", 'j-1', '--attempt', '3'],
  jobStoreLocator: "file:/data/it's here",
  environment: { TOIL_X: 'a b' },
};
const opts = { onDemandFeature: 'ondemand', outputPath: '/dev/null', workDir: '/tmp' };

t.test(
  'sbatch flags: whole CPUs, MiB rounded up, time limit from the walltime, on-demand constraint',
  async (t) => {
    const args = sbatchArgs(base, opts);
    t.ok(args.includes('--cpus-per-task=2'), '1.5 cores → 2 CPUs');
    t.ok(args.includes('--mem=601M'), 'memory rounded up to a whole MiB');
    t.ok(args.includes('--tmp=2048M'), 'disk as --tmp');
    t.ok(args.includes('--time=2'), '90 s walltime → 2 minutes');
    t.ok(args.includes('--constraint=ondemand'), 'non-preemptable → on-demand feature');
    t.ok(args.includes('--no-requeue'), 'Slurm does not re-run it behind our back');
    t.same(parseAttemptComment(args.find((a) => a.startsWith('--comment='))!.slice(10)), {
      jobId: 'j-1',
      attempt: 3,
    });
    t.ok(args.includes('--job-name=toil.sort_part'));
  },
);

t.test(
  'a preemptable job with no walltime: no constraint, no time limit; a cluster without features: none',
  async (t) => {
    const spot = sbatchArgs(
      { ...base, requirements: { cores: 1, memory: MB, disk: MB, preemptable: true } },
      { ...opts, partition: 'batch', extraArgs: ['--qos=low'] },
    );
    t.notOk(spot.some((a) => a.startsWith('--constraint') || a.startsWith('--time')));
    t.ok(spot.includes('--partition=batch') && spot.includes('--qos=low'));
    t.notOk(sbatchArgs(base, { ...opts, onDemandFeature: '' }).some((a) => a.startsWith('--constraint')));
  },
);

t.test(
  "Toil's Slurm flags: --slurmTime, --slurmPE, --slurmQOS, --slurmAllocateMem, --batchLogsDir",
  async (t) => {
    const oneCore = { cores: 1, memory: MB, disk: MB, preemptable: true };
    const flags = {
      ...opts,
      partition: 'short',
      defaultTime: '4:00:00',
      multiCorePartition: 'smp',
      qos: 'normal',
      allocateMem: false,
      logsDir: '/shared/logs',
    };
    const single = sbatchArgs({ ...base, requirements: oneCore }, flags);
    t.ok(single.includes('--time=4:00:00'), '--slurmTime for a job that declares no walltime');
    t.ok(single.includes('--partition=short'), 'a one-core job goes to --slurmPartition');
    t.ok(single.includes('--qos=normal'), '--slurmQOS');
    t.notOk(
      single.some((a) => a.startsWith('--mem')),
      '--slurmAllocateMem false: no --mem',
    );
    t.ok(
      single.includes('--output=/shared/logs/toil_job_j-1_batch_slurm_%j_std_output.log') &&
        single.includes('--error=/shared/logs/toil_job_j-1_batch_slurm_%j_std_error.log'),
      '--batchLogsDir: stdout and stderr in files named as Toil names them',
    );
    t.notOk(single.includes('--output=/dev/null'), 'not thrown away');
    const multi = sbatchArgs(base, flags);
    t.ok(multi.includes('--time=2'), 'a declared walltime wins over --slurmTime');
    t.ok(multi.includes('--partition=smp') && !multi.includes('--partition=short'), '2 CPUs: --slurmPE');
    const defaults = sbatchArgs(base, opts);
    t.ok(defaults.includes('--mem=601M') && defaults.includes('--output=/dev/null'), 'none given: as before');
    t.notOk(defaults.some((a) => a.startsWith('--qos') || a.startsWith('--error')));
    const overridden = sbatchArgs(base, { ...flags, extraArgs: ['--time=10', '--partition=long'] });
    t.same(
      overridden.slice(-2),
      ['--time=10', '--partition=long'],
      "the user's extra flags come last: sbatch takes theirs for an option given twice",
    );
  },
);

t.test('nodes the keep-off hints keep the job off: --exclude, none when there are none', async (t) => {
  t.ok(sbatchArgs(base, opts, ['n1', 'n3']).includes('--exclude=n1,n3'));
  t.notOk(sbatchArgs(base, opts, []).some((a) => a.startsWith('--exclude')));
  t.notOk(sbatchArgs(base, opts).some((a) => a.startsWith('--exclude')));
});

t.test("TOIL_SLURM_ARGS: the user's --exclude is taken out, in each spelling, ranges kept", async (t) => {
  const rows: [string, string[], string[]][] = [
    ['--exclude=n1,n2', [], ['n1', 'n2']],
    ['--exclude n1,n2 --qos=low', ['--qos=low'], ['n1', 'n2']],
    ['-x n1', [], ['n1']],
    ['--qos=low -xn1', ['--qos=low'], ['n1']],
    ['-x n[1-3],gpu07', [], ['n[1-3]', 'gpu07']],
    ['--exclude=r[1-2]-n[01-04] --time=5', ['--time=5'], ['r[1-2]-n[01-04]']],
    ['-x n1 --exclude=n2,n1', [], ['n1', 'n2']],
    ['--qos=low --exclusive', ['--qos=low', '--exclusive'], []],
    // sbatch's abbreviation of --exclude (--exclu is --exclusive's too: sbatch refuses it).
    ['--exclud=n3', [], ['n3']],
    ['--exclud n3 --time=5', ['--time=5'], ['n3']],
    ['--exclu=n3', ['--exclu=n3'], []],
  ];
  for (const [words, args, excludedNodes] of rows) {
    t.same(parseSlurmArgs(words.split(' ')), { args, excludedNodes }, words);
  }
});

t.test('TOIL_SLURM_ARGS: a bad --exclude is a user error naming the variable', async (t) => {
  const rows: [string[], RegExp][] = [
    [['-x'], /TOIL_SLURM_ARGS: -x: no node list follows it/],
    [['--exclude', '--qos=low'], /TOIL_SLURM_ARGS: --exclude: no node list follows it/],
    [['--exclude='], /TOIL_SLURM_ARGS: --exclude=: the node list is empty/],
    [['-x', 'n[1-3'], /brackets do not pair/],
    [['-x', 'n1]'], /brackets do not pair/],
    [['-x', 'n[3-1]'], /"3-1" in "n\[3-1\]" is not a range/],
    [['-x', 'n[a-b]'], /"n\[a-b\]" is not a node name or range/],
    [['-x', 'n1,,n2'], /"" is not a node name/],
    [['-x', 'n 1'], /"n 1" is not a node name/],
    [['--exclude=/etc/bad-nodes'], /a file of node names is not supported/],
  ];
  for (const [words, message] of rows) {
    t.throws(() => parseSlurmArgs(words), { code: 'BAD_SLURM_ARGS', message }, words.join(' '));
  }
});

t.test(
  'TOIL_SLURM_ARGS: the options toil-ts sets from each job are refused (Toil refuses the memory and CPU ones)',
  async (t) => {
    const rows: [string[], RegExp][] = [
      [
        ['--mem=5G'],
        /^TOIL_SLURM_ARGS: --mem=5G: toil-ts asks Slurm for each job's own memory \(--mem\), as Toil does, which refuses it here too: declare the memory on the job \(or --defaultMemory\), or send no --mem with --slurmAllocateMem false$/,
      ],
      [['--qos=low', '--mem', '5G'], /^TOIL_SLURM_ARGS: --mem: .*own memory/],
      [['--mem-per-cpu=1G'], /^TOIL_SLURM_ARGS: --mem-per-cpu=1G: .*own memory/],
      [['--mem-per-gpu=1G'], /own memory/],
      [
        ['--cpus-per-task=4'],
        /^TOIL_SLURM_ARGS: --cpus-per-task=4: toil-ts asks Slurm for each job's own cores \(--cpus-per-task\), as Toil does, which refuses it here too: declare the cores on the job \(or --defaultCores\)$/,
      ],
      [['-c', '4'], /^TOIL_SLURM_ARGS: -c: .*own cores/],
      [['-c4'], /^TOIL_SLURM_ARGS: -c4: .*own cores/],
      [['--cpus-per-gpu=2'], /own cores/],
      [
        ['--comment=lab'],
        /^TOIL_SLURM_ARGS: --comment=lab: toil-ts writes each Slurm job's comment itself \(toil:<job id>:<attempt>\): it is how --restart and toil kill --force find the Slurm jobs a killed leader left running, so they are cancelled, not run twice$/,
      ],
      [['--comment', 'lab'], /^TOIL_SLURM_ARGS: --comment: /],
      [
        ['--array=1-3'],
        /^TOIL_SLURM_ARGS: --array=1-3: an array would run each job once per array task, not once$/,
      ],
      [['-a', '1-3'], /^TOIL_SLURM_ARGS: -a: .*once per array task/],
    ];
    for (const [words, message] of rows)
      t.throws(() => parseSlurmArgs(words), { code: 'BAD_SLURM_ARGS', message }, words.join(' '));
    t.throws(
      () => parseSlurmArgs(['--mem=5G'], '--slurmArgs'),
      { code: 'BAD_SLURM_ARGS', message: /^--slurmArgs: --mem=5G: / },
      'named as given',
    );
    // Options that only look alike pass (-C and -A are --constraint and --account).
    const alike = [
      '--mem-bind=local',
      '--constraint=intel',
      '-Cintel',
      '--account=lab',
      '-Alab',
      '--cluster-constraint=x',
      '--cpu-freq=high',
    ];
    t.same(parseSlurmArgs(alike), { args: alike, excludedNodes: [] }, 'look-alikes pass');
  },
);

t.test(
  'TOIL_SLURM_ARGS: an abbreviation sbatch reads as an option toil-ts sets is refused as the full name is',
  async (t) => {
    // sbatch takes any unambiguous prefix of a long option as that option (getopt_long), so each
    // of these would override toil-ts's own value for every job.
    const rows: [string[], RegExp][] = [
      [['--comm=lab'], /^TOIL_SLURM_ARGS: --comm=lab: toil-ts writes each Slurm job's comment itself/],
      [['--comme', 'lab'], /^TOIL_SLURM_ARGS: --comme: .*comment itself/],
      [['--cpus-per-t=2'], /^TOIL_SLURM_ARGS: --cpus-per-t=2: .*own cores/],
      [['--cpus-per-g=2'], /own cores/],
      [['--arr=1-3'], /^TOIL_SLURM_ARGS: --arr=1-3: .*once per array task/],
      [['--ar', '1-3'], /once per array task/],
      // Ambiguous between two options toil-ts sets: refused as either would be.
      [['--mem-per=1G'], /^TOIL_SLURM_ARGS: --mem-per=1G: .*own memory/],
      [['--mem-per-c=1G'], /own memory/],
      [['--cpus-per=2'], /own cores/],
    ];
    for (const [words, message] of rows)
      t.throws(() => parseSlurmArgs(words), { code: 'BAD_SLURM_ARGS', message }, words.join(' '));
    // Abbreviations of other options pass; so does one that is also another option's (--me: --mem
    // or --mem-bind), which sbatch itself refuses as ambiguous.
    const others = [
      '--part=debug',
      '--qo=low',
      '--mem-b=local',
      '--acc=lab',
      '--ti=10',
      '--me=4G',
      '--exclu',
    ];
    t.same(parseSlurmArgs(others), { args: others, excludedNodes: [] }, 'other abbreviations pass');
  },
);

t.test("a job's list: the user's host lists, then the hinted nodes they do not cover", async (t) => {
  t.same(unionExcluded(['n[1-3]'], ['n4', 'n2', 'm1']), ['n[1-3]', 'm1', 'n4']);
  t.same(unionExcluded(['n1'], []), ['n1'], "a lifted hint leaves exactly the user's list");
  t.same(unionExcluded([], ['n2']), ['n2']);
  t.same(
    sbatchArgs(base, { ...opts, extraArgs: parseSlurmArgs(['-x', 'n1', '--qos=low']).args }, [
      'n1',
      'n2',
    ]).filter((a) => a === '-x' || a.startsWith('--exclude')),
    ['--exclude=n1,n2'],
    'one --exclude reaches sbatch',
  );
});

t.test('the script execs the argv verbatim (quotes survive) with the extra environment', async (t) => {
  const s = batchScript(base);
  t.match(s, /^#!\/bin\/sh\n/);
  t.match(s, /export TOIL_X='a b'\n/);
  t.match(s, /exec \/usr\/bin\/node \/opt\/toil.js worker 'file:\/data\/it'\\''s here' j-1 --attempt 3\n/);
});

t.test('host lists expand as Slurm compresses them', async (t) => {
  t.same(expandHostlist('n1'), ['n1']);
  t.same(expandHostlist('n[1-3,7]'), ['n1', 'n2', 'n3', 'n7']);
  t.same(expandHostlist('a[08-10],b5'), ['a08', 'a09', 'a10', 'b5']);
  t.same(expandHostlist('r[1-2]-n[1-2]'), ['r1-n1', 'r1-n2', 'r2-n1', 'r2-n2']);
  t.same(expandHostlist(''), []);
});

t.test(
  'squeue/sinfo JSON: exit status from the wait status, one node per name, bad output is a typed error',
  async (t) => {
    const jobs = parseSqueueJson(
      JSON.stringify({
        jobs: [
          { job_id: 7, name: 'x', job_state: 'FAILED', exit_code: 768, nodes: 'n1', comment: 'toil:a:1' },
          { job_id: 8, name: 'y', job_state: 'CANCELLED', exit_code: 9 },
        ],
      }),
    );
    t.match(jobs[0], { jobId: 7, exitCode: 3, state: 'FAILED' });
    t.match(jobs[1], { signal: 9 });
    t.notOk('exitCode' in jobs[1]!);
    const nodes = parseSinfoJson(
      JSON.stringify({
        nodes: [
          { name: 'n1', state: 'IDLE', state_flags: ['drain'], features: 'spot,big', cpus: 2 },
          { name: 'n1', state: 'IDLE', features: 'spot,big' },
        ],
      }),
    );
    t.equal(nodes.length, 1);
    t.match(nodes[0], { state: 'idle', flags: ['DRAIN'], features: ['spot', 'big'] });
    t.throws(() => parseSqueueJson('nope'), { code: 'SLURM_BAD_REPLY' });
    t.throws(() => parseSqueueJson('{"jobs":[{}]}'), { code: 'SLURM_BAD_REPLY' });
  },
);
