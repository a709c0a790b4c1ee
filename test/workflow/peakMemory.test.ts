import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../fixtures/repoRoot.js';

/**
 * In a process of its own (a worker's life: one job after another): the first job fills 200 MiB,
 * which is then freed; the second job's peak, read as a job's is, must not be the first's.
 */
const noReset = !existsSync('/proc/self/clear_refs') && 'Linux only: no /proc/self/clear_refs here';

t.test(
  "a warm worker's second job is measured from its own start, not the first job's peak",
  { skip: noReset },
  async (t) => {
    const url = JSON.stringify(join(REPO_ROOT, 'dist/src/workflow/peakMemory.js'));
    const script = `
    const { measurePeakMemory } = await import(${url});
    const first = measurePeakMemory();
    let buffer = Buffer.alloc(200 * 2 ** 20, 1);
    const big = first();
    buffer = undefined;
    globalThis.gc();
    const second = measurePeakMemory();
    process.stdout.write(JSON.stringify({ big, small: second() }));
  `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    t.equal(r.status, 0, r.stderr);
    const { big, small } = JSON.parse(r.stdout) as Record<
      'big' | 'small',
      { peakRssBytes: number; peakRssJobOnly: boolean }
    >;
    t.ok(big.peakRssBytes >= 200 * 2 ** 20, `the first job's peak holds its 200 MiB (${big.peakRssBytes})`);
    t.ok(big.peakRssJobOnly, "the process's first job: its peak is its own");
    t.ok(small.peakRssJobOnly, "the second job's peak is its own");
    t.ok(
      small.peakRssBytes < 150 * 2 ** 20,
      `the second job's peak is not the first's 200 MiB (${small.peakRssBytes})`,
    );
  },
);
