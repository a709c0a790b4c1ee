import type { Command } from 'commander';
import { UserInputError } from '../common/errors.js';
import { workflowStats, type JobNameStats, type Spread } from '../leader/workflowStats.js';
import { openJobStore } from '../main/jobStores.js';
import type { SubCommand } from './main.js';

/** Toil's `--sortCategory` values (its `wait` and `disk` are not measured here). */
const SORT_CATEGORIES = ['time', 'clock', 'memory', 'alpha', 'count'] as const;
type SortCategory = (typeof SORT_CATEGORIES)[number];

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    program
      .command('stats')
      .description(
        "Statistics of a workflow's jobs, by job name (Toil's `toil stats`): how many ran, and each one's wall " +
          'time, CPU time and peak memory (min, median, mean, max, total). Needs the job store kept: run with ' +
          '--stats (or --clean never).',
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .option('--raw', 'print one JSON object instead of the table')
      .option('--sortCategory <category>', `order of the job names: ${SORT_CATEGORIES.join(', ')}`, 'time')
      .option('--sortReverse', 'reverse the order (largest first is the default for measures)')
      .action(
        async (jobStore: string, flags: { raw?: boolean; sortCategory: string; sortReverse?: boolean }) => {
          const category = flags.sortCategory as SortCategory;
          if (!SORT_CATEGORIES.includes(category))
            throw new UserInputError(
              'BAD_FLAG',
              `--sortCategory ${flags.sortCategory}: expected one of ${SORT_CATEGORIES.join(', ')}`,
            );
          const s = await workflowStats(openJobStore(jobStore));
          const byName = sortNames(s.byName, category, Boolean(flags.sortReverse));
          if (flags.raw) process.stdout.write(`${JSON.stringify({ ...s, byName })}\n`);
          else
            process.stdout.write(
              [
                `job store: ${s.locator}`,
                `workflow:  ${s.workflowId} (${s.workflowFile})`,
                `jobs:      ${s.jobs} run, ${s.clockSeconds.toFixed(2)} s of wall time, ${s.cpuSeconds.toFixed(2)} core·s of CPU`,
                '',
                ...table(byName),
              ].join('\n') + '\n',
            );
          setExitCode(0);
        },
      );
  },
};

function sortNames(rows: readonly JobNameStats[], by: SortCategory, reverse: boolean): JobNameStats[] {
  const key = (r: JobNameStats): number | string =>
    by === 'alpha'
      ? r.name
      : by === 'count'
        ? r.count
        : by === 'clock'
          ? r.clock.total
          : by === 'time'
            ? (r.time?.total ?? 0)
            : (r.memory?.max ?? 0);
  const sorted = [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return typeof ka === 'string' ? ka.localeCompare(kb as string) : (kb as number) - ka;
  });
  return reverse ? sorted.reverse() : sorted;
}

const seconds = (x: number): string => x.toFixed(2);
const mib = (x: number): string => (x / 2 ** 20).toFixed(1);

function spreadCells(s: Spread | undefined, fmt: (x: number) => string): string[] {
  return s ? [s.min, s.median, s.mean, s.max, s.total].map(fmt) : ['-', '-', '-', '-', '-'];
}

/** One row per job name; columns min/median/mean/max/total for each measure, aligned. */
function table(rows: readonly JobNameStats[]): string[] {
  const measures = ['min', 'med', 'mean', 'max', 'total'];
  const head: string[][] = [
    ['job', 'count', 'clock s', '', '', '', '', 'CPU core·s', '', '', '', '', 'memory MiB', '', '', '', ''],
    ['', '', ...measures, ...measures, ...measures.slice(0, 4), ''],
  ];
  const body: string[][] = rows.map((r) => [
    r.name,
    String(r.count),
    ...spreadCells(r.clock, seconds),
    ...spreadCells(r.time, seconds),
    // A total of peaks means nothing: memory shows min/med/mean/max only.
    ...spreadCells(r.memory, mib).slice(0, 4),
    '',
  ]);
  const all = [...head, ...body];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all.map((row) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
