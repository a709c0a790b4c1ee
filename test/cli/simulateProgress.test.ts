import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runComparison, runSimulation } from '../../src/cli/simulate.js';
import { PROGRESS_EVERY_MS, progressReporter } from '../../src/cli/simulateProgress.js';
import type { PolicyName } from '../../src/scaler/types.js';
import { testDir } from '../fixtures/testDir.js';

/** Three waves of jobs, enough ticks for a slow clock to report several times. */
function writeTrace(dir: string): string {
  const path = join(dir, 'waves.json');
  const jobs = Array.from({ length: 60 }, (_, i) => ({
    id: `j${i}`,
    name: 'step',
    arrival: Math.floor(i / 20) * 3600,
    cores: 2,
    memory: '3Gi',
    runtime: '20m',
  }));
  writeFileSync(path, JSON.stringify({ jobs }));
  return path;
}

/** A wall clock that moves a second each time it is read: every tick takes a second. */
function slowClock(): () => number {
  let ms = 0;
  return () => (ms += 1000);
}

const LINE =
  /^toil simulate: policy (cost|toil-classic): (?:(\d+)h(\d\d)m|(\d+)m(\d\d)s|(\d+)s) simulated, (\d+) of 60 jobs done$/;

function simulatedSeconds(m: RegExpExecArray): number {
  const n = (i: number): number => Number(m[i] ?? 0);
  return n(2) * 3600 + n(3) * 60 + n(4) * 60 + n(5) + n(6);
}

t.test('a long simulation says how far it is every few seconds of wall time', async (t) => {
  const dir = testDir(t, {});
  const trace = writeTrace(dir);
  const lines: string[] = [];
  const progress = (policy: PolicyName) =>
    progressReporter(`policy ${policy}`, (l) => lines.push(l), slowClock());
  const r = await runSimulation(trace, undefined, { progress });
  t.ok(r.finished);
  // One line per PROGRESS_EVERY_MS of (one-second) ticks.
  t.equal(lines.length, Math.floor(r.ticks / (PROGRESS_EVERY_MS / 1000)), `${r.ticks} ticks`);
  let lastT = -1;
  let lastDone = -1;
  for (const line of lines) {
    const m = LINE.exec(line);
    t.ok(m, line);
    if (!m) continue;
    t.equal(m[1], 'cost');
    const at = simulatedSeconds(m);
    t.ok(at > lastT && at <= r.makespan, `${at} s simulated, after ${lastT} s`);
    t.ok(Number(m[7]) >= lastDone, 'jobs done never go back');
    lastT = at;
    lastDone = Number(m[7]);
  }
  t.ok(lastDone > 0 && lastDone < 60, `the last line is mid-run: ${lastDone} of 60`);
  const quiet = await runSimulation(trace);
  t.same({ ...quiet, trace: r.trace }, r, 'reporting changes nothing the run decides');
});

t.test('a run shorter than the interval says nothing; --compare names each policy', async (t) => {
  const dir = testDir(t, {});
  const trace = writeTrace(dir);
  const lines: string[] = [];
  const stopped = () => 0;
  await runSimulation(trace, undefined, {
    progress: (p) => progressReporter(`policy ${p}`, (l) => lines.push(l), stopped),
  });
  t.same(lines, [], 'a clock that does not move: nothing said');
  await runComparison(trace, undefined, {
    progress: (p) => progressReporter(`policy ${p}`, (l) => lines.push(l), slowClock()),
  });
  const policies = new Set(lines.map((l) => LINE.exec(l)?.[1]));
  t.same([...policies].sort(), ['cost', 'toil-classic']);
});
