/**
 * Whether a record that parses holds what the leader and `toil status` read from it: a job's
 * commit and the workflow record are walked (their successors, the jobs they declare, the files
 * deleted), the run's outcome, what runs now and the failure logs are listed line by line, so one
 * written by something else with a field gone or of another type would fail as an internal error
 * deep in that walk (or print `undefined`) rather than be named as the damaged object it is.
 */

export type Fields = Readonly<Record<string, unknown>>;

/** What is wrong with the commit of job `jobId` (its key's), or undefined. */
export function commitShapeProblem(c: Fields, jobId: string): string | undefined {
  return recordProblem("a job's commit", [
    ...jobIdOfKey(c, jobId),
    ...stringLists(c, ['children', 'followOns', 'deletedFiles']),
    ...optionalStringLists(c, ['services']),
    ...(Array.isArray(c.newJobs)
      ? c.newJobs.flatMap((j, i) => jobSpecProblems(j, `newJobs[${i}]`))
      : [listProblem(c.newJobs, 'newJobs', 'jobs')]),
    ...typedFields(c, {
      attempt: 'number',
      wallTimeMs: 'number',
      cpuTimeMs: 'number?',
      peakRssBytes: 'number?',
      peakRssJobOnly: 'boolean?',
      startRssBytes: 'number?',
    }),
    ...objectList(c, 'logs', logLineProblems),
  ]);
}

/** What is wrong with the workflow record, or undefined. */
export function workflowShapeProblem(w: Fields): string | undefined {
  return recordProblem('a workflow record', [
    ...stringField(w, 'workflowId'),
    ...stringField(w, 'rootJobId'),
    ...(Array.isArray(w.jobs)
      ? w.jobs.flatMap((j, i) => jobSpecProblems(j, `jobs[${i}]`))
      : [listProblem(w.jobs, 'jobs', 'jobs')]),
    ...typedFields(w, { createdAt: 'number', workflowFile: 'string' }),
    ...nestedFields(w, 'module', MODULE_REF),
    ...stringLists(w, ['args'], undefined, 'arguments'),
    ...nestedFields(w, 'options', { retryCount: 'number' }),
    ...(isRecord(w.options) ? nestedFields(w.options, 'defaults', RESOLVED_REQUIREMENTS, 'options') : []),
  ]);
}

/** What is wrong with the pointer to the module the last run used (module-current.json), or undefined. */
export function currentModuleShapeProblem(m: Fields): string | undefined {
  return recordProblem("the last run's module", nestedFields(m, 'module', MODULE_REF));
}

/** What is wrong with the record of the Mesos framework the leader subscribed as, or undefined. */
export function mesosFrameworkShapeProblem(f: Fields): string | undefined {
  return recordProblem('a Mesos framework', typedFields(f, { frameworkId: 'string', master: 'string?' }));
}

/** What is wrong with the record of the Slurm cluster the leader submits to, or undefined. */
export function slurmUseShapeProblem(s: Fields): string | undefined {
  return recordProblem("a Slurm cluster's use", typedFields(s, { conf: 'string?' }));
}

/**
 * What is wrong with the mark of a lost attempt (`rest` is its key after `lost/`: the job and
 * attempt it names), or undefined.
 */
export function lostMarkShapeProblem(m: Fields, rest: string): string | undefined {
  const [jobId = '', attempt] = rest.split('/');
  return recordProblem("a lost attempt's mark", [
    ...jobIdOfKey(m, jobId),
    ...typedFields(m, { attempt: 'number' }),
    ...(typeof m.attempt === 'number' && String(m.attempt) !== attempt
      ? [`its attempt ${m.attempt} is not ${attempt}, the one its key names`]
      : []),
  ]);
}

/** What is wrong with the ticket of job `jobId` (its key's: what a worker runs), or undefined. */
export function ticketShapeProblem(t: Fields, jobId: string): string | undefined {
  return recordProblem("a job's ticket", [
    ...jobIdOfKey(t, jobId),
    ...typedFields(t, { workflowId: 'string', name: 'string', attempt: 'number?', generation: 'number?' }),
    ...nestedFields(t, 'requirements', RESOLVED_REQUIREMENTS),
    ...nestedFields(t, 'module', MODULE_REF),
    ...(t.service === undefined ? [] : nestedFields(t, 'service', { pollMs: 'number' })),
    ...(t.env === undefined ? [] : envProblems(t.env)),
  ]);
}

