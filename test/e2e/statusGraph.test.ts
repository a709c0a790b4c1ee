import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { POLL, SERVICES } from '../fixtures/servicesRun.js';
import { REPO_ROOT, parseExecutions, scratchDir, runToil } from '../fixtures/workflowCli.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

interface Dot {
  /** Node id → its label. */
  readonly nodes: Map<string, string>;
  /** "from -> to child|follow-on|service", in the order printed. */
  readonly edges: string[];
}

/**
 * Parses `toil status --printDot` strictly: every line must be the header, the '#' comment, a
 * node, an edge or the closing brace, in that order, every node declared once and every edge
 * between declared nodes. Graphviz is not installed here, so this stands in for `dot -Tsvg`.
 */
function parseDot(text: string): Dot {
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the graph does not end with a newline');
  if (lines.shift() !== 'digraph toil_graph {') throw new Error(`bad header in ${text}`);
  if (lines.pop() !== '}') throw new Error('the graph is not closed');
  if (!/^# This graph was created from job-store: \S+$/.test(lines.shift() ?? ''))
    throw new Error('no job store comment');
  const str = '"((?:[^"\\\\]|\\\\.)*)"';
  const node = new RegExp(`^${str} \\[label=${str} color="(black|red|blue|gray)"\\];$`);
  const edge = new RegExp(
    `^${str} -> ${str} \\[label="(child|follow-on|service)"( style="(?:dashed|dotted)")?\\];$`,
  );
  const nodes = new Map<string, string>();
  const edges: string[] = [];
  for (const line of lines) {
    const n = node.exec(line);
    const e = edge.exec(line);
    if (n && edges.length === 0) {
      if (nodes.has(n[1]!)) throw new Error(`node declared twice: ${line}`);
      nodes.set(n[1]!, n[2]!.replace(/\\n/g, ' '));
    } else if (e) {
      if (!nodes.has(e[1]!) || !nodes.has(e[2]!)) throw new Error(`edge to an undeclared node: ${line}`);
      const style = { child: undefined, 'follow-on': ' style="dashed"', service: ' style="dotted"' }[e[3]!];
      if (e[4] !== style) throw new Error(`follow-ons dashed, services dotted, children plain: ${line}`);
      edges.push(`${e[1]} -> ${e[2]} ${e[3]}`);
    } else throw new Error(`not a node or edge line (or a node after the edges): ${line}`);
  }
  return { nodes, edges };
}

/**
 * The tree below `id` in one string, "name state(children; follow-ons)", siblings sorted, so
 * that which of two identical subtrees ran or failed first does not matter.
 */
function shape(dot: Dot, id: string): string {
  const below = (kind: string): string =>
    dot.edges
      .filter((e) => e.startsWith(`${id} -> `) && e.endsWith(` ${kind}`))
      .map((e) => shape(dot, e.split(' ')[2]!))
      .sort()
      .join(', ');
  const succ = [below('child'), below('follow-on')];
  return `${dot.nodes.get(id)}` + (succ.some((s) => s !== '') ? `(${succ.join('; ')})` : '');
}

/** `--printChildren` lines parsed into the same "from -> to child|follow-on" edges, and the names. */
function parseChildren(text: string): { names: Map<string, string>; edges: string[] } {
  const names = new Map<string, string>();
  const edges: string[] = [];
  for (const line of text.replace(/\n$/, '').split('\n')) {
    const m =
      /^CHILDREN_OF_JOB:'(\w+)' ([0-9a-f-]{36}) ((?:\t\(CHILD_JOB:[0-9a-f-]{36},PRECEDENCE:[01]\))*)$/.exec(
        line,
      );
    if (!m) throw new Error(`not a --printChildren line: ${JSON.stringify(line)}`);
    names.set(m[2]!, m[1]!);
    for (const [, child, phase] of m[3]!.matchAll(/\(CHILD_JOB:([0-9a-f-]+),PRECEDENCE:([01])\)/g))
      edges.push(`${m[2]} -> ${child} ${phase === '1' ? 'child' : 'follow-on'}`);
  }
  return { names, edges };
}

t.test(
  'toil status --printDot and --printChildren draw the job graph with each job’s state, failed part way and then finished',
  async (t) => {
    const dir = scratchDir(t);
    const log = join(dir, 'x.log');
    // workflowTree with n = 4: the root tree [0,4) has children [0,2) and [2,4) and a follow-on
    // add; each of those has two leaf trees as children and an add as follow-on. The first add
    // to run fails for good, so the root's add is never released.
    const tree = ['run', TREE, 'file:./js', ...['--n', '4', '--out', join(dir, 'o'), '--log', log]];
    const failed = await runToil([...tree, '--fail', 'add', '--failTimes', '1', '--retryCount', '0'], {
      cwd: dir,
    });
    t.equal(failed.code, 1, 'the workflow failed');
    const executions = parseExecutions(readFileSync(log, 'utf8'));
    const rootId = executions[0]!.jobId;
    const failedAdd = executions.find((e) => e.kind === 'failing')!.jobId;
    const ended = new Set(executions.filter((e) => e.kind === 'end').map((e) => e.jobId));

    const plain = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(
      plain.stdout,
      /^jobs: +8 completed of 10 declared so far, 0 ready to run, 1 failed for good$/m,
      'the summary counts the failed add as failed, not as ready to run',
    );

    const r = await runToil(['status', 'file:./js', '--printDot', '--printChildren', '--noAggStats'], {
      cwd: dir,
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr, '', 'no notice: both options are implemented');
    const at = r.stdout.indexOf('digraph toil_graph {\n');
    t.ok(at > 0, 'the children come first, then the graph, as in Toil');
    const dot = parseDot(r.stdout.slice(at));
    t.equal(dot.nodes.size, 10, 'every job declared so far is a node');
    t.equal(
      shape(dot, rootId),
      'tree completed(' +
        'tree completed(tree completed, tree completed; add completed), ' +
        'tree completed(tree completed, tree completed; add failed); ' +
        'add waiting)',
      "the workflow's shape from the root, with each job's name and state",
    );
    t.equal(dot.edges.length, 9, 'and no other edge');
    t.equal(dot.nodes.get(failedAdd), 'add failed', 'the add that failed is the one drawn failed');
    for (const [id, label] of dot.nodes)
      t.equal(label.endsWith(' completed'), ended.has(id), `${label} (${id}) ran iff the log says it ended`);

    const children = parseChildren(r.stdout.slice(0, at));
    t.same(
      [...children.names.keys()],
      [...dot.nodes.keys()],
      '--printChildren lists the same jobs, in order',
    );
    t.same(
      [...children.names].map(([id, name]) => `${id} ${name}`),
      [...dot.nodes].map(([id, label]) => `${id} ${label.split(' ')[0]}`),
      'with their names',
    );
    t.same(children.edges.sort(), dot.edges.slice().sort(), 'and the same successors');

    const finished = await runToil([...tree, '--restart', '--clean', 'never'], { cwd: dir });
    t.equal(finished.code, 0, finished.stderr);
    const done = await runToil(['status', 'file:./js', '--dot', '--noAggStats'], { cwd: dir });
    t.equal(done.code, 0, done.stderr);
    const doneDot = parseDot(done.stdout);
    t.equal(
      shape(doneDot, rootId),
      'tree completed(' +
        'tree completed(tree completed, tree completed; add completed), ' +
        'tree completed(tree completed, tree completed; add completed); ' +
        'add completed)',
      '--dot: after --restart every job is completed; --noAggStats: the output is the graph alone',
    );
    const withSummary = await runToil(['status', 'file:./js', '--children'], { cwd: dir });
    t.match(
      withSummary.stdout,
      /^CHILDREN_OF_JOB:'tree' [^]*\njob store: +file:\.\/js\n[^]*^state: +finished$/m,
    );

    const json = await runToil(['status', 'file:./js', '--json', '--printDot'], { cwd: dir });
    const report = JSON.parse(json.stdout) as {
      graph: { id: string; name: string; state: string; children: string[]; followOns: string[] }[];
    };
    t.same(
      report.graph.map((j) => j.id),
      [...doneDot.nodes.keys()],
      '--json: the same jobs are in the JSON instead',
    );
    const root = report.graph[0]!;
    t.same([root.name, root.state, root.children.length, root.followOns.length], ['tree', 'completed', 2, 1]);
  },
);

t.test(
  'toil status --printDot joins each service to the job it was added to, and a sub-service to its parent service (Toil draws them with no edge in)',
  async (t) => {
    const dir = scratchDir(t);
    const run = await runToil(['run', SERVICES, 'file:./js', '--mode', 'sub', '--clean', 'never', ...POLL], {
      cwd: dir,
    });
    t.equal(run.code, 0, run.stderr);
    const r = await runToil(['status', 'file:./js', '--printDot', '--noAggStats'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const dot = parseDot(r.stdout);
    const named = (id: string): string => dot.nodes.get(id) ?? id;
    t.same(
      dot.edges.map((e) => {
        const [from = '', , to = '', kind] = e.split(' ');
        return `${named(from)} -> ${named(to)} ${kind}`;
      }),
      [
        'host completed -> use completed child',
        'host completed -> db completed service',
        'db completed -> dbWorker completed service',
      ],
    );
    const json = await runToil(['status', 'file:./js', '--json', '--printDot'], { cwd: dir });
    const { graph } = JSON.parse(json.stdout) as {
      graph: { id: string; name: string; services?: string[] }[];
    };
    const nameOf = (id: string): string => graph.find((j) => j.id === id)?.name ?? id;
    t.same(
      graph.map((j) => `${j.name}: ${j.services ? j.services.map(nameOf).join(',') : 'no key'}`).sort(),
      ['db: dbWorker', 'dbWorker: no key', 'host: db', 'use: no key'],
      "--json: a job's services by id, the key only on a job that starts some",
    );
  },
);
