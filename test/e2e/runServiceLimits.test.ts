import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { execLog, POLL, SERVICES } from '../fixtures/servicesRun.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';
import { waitFor } from '../fixtures/waitFor.js';

t.setTimeout(180_000);
// Each case runs in a directory of its own: they run side by side.
t.jobs = 3;

for (const [flag, extra, kind] of [
  ['--maxServiceJobs', [], 'services'],
  ['--maxPreemptableServiceJobs', ['--preemptable'], 'preemptable: true services'],
] as const)
  t.test(
    `${flag} 1: two hosts' ${kind} run one at a time, the second issued once the first has stopped`,
    async (t) => {
      const dir = scratchDir(t);
      const r = await runToil(
        ['run', SERVICES, 'file:./js', '--mode', 'twoHosts', ...extra, flag, '1', ...POLL],
        { cwd: dir },
      );
      t.equal(r.code, 0, r.stderr);
      const lines = execLog(dir);
      const first = lines[0]?.slice('start '.length) ?? '?';
      const second = first === 'a' ? 'b' : 'a';
      t.same(
        lines,
        [
          `start ${first}`,
          `use db://${first}`,
          'after',
          `stop ${first}`,
          `start ${second}`,
          `use db://${second}`,
          'after',
          `stop ${second}`,
        ],
        'each service started, served its host and stopped before the other started',
      );
      t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'host');
    },
  );

t.test(
  "--maxServiceJobs below one host's services: the deadlock is named with the flag and the run fails at once, not hangs or waits --deadlockWait",
  async (t) => {
    const dir = scratchDir(t);
    const started = Date.now();
    const r = await runToil(
      ['run', SERVICES, 'file:./js', '--mode', 'basic', '--maxServiceJobs', '1', ...POLL],
      {
        cwd: dir,
      },
    );
    t.equal(r.code, 1, r.stderr);
    t.ok(Date.now() - started < 50_000, 'ended before --deadlockWait (60 s) would have');
    t.match(
      r.stderr,
      /toil: job 'db' \([0-9a-f-]+\) never ran: the workflow is service deadlocked by --maxServiceJobs: service 'db' of job 'host' waits for one of the 1 service slot\(s\) \(--maxServiceJobs 1\)/,
    );
    const lines = execLog(dir);
    t.equal(lines.filter((l) => l.startsWith('start')).length, 1, 'only one service started');
    t.equal(lines.filter((l) => l.startsWith('stop')).length, 1, 'and it was stopped');
    t.notOk(
      lines.some((l) => l.startsWith('use')),
      "the host's child, needing both, did not run",
    );
  },
);

// Each limit counts its own kind only: services that say preemptable: true run on spot capacity
// (--maxPreemptableServiceJobs), the others on on-demand capacity (--maxServiceJobs).
const KINDS = [
  { flag: '--maxServiceJobs', extra: [], kind: 'an on-demand service', other: 'preemptable: true' },
  {
    flag: '--maxPreemptableServiceJobs',
    extra: ['--preemptable'],
    kind: 'a preemptable: true service',
    other: 'on-demand',
  },
] as const;

for (const { flag, extra, kind } of KINDS)
  t.test(`${flag} 0: a workflow with ${kind} fails naming the flag, with no service started`, async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', SERVICES, 'file:./js', '--mode', 'basic', ...extra, flag, '0', ...POLL], {
      cwd: dir,
    });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      new RegExp(
        `toil: job 'db' \\([0-9a-f-]+\\) never ran: ${flag} is 0, so service 'db' can never start; give ${flag} 1 or more`,
      ),
    );
    t.same(execLog(dir), [], 'nothing started');
  });

for (const [i, { flag, other }] of KINDS.entries())
  t.test(`${flag} 0 limits only its own kind: ${other} services run as without it`, async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(
      ['run', SERVICES, 'file:./js', '--mode', 'basic', ...KINDS[1 - i]!.extra, flag, '0', ...POLL],
      { cwd: dir },
    );
    t.equal(r.code, 0, r.stderr);
    t.same(execLog(dir).slice(0, 2).sort(), ['start a', 'start b']);
  });

for (const [flag, value] of [
  ['--maxServiceJobs', '-1'],
  ['--maxServiceJobs', '1.5'],
  ['--maxPreemptableServiceJobs', 'many'],
  ['--maxPreemptibleServiceJobs', ''],
] as const)
  t.test(`${flag} '${value}' is refused naming the flag, before anything runs`, async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', SERVICES, 'file:./js', '--mode', 'basic', flag, value], { cwd: dir });
    t.not(r.code, 0);
    t.match(r.stderr, `${flag} ${value}: expected a whole number >= 0`);
    t.same(execLog(dir), []);
  });

t.test(
  'a service held back by --maxServiceJobs across a kill -9 of the leader and --restart: the restarted leader runs the services one at a time and the workflow succeeds',
  async (t) => {
    const dir = scratchDir(t);
    const args = [
      'run',
      SERVICES,
      'file:./js',
      '--mode',
      'twoHostsHold',
      '--maxServiceJobs',
      '1',
      '--clean',
      'never',
      ...POLL,
    ];
    const first = startToil(args, { cwd: dir });
    t.teardown(() => first.child.kill('SIGKILL'));
    await waitFor('a follow-on to wait', () => execLog(dir).includes('after waits'), 60_000);
    first.child.kill('SIGKILL');
    await first.done;
    const before = execLog(dir);
    t.equal(before.filter((l) => l.startsWith('start')).length, 1, 'one service ran, the other was held');
    writeFileSync(join(dir, 'go'), '');
    const r = await runToil([...args, '--restart'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const after = execLog(dir).slice(before.length);
    t.equal(
      after.filter((l) => l.startsWith('use')).length,
      1,
      "only the held service's host's child ran now",
    );
    t.equal(
      after.filter((l) => l.startsWith('start')).length,
      2,
      'both services started, the held one at last',
    );
    let running = 0;
    for (const line of after) {
      running += line.startsWith('start') ? 1 : line.startsWith('stop') ? -1 : 0;
      if (running < 2) continue;
      t.fail(`two services ran at once under --maxServiceJobs 1: ${after.join(', ')}`);
      break;
    }
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'host');
  },
);

t.test(
  'a service held back by --maxServiceJobs below a checkpoint that runs again meanwhile is forgotten with the rest of its run: the leader does not crash issuing it when a slot frees',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(
      ['run', SERVICES, 'file:./js', '--mode', 'heldUnderCheckpoint', '--maxServiceJobs', '1', ...POLL],
      { cwd: dir },
    );
    t.equal(r.code, 1, r.stderr);
    t.notMatch(r.stderr, /unknown job|internal error|src\/leader\//, 'no crash');
    t.match(
      r.stderr,
      /checkpoint job 'ckHeld' has no retries left to run again after job 'failer' below it failed for good/,
    );
    t.match(
      r.stderr,
      /never ran: the workflow is service deadlocked by --maxServiceJobs: service 'db' of job 'oneServiceHost'/,
      "the rerun's service c, held while a holds the slot a stops only after c's branch, is a limit deadlock",
    );
    t.equal(
      r.stderr.match(/^toil: job 'ckHeld' .* failed after/gm)?.length,
      1,
      'the checkpoint, out of reruns, is reported failed once',
    );
    t.same(
      execLog(dir).filter((l) => l.startsWith('start') || l === 'ckHeld'),
      ['start a', 'ckHeld', 'ckHeld'],
      'the checkpoint ran twice while service a held the only slot; c never started',
    );
  },
);
