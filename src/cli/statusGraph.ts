import type { StatusJob } from '../leader/workflowStatus.js';

/** How a state is drawn: finished jobs plain, the ones still to run pale, failures stand out. */
const COLOR: Readonly<Record<StatusJob['state'], string>> = {
  completed: 'black',
  failed: 'red',
  ready: 'blue',
  waiting: 'gray',
};

/**
 * Toil's `toil status --printDot`: the job graph in Graphviz dot. A node per job (its name and
 * state), an edge to each child and, dashed, to each follow-on. Node ids are the job ids, quoted,
 * so they need none of the renaming Toil does. Toil draws a service as a node with no edge in;
 * here a dotted edge labelled "service" joins it to the job it was added to (or, a sub-service,
 * to its parent service), so that one sees what it serves.
 */
export function dotGraph(locator: string, jobs: readonly StatusJob[]): string {
  const known = new Set(jobs.map((j) => j.id));
  const lines = [
    'digraph toil_graph {',
    // A line starting with '#' is discarded by Graphviz: Toil puts the job store there.
    `# This graph was created from job-store: ${locator.replace(/[\r\n]/g, ' ')}`,
    ...jobs.map((j) => `${quote(j.id)} [label=${quote(`${j.name}\n${j.state}`)} color="${COLOR[j.state]}"];`),
    ...jobs.flatMap((j) => [
      ...j.children.filter((c) => known.has(c)).map((c) => `${quote(j.id)} -> ${quote(c)} [label="child"];`),
      ...j.followOns
        .filter((f) => known.has(f))
        .map((f) => `${quote(j.id)} -> ${quote(f)} [label="follow-on" style="dashed"];`),
      ...(j.services ?? [])
        .filter((s) => known.has(s))
        .map((s) => `${quote(j.id)} -> ${quote(s)} [label="service" style="dotted"];`),
    ]),
    '}',
  ];
  return lines.join('\n') + '\n';
}

/**
 * Toil's `toil status --printChildren`: a line per job with its successors, in Toil's format.
 * PRECEDENCE is Toil's phase: 1 for a child, 0 for a follow-on (Toil runs the higher phase first).
 */
export function childrenLines(jobs: readonly StatusJob[]): string {
  return jobs
    .map(
      (j) =>
        `CHILDREN_OF_JOB:'${j.name}' ${j.id} ` +
        [
          ...j.followOns.map((f) => `\t(CHILD_JOB:${f},PRECEDENCE:0)`),
          ...j.children.map((c) => `\t(CHILD_JOB:${c},PRECEDENCE:1)`),
        ].join('') +
        '\n',
    )
    .join('');
}

/** A dot double-quoted string: `"` and `\` escaped, a newline as dot's centred line break. */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n')}"`;
}
