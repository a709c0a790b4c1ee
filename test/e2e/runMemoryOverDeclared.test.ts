import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const OVER = join(REPO_ROOT, 'test/fixtures/workflowOverMemory.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

t.test(
  'a job whose peak memory exceeds its declaration is warned of once, naming both and what to declare; a job within its own is not, on the same worker',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', OVER, 'file:./js', '--disableProgress'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => / WARNING /.test(l));
    t.equal(warnings.length, 1, `one warning for the two hogs, none for light: ${warnings.join('\n')}`);
    const m =
      /WARNING leader: job 'hog' used ([\d.]+) MiB of memory at its peak \(its worker process's resident memory\), more than the 100\.0 MiB it declares; a batch system places jobs by the memory they declare, so its node may run short: declare memory: '(\d+)Mi' \(its peak and a tenth more\) \(job=hog /.exec(
        warnings[0] ?? '',
      );
    t.ok(m, warnings[0] ?? 'no warning');
    const peakMi = Number(m?.[1]);
    t.ok(peakMi >= 200, `the peak holds the 200 MiB buffer (${peakMi} MiB)`);
    // The exact peak is in the line's fields; the MiB shown are rounded.
    const peakBytes = Number(/peakRssBytes=(\d+)/.exec(warnings[0] ?? '')?.[1]);
    t.equal(Number(m?.[2]), Math.ceil((peakBytes * 11) / 2 ** 20 / 10), 'declare the peak and a tenth more');
    // light ran on a worker a hog had filled: measured from its own start, it is within its 150Mi.
    const pidOf = (job: string): string[] =>
      [...r.stderr.matchAll(new RegExp(`pid (\\d+) \\(job=${job} `, 'g'))].map((p) => p[1]!);
    t.equal(pidOf('hog').length, 2, 'both hogs ran');
    t.ok(pidOf('hog').includes(pidOf('light')[0]!), "light ran in a hog's worker process");
  },
);
