import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseSlurmFlags, slurmPartitionOf } from '../../src/slurm/slurmFlags.js';

t.test("parseSlurmFlags: Toil's Slurm flags as its docs write them", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-slurmflags-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = parseSlurmFlags(
    {
      slurmTime: '4:00:00',
      slurmQOS: 'normal',
      slurmPE: 'smp',
      slurmAllocateMem: 'False',
      slurmArgs: '--account=lab  --nice=10',
      batchLogsDir: join(dir, 'logs'),
    },
    { TOIL_SLURM_ARGS: '--account=other' },
  );
  t.same(s.extraArgs, ['--account=lab', '--nice=10'], '--slurmArgs wins over TOIL_SLURM_ARGS');
  t.same(s.jobFlags, {
    defaultTime: '4:00:00',
    qos: 'normal',
    multiCorePartition: 'smp',
    allocateMem: false,
    logsDir: join(dir, 'logs'),
  });
  t.ok(existsSync(join(dir, 'logs')), 'the logs directory is made');
  t.same(
    parseSlurmFlags({}, { TOIL_SLURM_ARGS: ' --account=other ' }),
    { extraArgs: ['--account=other'], jobFlags: {} },
    'no flags: TOIL_SLURM_ARGS, as in Toil',
  );
  for (const ok of ['1-12:00:00', '30:00', '0:10:00'])
    t.doesNotThrow(() => parseSlurmFlags({ slurmTime: ok }, {}), ok);
});

t.test('parseSlurmFlags: a bad value is one line naming the flag and what was expected', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-slurmflags-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'file'), '');
  const rows: [Record<string, string>, RegExp][] = [
    [{ slurmTime: '4h' }, /^--slurmTime 4h: expected a Slurm time limit as \[DD-\]HH:MM:SS/],
    [{ slurmTime: '1:2:3:4' }, /^--slurmTime 1:2:3:4: expected/],
    [{ slurmQOS: 'a b' }, /^--slurmQOS a b: expected a Slurm QOS name$/],
    [{ slurmPE: 'p;rm' }, /^--slurmPE p;rm: expected a Slurm partition name$/],
    [{ slurmAllocateMem: 'maybe' }, /^--slurmAllocateMem maybe: expected true or false$/],
    [
      { batchLogsDir: join(dir, 'file', 'logs') },
      /^--batchLogsDir .*: cannot make or write the directory \(ENOTDIR\)$/,
    ],
    [
      { batchLogsDir: '/proc/x/logs' },
      /^--batchLogsDir \/proc\/x\/logs: cannot make or write the directory \(ENOENT\)$/,
    ],
  ];
  for (const [flags, message] of rows)
    t.throws(
      () => parseSlurmFlags(flags, {}),
      { code: 'BAD_FLAG', disposition: 'user', message },
      JSON.stringify(flags),
    );
});

t.test("--slurmTime takes every time format Toil's parse_slurm_time takes (Slurm's own)", async (t) => {
  // Toil: "minutes", "minutes:seconds", "hours:minutes:seconds", "days-hours",
  // "days-hours:minutes", "days-hours:minutes:seconds"; sbatch --time reads them the same way.
  for (const time of ['90', '30:00', '4:00:00', '1-12', '1-12:30', '1-12:00:00', '120:00:00'])
    t.equal(parseSlurmFlags({ slurmTime: time }, {}).jobFlags.defaultTime, time, time);
  for (const time of ['4h', '90m', '1-', '-1', '1:2:3:4', '1-2-3', ':30', '1:', ''])
    t.throws(() => parseSlurmFlags({ slurmTime: time }, {}), { code: 'BAD_FLAG' }, JSON.stringify(time));
});

t.test("Toil's environment variables for the Slurm flags hold where the flag is not given", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-slurmenv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    TOIL_SLURM_TIME: '2:00:00',
    TOIL_SLURM_QOS: 'long',
    TOIL_SLURM_PE: 'smp',
    TOIL_SLURM_ALLOCATE_MEM: 'false',
    TOIL_BATCH_LOGS_DIR: join(dir, 'envlogs'),
    TOIL_SLURM_PARTITION: 'batch',
  };
  t.same(parseSlurmFlags({}, env).jobFlags, {
    defaultTime: '2:00:00',
    qos: 'long',
    multiCorePartition: 'smp',
    allocateMem: false,
    logsDir: join(dir, 'envlogs'),
  });
  t.ok(existsSync(join(dir, 'envlogs')), "the variable's logs directory is made");
  t.same(
    parseSlurmFlags({ slurmTime: '30:00', slurmAllocateMem: true }, env).jobFlags.defaultTime,
    '30:00',
    'the flag (or the leader config key) wins over the variable',
  );
  t.equal(slurmPartitionOf(undefined, env), 'batch', 'TOIL_SLURM_PARTITION');
  t.equal(slurmPartitionOf('gpu', env), 'gpu', '--slurmPartition wins');
  t.equal(slurmPartitionOf(undefined, { TOIL_SLURM_PARTITION: ' ' }), undefined, 'blank: none');
  t.throws(() => parseSlurmFlags({}, { TOIL_SLURM_TIME: 'soon' }), {
    code: 'BAD_FLAG',
    message: /^TOIL_SLURM_TIME soon: /,
  });
  t.throws(() => parseSlurmFlags({}, { TOIL_SLURM_ALLOCATE_MEM: 'maybe' }), {
    code: 'BAD_FLAG',
    message: 'TOIL_SLURM_ALLOCATE_MEM maybe: expected true or false',
  });
  t.throws(
    () => parseSlurmFlags({}, { TOIL_SLURM_QOS: 'a b' }, (f) => `batchSystem.${f.slice(2)}`),
    { message: /^TOIL_SLURM_QOS a b: expected a Slurm QOS name/ },
    'a bad variable is named as the variable, not the config key',
  );
});

t.test('the extra sbatch flags are checked at once, named as the user gave them', async (t) => {
  const rows: [Parameters<typeof parseSlurmFlags>, RegExp][] = [
    [[{ slurmArgs: '--mem=5G' }, {}], /^--slurmArgs: --mem=5G: /],
    [[{}, { TOIL_SLURM_ARGS: '--cpus-per-task=2' }], /^TOIL_SLURM_ARGS: --cpus-per-task=2: /],
    [[{ slurmArgs: '--comment=lab' }, { TOIL_SLURM_ARGS: '--qos=low' }], /^--slurmArgs: --comment=lab: /],
    [[{ slurmArgs: '-x n[3-1]' }, {}], /^--slurmArgs: -x n\[3-1\]: "3-1" in "n\[3-1\]" is not a range/],
    [
      [{ slurmArgs: '--array=1-4' }, {}, (f) => `batchSystem.${f.slice(2)}`],
      /^batchSystem\.slurmArgs: --array=1-4: /,
    ],
    [
      [{}, { TOIL_SLURM_ARGS: '--mem=1G' }, (f) => `batchSystem.${f.slice(2)}`],
      /^TOIL_SLURM_ARGS: --mem=1G: /,
    ],
  ];
  for (const [args, message] of rows)
    t.throws(
      () => parseSlurmFlags(...args),
      { code: 'BAD_SLURM_ARGS', disposition: 'user', message },
      message.source,
    );
});
