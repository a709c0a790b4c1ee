/**
 * Whether a record that parses holds what the leader and `toil status` read from it: a job's
 * commit and the workflow record are walked (their successors, the jobs they declare, the files
 * deleted), so one written by something else with a field gone or of another type would fail
 * as an internal error deep in that walk rather than be named as the damaged object it is.
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
