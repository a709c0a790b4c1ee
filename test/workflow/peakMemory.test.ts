import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { PeakMemory } from '../../src/workflow/peakMemory.js';
import { REPO_ROOT } from '../fixtures/repoRoot.js';

const noReset = !existsSync('/proc/self/clear_refs') && 'Linux only: no /proc/self/clear_refs here';

/**
 * In a process of its own (a worker's life: one job after another), a 'big' job that fills 200 MiB
 * (`bigJob`), then what the process does after it (`between`), then a 'small' job that allocates
 * nothing: each one's memory, read as a job's is.
 */
function twoJobs(t: Test, bigJob: string, between: string): Record<'big' | 'small', PeakMemory> {
  const url = JSON.stringify(join(REPO_ROOT, 'dist/src/workflow/peakMemory.js'));
  const script = `
    const { measurePeakMemory } = await import(${url});
    const first = measurePeakMemory();
    ${bigJob}
    const big = first();
    ${between}
    const second = measurePeakMemory();
    process.stdout.write(JSON.stringify({ big, small: second() }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  t.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<'big' | 'small', PeakMemory>;
}

t.test(
  "a warm worker's second job is measured from its own start, not the first job's peak",
  { skip: noReset },
  async (t) => {
    // The first job's 200 MiB is freed before the second starts.
    const { big, small } = twoJobs(
      t,
      'let buffer = Buffer.alloc(200 * 2 ** 20, 1);',
      'buffer = undefined; globalThis.gc();',
    );
    t.ok(big.peakRssBytes >= 200 * 2 ** 20, `the first job's peak holds its 200 MiB (${big.peakRssBytes})`);
    t.ok(big.peakRssJobOnly, "the process's first job: its peak is its own");
    t.ok(small.peakRssJobOnly, "the second job's peak is its own");
    t.ok(
      small.peakRssBytes < 150 * 2 ** 20,
      `the second job's peak is not the first's 200 MiB (${small.peakRssBytes})`,
    );
  },
);

t.test(
  "a warm worker's second job is measured above what the worker held as it started: the first job's leftovers are not its",
  { skip: noReset },
  async (t) => {
    // The first job keeps its 200 MiB (a cache at module level): resident through the second.
    const { big, small } = twoJobs(t, 'globalThis.kept = Buffer.alloc(200 * 2 ** 20, 1);', '');
    // Net of what the heap gave back meanwhile: the 200 MiB, less a few at most.
    t.ok(
      big.peakRssBytes - big.startRssBytes >= 190 * 2 ** 20,
      `the first job added its 200 MiB (${big.peakRssBytes} above ${big.startRssBytes})`,
    );
    t.ok(
      small.startRssBytes >= 200 * 2 ** 20,
      `the second started with them resident (${small.startRssBytes})`,
    );
    t.ok(small.peakRssBytes >= small.startRssBytes, 'its peak is no lower than its start');
    t.ok(
      small.peakRssBytes - small.startRssBytes < 20 * 2 ** 20,
      `the second added a few MiB at most (${small.peakRssBytes} above ${small.startRssBytes})`,
    );
  },
);
