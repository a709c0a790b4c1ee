import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UserInputError } from '../common/errors.js';
import {
  workflowStats,
  type JobNameStats,
  type Spread,
  type WorkflowStats,
} from '../leader/workflowStats.js';
import { openJobStore } from '../main/jobStores.js';
import {
  addForeignOptions,
  checkForeignOptions,
  ignored,
  utilityCommonOptions,
  type ForeignOption,
  type ValueCheck,
} from './foreignOptions.js';
import type { SubCommand } from './main.js';
import { STORE_UNREACHABLE_HELP, storeReadingOptions } from './storeUnreachable.js';

/**
 * Toil's `--sortCategory` values (its `wait` and `disk` are not measured here). As in Toil, `time`
 * is the wall time (its "Real Time") and `clock` the CPU time, the measures of JobNameStats.
 */
const SORT_CATEGORIES = ['time', 'clock', 'memory', 'alpha', 'count'] as const;
export type SortCategory = (typeof SORT_CATEGORIES)[number];
/** Toil's categories toil-ts records nothing for, with what they are in Toil. */
const UNMEASURED: ReadonlyMap<string, string> = new Map([
  ['wait', "a job's CPU wait (its cores times its wall time, less its CPU time)"],
  ['disk', "a job's disk use"],
]);

/** Toil's `--sortField` values: which figure of the category orders the names (`ave` is the mean). */
const SORT_FIELDS = ['min', 'med', 'ave', 'max', 'total'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
const SPREAD_OF: Readonly<Record<SortField, keyof Spread>> = {
  min: 'min',
  med: 'median',
  ave: 'mean',
  max: 'max',
  total: 'total',
};

/** Toil's `--sort` values ("decending" is Toil's spelling; the right one is taken too). */
const SORT_DIRECTIONS = ['ascending', 'decending', 'descending'];

interface Flags {
  raw?: boolean;
  sortCategory: string;
  sortField?: string;
  sort?: string;
  sortReverse?: boolean;
  outputFile?: string;
}

/**
 * Toil's `--categories`: a comma-separated list of its measures, checked as Toil does (it refuses
 * `--categories bogus` before reading the store), so a command line toil-ts runs is one Toil would.
 */
const TOIL_CATEGORY_NAMES = ['time', 'clock', 'wait', 'memory', 'disk'];
const TOIL_CATEGORIES: ValueCheck = {
  expected: `a comma-separated list of ${TOIL_CATEGORY_NAMES.join(', ')}`,
  accepts: (v) => v.split(',').every((c) => TOIL_CATEGORY_NAMES.includes(c.trim().toLowerCase())),
};

/** Toil's `toil stats` options that change nothing here (src/cli/foreignOptions.ts). */
const FOREIGN: readonly ForeignOption[] = [
  ...ignored('none', 'the table already shows seconds and MiB, rounded', '--pretty', '--human'),
  ...ignored(
    TOIL_CATEGORIES,
    'the table shows every measure toil-ts records (wall time, CPU time, memory); wait and disk are not measured',
    '--categories',
  ),
  ...utilityCommonOptions('toil stats'),
];

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    const cmd = program
      .command('stats')
      .description(
        "Statistics of a workflow's jobs, by job name (Toil's `toil stats`): how many ran, and each one's wall " +
          'time, CPU time and peak memory (min, median, mean, max, total); and how many attempts failed. ' +
          'Needs the job store kept: run with ' +
          '--stats (or --clean never). ' +
          `Exit codes: 0 reported, 2 bad input (a store that does not exist, a bad flag), ${STORE_UNREACHABLE_HELP}.`,
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .option('--raw', 'print one JSON object instead of the table')
      .option('--outputFile <path>', 'also write the report (table, or JSON with --raw) to this file')
      .option(
        '--sortCategory <category>',
        `order of the job names: ${SORT_CATEGORIES.join(', ')} (time: wall time, clock: CPU time, as in Toil)`,
        'time',
      )
      .option(
        '--sortField <field>',
        `which figure of the category orders them: ${SORT_FIELDS.join(', ')} (default med, as in Toil)`,
      )
      .option('--sort <direction>', 'ascending, or decending (the default: largest first)')
      .option('--sortReverse', 'reverse the order');
    addForeignOptions(cmd, FOREIGN).action(async (jobStore: string, flags: Flags) => {
      for (const notice of checkForeignOptions(flags, FOREIGN)) process.stderr.write(`${notice}\n`);
      const category = flags.sortCategory as SortCategory;
      // Toil's wait and disk are valid there: said as not measured, not as a typo.
      if (!SORT_CATEGORIES.includes(category))
        throw new UserInputError(
          'BAD_FLAG',
          `--sortCategory ${flags.sortCategory}: ` +
            (UNMEASURED.has(flags.sortCategory)
              ? `toil-ts does not measure ${UNMEASURED.get(flags.sortCategory)}; `
              : '') +
            `expected one of ${SORT_CATEGORIES.join(', ')}`,
        );
      const field = flags.sortField as SortField | undefined;
      if (field !== undefined && !SORT_FIELDS.includes(field))
        throw new UserInputError(
          'BAD_FLAG',
          `--sortField ${field}: expected one of ${SORT_FIELDS.join(', ')}`,
        );
      if (flags.sort !== undefined && !SORT_DIRECTIONS.includes(flags.sort))
        throw new UserInputError('BAD_FLAG', `--sort ${flags.sort}: expected ascending or decending`);
      const s = await workflowStats(openJobStore(jobStore, storeReadingOptions('stats')), Date.now());
      const reverse = Boolean(flags.sortReverse) !== (flags.sort === 'ascending');
      const byName = sortNames(s.byName, category, field, reverse);
      const report = flags.raw
        ? `${JSON.stringify({ ...s, byName }, toMicros)}\n`
        : [
            `job store: ${s.locator}`,
            `workflow:  ${s.workflowId} (${s.workflowFile})`,
            `jobs:      ${s.jobs} run, ${s.timeSeconds.toFixed(2)} s of wall time, ${s.cpuSeconds.toFixed(2)} core·s of CPU`,
            ...failedLines(s),
            '',
            ...table(byName),
          ].join('\n') + '\n';
      // As Toil's: the file gets the report and the screen shows it too.
      if (flags.outputFile !== undefined) {
        try {
          writeFileSync(flags.outputFile, report);
        } catch (e) {
          throw new UserInputError('BAD_FLAG', `--outputFile ${flags.outputFile}: ${(e as Error).message}`);
        }
      }
      process.stdout.write(report);
      setExitCode(0);
    });
  },
};

