import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseBool } from '../../src/cli/run.js';
import { parseSlurmFlags } from '../../src/slurm/slurmFlags.js';

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
    parseBool,
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
    parseSlurmFlags({}, { TOIL_SLURM_ARGS: ' --account=other ' }, parseBool),
    { extraArgs: ['--account=other'], jobFlags: {} },
    'no flags: TOIL_SLURM_ARGS, as in Toil',
  );
  for (const ok of ['1-12:00:00', '30:00', '0:10:00'])
    t.doesNotThrow(() => parseSlurmFlags({ slurmTime: ok }, {}, parseBool), ok);
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
      () => parseSlurmFlags(flags, {}, parseBool),
      { code: 'BAD_FLAG', disposition: 'user', message },
      JSON.stringify(flags),
    );
});
