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
  const wrong = [
    ...(c.jobId === undefined
      ? ['no jobId']
      : c.jobId === jobId
        ? []
        : [`its jobId ${describe(c.jobId)} is not ${jobId}, the job its key names`]),
    ...stringLists(c, ['children', 'followOns', 'deletedFiles']),
    ...(Array.isArray(c.newJobs)
      ? c.newJobs.flatMap((j, i) => jobSpecProblems(j, `newJobs[${i}]`))
      : [listProblem(c.newJobs, 'newJobs', 'jobs')]),
  ];
  return wrong.length === 0 ? undefined : `does not hold a job's commit: ${wrong.join(', ')}`;
}

/** What is wrong with the workflow record, or undefined. */
export function workflowShapeProblem(w: Fields): string | undefined {
  const wrong = [
    ...stringField(w, 'workflowId'),
    ...stringField(w, 'rootJobId'),
    ...(Array.isArray(w.jobs)
      ? w.jobs.flatMap((j, i) => jobSpecProblems(j, `jobs[${i}]`))
      : [listProblem(w.jobs, 'jobs', 'jobs')]),
  ];
  return wrong.length === 0 ? undefined : `does not hold a workflow record: ${wrong.join(', ')}`;
}

/** What is wrong with the record of how the last leader's run ended (outcome.json), or undefined. */
export function outcomeShapeProblem(o: Fields): string | undefined {
  const wrong = [
    ...numberField(o, 'generation'),
    ...(o.status === 'succeeded' || o.status === 'failed'
      ? []
      : [`status is ${describe(o.status)}, not "succeeded" or "failed"`]),
    ...numberField(o, 'at'),
    ...objectList(o, 'failedJobs', (j, where) => [
      ...stringField(j, 'jobId', where),
      ...stringField(j, 'name', where),
      ...stringField(j, 'error', where),
    ]),
  ];
  return wrong.length === 0 ? undefined : `does not hold a run's outcome: ${wrong.join(', ')}`;
}

/** What is wrong with the record of what the running leader has issued (running.json), or undefined. */
export function runningShapeProblem(r: Fields): string | undefined {
  const wrong = [
    ...numberField(r, 'generation'),
    ...numberField(r, 'at'),
    ...stringField(r, 'batchSystem'),
    ...numberField(r, 'running'),
    ...numberField(r, 'waiting'),
    ...(r.held === undefined ? [] : numberField(r, 'held')),
    ...objectList(r, 'jobs', (j, where) => [
      ...stringField(j, 'jobId', where),
      ...stringField(j, 'name', where),
      ...numberField(j, 'attempt', where),
      ...(j.state === 'running' || j.state === 'issued'
        ? []
        : [`${where}.state is ${describe(j.state)}, not "running" or "issued"`]),
      ...(j.batchJobId === undefined ? [] : stringField(j, 'batchJobId', where)),
      ...(j.node === undefined ? [] : stringField(j, 'node', where)),
      ...(j.startedAt === undefined ? [] : numberField(j, 'startedAt', where)),
    ]),
  ];
  return wrong.length === 0 ? undefined : `does not hold what a leader runs: ${wrong.join(', ')}`;
}

/** What is wrong with the log of a failed attempt (logs/JOB/ATTEMPT), or undefined. */
export function failureLogShapeProblem(l: Fields): string | undefined {
  const wrong = [
    ...stringField(l, 'jobId'),
    ...numberField(l, 'attempt'),
    ...stringField(l, 'name'),
    ...stringField(l, 'error'),
    ...objectList(l, 'logs', (line, where) => [
      ...stringField(line, 'level', where),
      ...stringField(line, 'message', where),
      ...numberField(line, 'time', where),
    ]),
    ...stringField(l, 'output'),
  ];
  return wrong.length === 0 ? undefined : `does not hold a failed attempt's log: ${wrong.join(', ')}`;
}

function jobSpecProblems(j: unknown, where: string): string[] {
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    return [`${where} is ${describe(j)}, not a job`];
  const spec = j as Fields;
  return [
    ...stringField(spec, 'id', where),
    ...stringField(spec, 'name', where),
    ...stringLists(spec, ['children', 'followOns'], where),
  ];
}

function stringField(o: Fields, name: string, where?: string): string[] {
  if (typeof o[name] === 'string') return [];
  const field = where === undefined ? name : `${where}.${name}`;
  return [o[name] === undefined ? `no ${field}` : `${field} is ${describe(o[name])}, not a string`];
}

function numberField(o: Fields, name: string, where?: string): string[] {
  if (typeof o[name] === 'number' && Number.isFinite(o[name])) return [];
  const field = where === undefined ? name : `${where}.${name}`;
  return [o[name] === undefined ? `no ${field}` : `${field} is ${describe(o[name])}, not a number`];
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

/** The fields of `names` in `o` that are not lists of ids. */
function stringLists(o: Fields, names: readonly string[], where?: string): string[] {
  return names
    .filter((n) => !Array.isArray(o[n]) || !(o[n] as unknown[]).every((v) => typeof v === 'string'))
    .map((n) => listProblem(o[n], where === undefined ? n : `${where}.${n}`, 'ids'));
}

function listProblem(v: unknown, field: string, of: string): string {
  return v === undefined ? `no ${field} list` : `${field} is ${describe(v)}, not a list of ${of}`;
}

/** A value as a message quotes it, cut short. */
function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