/**
 * Failed attempts commit nothing, so the table leaves them out: a line says how many there were, by
 * job name, and where their errors are, lest a workflow whose jobs failed read as one that ran nothing.
 */
function failedLines(s: WorkflowStats): string[] {
  if (s.failedAttempts === 0) return [];
  const names = s.failedByName.map((f) => `${f.name} ${f.attempts}`).join(', ');
  return [
    `failed:    ${s.failedAttempts} attempt(s) (${names}), not in the table; toil status --printLogs shows why`,
  ];
}

/** The job names in the order of Toil's `--sortCategory` and `--sortField`, largest first unless `reverse`. */
export function sortNames(
  rows: readonly JobNameStats[],
  by: SortCategory,
  field: SortField | undefined,
  reverse: boolean,
): JobNameStats[] {
  // Toil's default is the median: its report marks "med*" as the order.
  const of = (sp: Spread | undefined): number => sp?.[SPREAD_OF[field ?? 'med']] ?? 0;
  const key = (r: JobNameStats): number | string =>
    by === 'alpha'
      ? r.name
      : by === 'count'
        ? r.count
        : by === 'time'
          ? of(r.time)
          : by === 'clock'
            ? of(r.clock)
            : of(r.memory);
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
    // Toil's titles: its --sortCategory time is the first, clock the second.
    [
      'job',
      'count',
      'real time s',
      '',
      '',
      '',
      '',
      'CPU time core·s',
      '',
      '',
      '',
      '',
      'memory MiB',
      '',
      '',
      '',
      '',
    ],
    ['', '', ...measures, ...measures, ...measures.slice(0, 4), ''],
  ];
  const body: string[][] = rows.map((r) => [
    r.name,
    String(r.count),
    ...spreadCells(r.time, seconds),
    ...spreadCells(r.clock, seconds),
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

/**
 * --raw's numbers to six decimals (microseconds, for seconds): sums of floats print as
 * 0.17500000000000002, which is noise, not precision the measurements have.
 */
function toMicros(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1e6) / 1e6 : value;
}