/**
 * What is wrong with the record of a service's start (services/JOB/ATTEMPT/started), or undefined:
 * its value may be any JSON, null among them, but it must be there, or the host's successors
 * would be handed nothing in place of the value they wait for.
 */
export function serviceStartedShapeProblem(s: Fields): string | undefined {
  return recordProblem("a service's start value", s.value === undefined ? ['no value'] : []);
}

/**
 * What is wrong with the leader's request that a service stop (services/JOB/ATTEMPT/stop), or
 * undefined; a request without `keep` is one from before it was written, which kept the service.
 */
export function serviceStopShapeProblem(s: Fields): string | undefined {
  return recordProblem("a leader's request that a service stop", typedFields(s, { keep: 'boolean?' }));
}

/** What is wrong with the lease record (leader.json: who holds the store, the generation), or undefined. */
export function leaderShapeProblem(l: Fields): string | undefined {
  return recordProblem('a lease record', [
    ...typedFields(l, { generation: 'number', expiresAt: 'number?' }),
    ...(l.holder === undefined
      ? []
      : nestedFields(l, 'holder', {
          id: 'string',
          host: 'string',
          pid: 'number',
          bootId: 'string?',
          pidNamespace: 'string?',
        })),
  ]);
}

/** What is wrong with the record of how the last leader's run ended (outcome.json), or undefined. */
export function outcomeShapeProblem(o: Fields): string | undefined {
  return recordProblem("a run's outcome", [
    ...typedFields(o, { generation: 'number', status: ['succeeded', 'failed'], at: 'number' }),
    ...objectList(o, 'failedJobs', (j, where) =>
      typedFields(j, { jobId: 'string', name: 'string', error: 'string' }, where),
    ),
  ]);
}

/** What is wrong with the record of what the running leader has issued (running.json), or undefined. */
export function runningShapeProblem(r: Fields): string | undefined {
  return recordProblem('what a leader runs', [
    ...typedFields(r, {
      generation: 'number',
      at: 'number',
      batchSystem: 'string',
      running: 'number',
      waiting: 'number',
      held: 'number?',
      lostCount: 'number?',
    }),
    ...(r.lost === undefined
      ? []
      : objectList(r, 'lost', (j, where) =>
          typedFields(
            j,
            {
              jobId: 'string',
              name: 'string',
              attempt: 'number',
              at: 'number',
              why: 'string',
              next: ['spot', 'on-demand', 'moved-to-on-demand', 'failure', 'committed'],
            },
            where,
          ),
        )),
    ...objectList(r, 'jobs', (j, where) =>
      typedFields(
        j,
        {
          jobId: 'string',
          name: 'string',
          attempt: 'number',
          state: ['running', 'issued'],
          batchJobId: 'string?',
          node: 'string?',
          startedAt: 'number?',
        },
        where,
      ),
    ),
  ]);
}

/** What is wrong with the log of a failed attempt (logs/JOB/ATTEMPT), or undefined. */
export function failureLogShapeProblem(l: Fields): string | undefined {
  return recordProblem("a failed attempt's log", [
    ...typedFields(l, { jobId: 'string', attempt: 'number', name: 'string', error: 'string' }),
    ...objectList(l, 'logs', logLineProblems),
    ...typedFields(l, { output: 'string' }),
  ]);
}

function recordProblem(what: string, wrong: readonly string[]): string | undefined {
  return wrong.length === 0 ? undefined : `does not hold ${what}: ${wrong.join(', ')}`;
}

const MODULE_REF = { key: 'string', etag: 'string', size: 'number' } as const;

/** Requirements in effect: a ticket's, the workflow's defaults. */
const RESOLVED_REQUIREMENTS = {
  cores: 'number',
  memory: 'number',
  disk: 'number',
  preemptable: 'boolean',
  walltimeMs: 'number?',
} as const;

/** Requirements as a job declared them: each unset one is the workflow's default. */
const DECLARED_REQUIREMENTS = {
  cores: 'number?',
  memory: 'number?',
  disk: 'number?',
  preemptable: 'boolean?',
  walltimeMs: 'number?',
} as const;

function logLineProblems(line: Fields, where: string): string[] {
  return typedFields(line, { level: 'string', message: 'string', time: 'number' }, where);
}

