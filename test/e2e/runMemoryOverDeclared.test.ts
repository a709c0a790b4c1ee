import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const OVER = join(REPO_ROOT, 'test/fixtures/workflowOverMemory.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/** The pids a run's jobs of `name` logged, in order. */
function pidsOf(stderr: string, name: string): string[] {
  return [...stderr.matchAll(new RegExp(`pid (\\d+) \\(job=${name} `, 'g'))].map((p) => p[1]!);
}

t.test(
  'a job whose peak memory exceeds its declaration is warned of once, naming both and what to declare; a job within its own is not, on the same worker',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', OVER, 'file:./js', '--disableProgress'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => / WARNING /.test(l));
    t.equal(warnings.length, 1, `one warning for the two hogs, none for light: ${warnings.join('\n')}`);
    const m =
      /WARNING leader: job 'hog' used ([\d.]+) MiB of memory at its peak \(what its worker process's resident memory grew by while it ran\), more than the 100\.0 MiB it declares; a batch system places jobs by the memory they declare, so its node may run short: declare memory: '(\d+)Mi' \(its peak and a tenth more\) \(job=hog /.exec(
        warnings[0] ?? '',
      );
    t.ok(m, warnings[0] ?? 'no warning');
    const peakMi = Number(m?.[1]);
    // Net of what the heap gave back while it ran (seen: 199.9 MiB): the buffer, less a few.
    t.ok(peakMi >= 190 && peakMi < 250, `the peak holds the 200 MiB buffer (${peakMi} MiB)`);
    // The exact figure is in the line's fields; the MiB shown are rounded.
    const peakBytes = Number(/usedBytes=(\d+)/.exec(warnings[0] ?? '')?.[1]);
    t.equal(Number(m?.[2]), Math.ceil((peakBytes * 11) / 2 ** 20 / 10), 'declare the peak and a tenth more');
    // light ran on a worker a hog had filled: measured from its own start, it is within its 150Mi.
    const pidOf = (job: string): string[] => pidsOf(r.stderr, job);
    t.equal(pidOf('hog').length, 2, 'both hogs ran');
    t.ok(pidOf('hog').includes(pidOf('light')[0]!), "light ran in a hog's worker process");
  },
);

const LEFTOVERS = join(REPO_ROOT, 'test/fixtures/workflowWarmLeftovers.ts');
const MI = 2 ** 20;

for (const [mode, flags] of [
  ['a warm worker another job left 200 MiB resident in', []],
  ['a fresh worker whose workflow module filled 60 MiB as it loaded', ['--freshWorkers']],
] as const) {
  t.test(
    `on ${mode}, a job is charged only the memory it added: a small one is not warned of, one past its declaration is, for its own 200 MiB`,
    async (t) => {
      const dir = scratchDir(t);
      const r = await runToil(['run', LEFTOVERS, 'file:./js', '--disableProgress', ...flags], { cwd: dir });
      t.equal(r.code, 0, r.stderr);
      const warnings = r.stderr.split('\n').filter((l) => / WARNING /.test(l));
      t.equal(warnings.length, 1, `hog is warned of, leaf and root are not: ${warnings.join('\n')}`);
      t.match(
        warnings[0] ?? '',
        /^\S+ WARNING leader: job 'hog' used [\d.]+ MiB of memory at its peak \(what its worker process's resident memory grew by while it ran\), more than the 100\.0 MiB it declares;/,
      );
      const field = (name: string): number =>
        Number(new RegExp(` ${name}=(\\d+)`).exec(warnings[0] ?? '')?.[1]);
      // The growth is net of what the worker's heap gave back while hog ran (seen: 199.75 MiB on a
      // warm worker): its own 200 MiB, less a few; the 200 MiB root left would double it.
      t.ok(field('usedBytes') >= 190 * MI, `hog's own 200 MiB buffer is counted (${field('usedBytes')})`);
      t.ok(
        field('usedBytes') < 250 * MI,
        `what its worker held as it started is not (${field('usedBytes')})`,
      );
      t.equal(
        field('usedBytes'),
        field('peakRssBytes') - field('startRssBytes'),
        "the worker's peak above its start",
      );
      t.ok(
        field('startRssBytes') >= 60 * MI,
        `the worker held the module's 60 MiB as hog started (${field('startRssBytes')})`,
      );
      const [root, leaf, hog] = [pidsOf(r.stderr, 'root'), pidsOf(r.stderr, 'leaf'), pidsOf(r.stderr, 'hog')];
      if (flags.length === 0) {
        t.same([leaf, hog], [root, root], 'leaf and hog ran in the worker root left its 200 MiB in');
        t.ok(
          field('startRssBytes') >= 260 * MI,
          `root's 200 MiB was resident as hog started (${field('startRssBytes')})`,
        );
      } else {
        t.equal(new Set([...root, ...leaf, ...hog]).size, 3, 'each job ran in a worker of its own');
      }
    },
  );
}
