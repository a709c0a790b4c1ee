import { dirname, relative, resolve, sep } from 'node:path';

/**
 * Which folders of src/ may import which (DESIGN.md's layout as a rule). Each folder is a unit;
 * scaler/tick is its own unit (the application over the pure policy in scaler/). The graph must
 * be acyclic (checked below when the config loads), so no import cycle between folders can exist.
 * The leader and the scaler drive cluster managers through src/ports only: neither may import
 * src/mesos (the Mesos adapter implements the ports).
 */
const DOMAINS = [
  'common',
  'ports',
  'scaler',
  'scaler/tick',
  'jobstore',
  'workflow',
  'mesos',
  'slurm',
  'leader',
  'provisioner',
  'localcloud',
];

export const ALLOWED = {
  common: [],
  jobstore: ['common'],
  workflow: ['common', 'jobstore'],
  ports: ['common'],
  scaler: ['common', 'ports'],
  'scaler/tick': ['common', 'ports', 'scaler'],
  mesos: ['common', 'ports'],
  slurm: ['common', 'ports'],
  leader: ['common', 'ports', 'scaler', 'scaler/tick', 'jobstore', 'workflow'],
  // provisioner/aws/userData.ts still takes the leader's config type (to become text).
  provisioner: ['common', 'ports', 'leader'],
  localcloud: ['common', 'ports', 'mesos', 'slurm', 'provisioner'],
  // The composition root builds every adapter; the CLI calls it and the modules it wires.
  main: [...DOMAINS],
  cli: [...DOMAINS, 'main'],
};

/** Throws when ALLOWED has a cycle, naming it. */
export function assertAcyclic(graph) {
  const state = new Map();
  const visit = (node, path) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'active')
      throw new Error(`folder dependency cycle: ${[...path, node].join(' → ')}`);
    state.set(node, 'active');
    for (const next of graph[node] ?? []) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of Object.keys(graph)) visit(node, []);
}

assertAcyclic(ALLOWED);

/** The unit of a path relative to src/ (posix separators), or undefined outside src/. */
export function unitOf(pathInSrc) {
  if (pathInSrc.startsWith('..')) return undefined;
  const parts = pathInSrc.split('/');
  if (parts[0] === 'main.ts' || parts[0] === 'main.js') return 'main';
  if (parts[0] === 'scaler' && parts[1] === 'tick') return 'scaler/tick';
  return parts.length > 1 ? parts[0] : undefined;
}

const rule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'A folder of src/ imports only the folders DESIGN.md lets it (no cycles between folders).',
    },
    schema: [],
    messages: {
      forbidden:
        'src/{{from}} may not import src/{{to}} (allowed: {{allowed}}). The leader and the scaler reach cluster managers through src/ports; see eslint/folderDependencies.js.',
    },
  },
  create(context) {
    const srcRoot = resolve(context.cwd, 'src');
    const file = context.filename;
    const from = unitOf(relative(srcRoot, file).split(sep).join('/'));
    if (from === undefined) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = unitOf(
        relative(srcRoot, resolve(dirname(file), source))
          .split(sep)
          .join('/'),
      );
      if (to === undefined || to === from) return;
      const allowed = ALLOWED[from] ?? [];
      if (!allowed.includes(to))
        context.report({
          node,
          messageId: 'forbidden',
          data: { from, to, allowed: allowed.join(', ') || 'none' },
        });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export default { rules: { 'folder-dependencies': rule } };
