import { formatDuration } from '../common/units.js';
import type { SimulationProgress } from '../scaler/simulator/engine.js';

/** How often a long simulation says how far it is, in wall-clock milliseconds. */
export const PROGRESS_EVERY_MS = 5000;

/**
 * A simulation runs on a simulated clock as fast as the machine goes: a trace of tens of
 * thousands of jobs takes minutes, which without a word looks like a hang. Every PROGRESS_EVERY_MS
 * of wall time it says, on stderr, how much simulated time has passed and how many jobs are done;
 * a run shorter than that says nothing.
 */
export function progressReporter(
  label: string,
  write: (line: string) => void,
  now: () => number = Date.now,
  everyMs = PROGRESS_EVERY_MS,
): (progress: SimulationProgress) => void {
  let next = now() + everyMs;
  return ({ t, jobsDone, jobs }) => {
    const at = now();
    if (at < next) return;
    next = at + everyMs;
    write(
      `toil simulate: ${label}: ${formatDuration(t * 1000)} simulated, ${jobsDone.toLocaleString('en-US')} of ${jobs.toLocaleString('en-US')} jobs done`,
    );
  };
}
