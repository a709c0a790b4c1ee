import t from 'tap';
import { childrenLines, dotGraph } from '../../src/cli/statusGraph.js';
import type { StatusJob } from '../../src/leader/workflowStatus.js';

const none = { children: [], followOns: [], services: [] };
const jobs: StatusJob[] = [
  {
    id: 'r',
    name: 'say "hi" \\ twice',
    state: 'completed',
    children: ['c'],
    followOns: ['f'],
    services: ['s'],
  },
  { id: 'c', name: 'c', state: 'failed', ...none },
  { id: 'f', name: 'f', state: 'waiting', ...none },
  { id: 's', name: 's', state: 'ready', ...none, services: ['w'] },
  { id: 'w', name: 'w', state: 'ready', ...none },
];

t.test(
  '--printDot: quotes and backslashes in a job name are escaped, states coloured, services joined to what starts them',
  async (t) => {
    t.equal(
      dotGraph('file:./js', jobs),
      [
        'digraph toil_graph {',
        '# This graph was created from job-store: file:./js',
        '"r" [label="say \\"hi\\" \\\\ twice\\ncompleted" color="black"];',
        '"c" [label="c\\nfailed" color="red"];',
        '"f" [label="f\\nwaiting" color="gray"];',
        '"s" [label="s\\nready" color="blue"];',
        '"w" [label="w\\nready" color="blue"];',
        '"r" -> "c" [label="child"];',
        '"r" -> "f" [label="follow-on" style="dashed"];',
        '"r" -> "s" [label="service" style="dotted"];',
        '"s" -> "w" [label="service" style="dotted"];',
        '}',
        '',
      ].join('\n'),
    );
  },
);

t.test(
  '--printDot: an edge to a job the graph does not know is left out, not drawn as a bare node',
  async (t) => {
    t.notMatch(dotGraph('file:./js', [{ ...jobs[2]!, children: ['gone'] }]), /gone/);
  },
);

t.test("--printChildren: Toil's line per job, follow-ons at precedence 0, children at 1", async (t) => {
  t.equal(
    childrenLines(jobs),
    [
      `CHILDREN_OF_JOB:'say "hi" \\ twice' r \t(CHILD_JOB:f,PRECEDENCE:0)\t(CHILD_JOB:c,PRECEDENCE:1)`,
      "CHILDREN_OF_JOB:'c' c ",
      "CHILDREN_OF_JOB:'f' f ",
      "CHILDREN_OF_JOB:'s' s ",
      "CHILDREN_OF_JOB:'w' w ",
      '',
    ].join('\n'),
  );
});