/** A field's type: a string, a finite number, a boolean, any of them or absent (`?`), or one of these words. */
type FieldType = 'string' | 'number' | 'boolean' | 'string?' | 'number?' | 'boolean?' | readonly string[];

/** What is wrong with the fields of `o` that `types` names, in its order. */
function typedFields(o: Fields, types: Readonly<Record<string, FieldType>>, where?: string): string[] {
  return Object.entries(types).flatMap(([name, type]) => {
    const v = o[name];
    const field = where === undefined ? name : `${where}.${name}`;
    if (typeof type !== 'string')
      return type.includes(v as string)
        ? []
        : [`${field} is ${describe(v)}, not ${type.map((w) => JSON.stringify(w)).join(' or ')}`];
    if (v === undefined) return type.endsWith('?') ? [] : [`no ${field}`];
    const kind = type.replace('?', '');
    const ok = kind === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === kind;
    return ok ? [] : [`${field} is ${describe(v)}, not a ${kind}`];
  });
}

/** The record's own jobId, which must be the job its key names. */
function jobIdOfKey(o: Fields, jobId: string): string[] {
  if (o.jobId === undefined) return ['no jobId'];
  return o.jobId === jobId ? [] : [`its jobId ${describe(o.jobId)} is not ${jobId}, the job its key names`];
}

/** What is wrong with `o[name]`, a record whose fields `types` names. */
function nestedFields(
  o: Fields,
  name: string,
  types: Readonly<Record<string, FieldType>>,
  where?: string,
): string[] {
  const v = o[name];
  const field = where === undefined ? name : `${where}.${name}`;
  if (!isRecord(v)) return [v === undefined ? `no ${field}` : `${field} is ${describe(v)}, not a record`];
  return typedFields(v, types, field);
}

function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A ticket's environment: variable names to their values, every value a string. */
function envProblems(env: unknown): string[] {
  if (typeof env !== 'object' || env === null || Array.isArray(env))
    return [`env is ${describe(env)}, not a record of variables`];
  return Object.entries(env)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k, v]) => `env.${k} is ${describe(v)}, not a string`);
}

function jobSpecProblems(j: unknown, where: string): string[] {
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    return [`${where} is ${describe(j)}, not a job`];
  const spec = j as Fields;
  return [
    ...stringField(spec, 'id', where),
    ...stringField(spec, 'name', where),
    ...stringLists(spec, ['children', 'followOns'], where),
    ...optionalStringLists(spec, ['services'], where),
    ...typedFields(spec, { afterService: 'string?' }, where),
    ...nestedFields(spec, 'requirements', DECLARED_REQUIREMENTS, where),
  ];
}

function stringField(o: Fields, name: string, where?: string): string[] {
  if (typeof o[name] === 'string') return [];
  const field = where === undefined ? name : `${where}.${name}`;
  return [o[name] === undefined ? `no ${field}` : `${field} is ${describe(o[name])}, not a string`];
}

/** The problems of list `name` of `o`, whose items are objects `itemProblems` checks. */
function objectList(
  o: Fields,
  name: string,
  itemProblems: (item: Fields, where: string) => string[],
): string[] {
  const list = o[name];
  if (!Array.isArray(list)) return [listProblem(list, name, 'records')];
  return list.flatMap((item: unknown, i) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? itemProblems(item as Fields, `${name}[${i}]`)
      : [`${name}[${i}] is ${describe(item)}, not a record`],
  );
}

/** The fields of `names` in `o` that are there and are not lists of ids. */
function optionalStringLists(o: Fields, names: readonly string[], where?: string): string[] {
  return stringLists(
    o,
    names.filter((n) => o[n] !== undefined),
    where,
  );
}

/** The fields of `names` in `o` that are not lists of strings (ids, unless `of` says what else). */
function stringLists(o: Fields, names: readonly string[], where?: string, of = 'ids'): string[] {
  return names
    .filter((n) => !Array.isArray(o[n]) || !(o[n] as unknown[]).every((v) => typeof v === 'string'))
    .map((n) => listProblem(o[n], where === undefined ? n : `${where}.${n}`, of));
}

function listProblem(v: unknown, field: string, of: string): string {
  return v === undefined ? `no ${field} list` : `${field} is ${describe(v)}, not a list of ${of}`;
}

/** A value as a message quotes it, cut short. */
function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
