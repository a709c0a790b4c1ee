import { basename } from 'node:path';
import { z } from 'zod';
import { ConfigError, describeZodIssues, shownValue } from '../../common/configErrors.js';
import { durationMs, sizeBytes } from '../../common/configTypes.js';
import { UserInputError } from '../../common/errors.js';
import { bareNumber } from '../../common/units.js';

/** One job of a trace: when it arrives, what it asks for, how long it really runs. */
export interface TraceJob {
  readonly id: string;
  readonly name: string;
  /** Seconds from the start of the trace. */
  readonly arrival: number;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly preemptable: boolean;
  /** The true runtime in seconds (the scaler never sees it). */
  readonly runtime: number;
  /** Declared walltime in seconds, if the workflow gives one. */
  readonly walltime?: number;
  /** Ids of jobs that must finish before this one is ready. */
  readonly dependsOn: readonly string[];
}

export interface Trace {
  readonly name: string;
  readonly jobs: readonly TraceJob[];
}

/** Seconds, as a number of them or as a duration people write ("20m", "1h30m"). */
const seconds = () => durationMs().transform((ms) => ms / 1000);
const positiveSeconds = () =>
  seconds().refine((s) => s > 0, { message: 'expected a duration > 0, like "30s", "20m" or "1h30m"' });
const aBoolean = () => z.boolean({ error: (i) => `expected true or false, got ${shownValue(i.input)}` });

const JobSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1),
    arrival: seconds().default(0),
    cores: z.number().min(0),
    memory: sizeBytes(),
    disk: sizeBytes().default(0),
    preemptable: aBoolean().optional(),
    preemptible: aBoolean().optional(),
    runtime: positiveSeconds(),
    walltime: positiveSeconds().optional(),
    dependsOn: z.array(z.string()).default([]),
  })
  .strict();

const TraceSchema = z
  .object({
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    jobs: z.array(JobSchema).min(1),
  })
  .strict();

/** Toil's other spelling of a job's field, not listed apart. */
const JOB_FIELD_ALIASES: ReadonlySet<string> = new Set(['preemptible']);

/**
 * The trace's fields as `toil simulate --help` lists them, read off the schema so they cannot
 * drift from it: `{name?, jobs: [{id, arrival?, …}]}`, a `?` on each a trace may leave out.
 */
export function traceFields(): string {
  const fields = (shape: Record<string, z.ZodType>, inner: Record<string, string> = {}): string =>
    Object.entries(shape)
      .filter(([k]) => !JOB_FIELD_ALIASES.has(k))
      .map(([k, schema]) => inner[k] ?? `${k}${schema.safeParse(undefined).success ? '?' : ''}`)
      .join(', ');
  return `{${fields(TraceSchema.shape, { jobs: `jobs: [{${fields(JobSchema.shape)}}]` })}}`;
}

/**
 * A bare size under this many bytes is a unit left out (`memory: 4` meant as 4G), not a size: no
 * real job runs in less than a MiB. Bare numbers are still bytes, as Toil reads them.
 */
const LEAST_BARE_BYTES = 2 ** 20;

/**
 * The refusal of a job's memory or disk given as a bare number under a MiB, said of the first such
 * job with how to write it, and how many more there are: read as bytes it would run, fitting
 * anywhere, and the report would be of another workload.
 */
function bareSizeRefusal(
  doc: { jobs: Record<string, unknown>[] },
  source: string,
): UserInputError | undefined {
  const found = doc.jobs.flatMap((job, i) =>
    (['memory', 'disk'] as const).flatMap((field) => {
      const value = job[field];
      const n = bareNumber(value);
      return n > 0 && n < LEAST_BARE_BYTES ? [{ i, id: String(job['id']), field, value, n }] : [];
    }),
  );
  const first = found[0];
  if (!first) return undefined;
  const more = found.length > 1 ? ` (and ${found.length - 1} more memory or disk like it in the trace)` : '';
  return new UserInputError(
    'TRACE_INVALID',
    `trace ${source}: job ${first.id} (jobs[${first.i}]) ${first.field}: ${shownValue(first.value)} has no unit, so it is ${first.n} byte(s); ` +
      `write the unit, e.g. "${first.n}G" (or "${first.n}M", "${first.n}Gi"), or the bytes themselves (1 MiB or more)${more}`,
  );
}

/**
 * Validates a trace (parsed JSON). Every problem is reported with the path of its field
 * (`jobs[3].runtime: …`), including duplicate ids, unknown dependencies and dependency cycles;
 * a memory or disk whose unit was left out is refused first, in one line. The trace's own name only labels the report: without one it is the file's (`scatter.json` →
 * `scatter`). A job's name is not optional: the policy learns runtimes by it.
 */
export function parseTrace(doc: unknown, source = 'trace'): Trace {
  const r = TraceSchema.safeParse(doc);
  if (!r.success) throw new ConfigError(source, describeZodIssues(r.error.issues, [], TraceSchema));
  const bare = bareSizeRefusal(doc as { jobs: Record<string, unknown>[] }, source);
  if (bare) throw bare;
  const problems: string[] = [];
  const index = new Map<string, number>();
  r.data.jobs.forEach((j, i) => {
    if (index.has(j.id))
      problems.push(`jobs[${i}].id: duplicate id "${j.id}" (also jobs[${index.get(j.id)}])`);
    else index.set(j.id, i);
    if (j.preemptable !== undefined && j.preemptible !== undefined)
      problems.push(`jobs[${i}].preemptible: give either preemptable or preemptible`);
  });
  r.data.jobs.forEach((j, i) =>
    j.dependsOn.forEach((d, k) => {
      if (!index.has(d)) problems.push(`jobs[${i}].dependsOn[${k}]: no job has id "${d}"`);
      else if (d === j.id) problems.push(`jobs[${i}].dependsOn[${k}]: a job cannot depend on itself`);
    }),
  );
  if (problems.length === 0) {
    // Kahn's algorithm: anything left over sits on a cycle.
    const indegree = r.data.jobs.map((j) => j.dependsOn.length);
    const children = r.data.jobs.map(() => [] as number[]);
    r.data.jobs.forEach((j, i) => j.dependsOn.forEach((d) => children[index.get(d)!]!.push(i)));
    const ready = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
    let seen = 0;
    while (ready.length > 0) {
      const i = ready.pop()!;
      seen++;
      for (const c of children[i]!) if (--indegree[c]! === 0) ready.push(c);
    }
    if (seen < r.data.jobs.length) {
      const i = indegree.findIndex((d) => d > 0);
      problems.push(`jobs[${i}].dependsOn: dependency cycle through job "${r.data.jobs[i]!.id}"`);
    }
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return {
    name: r.data.name ?? basename(source).replace(/\.json$/i, ''),
    jobs: r.data.jobs.map((j) => ({
      id: j.id,
      name: j.name,
      arrival: j.arrival,
      cores: j.cores,
      memoryBytes: j.memory,
      diskBytes: j.disk,
      preemptable: j.preemptable ?? j.preemptible ?? false,
      runtime: j.runtime,
      walltime: j.walltime,
      dependsOn: j.dependsOn,
    })),
  };
}
