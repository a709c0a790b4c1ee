import t from 'tap';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

const TRACE = JSON.stringify({ jobs: [{ id: 'a', name: 'x', cores: 1, memory: '1Gi', runtime: 60 }] });

t.test(
  "a --config that is not YAML is one line: the parser's problem, where, and the line it points at",
  async (t) => {
    const dir = testDir(t, {
      'trace.json': TRACE,
      'tab.yaml': 'scaler:\n\tnodeTypes: c5.large\n',
      'unclosed.yaml': 'scaler:\n  nodeTypes: [c5.large\n',
    });
    const rows = [
      {
        file: 'tab.yaml',
        want: "toil: config tab.yaml is not YAML: Tabs are not allowed as indentation at line 2, column 1 (the line reads 'nodeTypes: c5.large')",
      },
      {
        file: 'unclosed.yaml',
        want: /^toil: config unclosed\.yaml is not YAML: Flow sequence in block collection must be sufficiently indented and end with a \] at line 3, column 1$/,
      },
    ];
    for (const { file, want } of rows) {
      const r = await runToil(['simulate', 'trace.json', '--config', file], { cwd: dir });
      t.equal(r.code, 2, file);
      t.equal(r.stderr.trimEnd().split('\n').length, 1, `${file}: one line: ${JSON.stringify(r.stderr)}`);
      if (typeof want === 'string') t.equal(r.stderr.trimEnd(), want);
      else t.match(r.stderr.trimEnd(), want);
    }
  },
);

t.test(
  "a scaler or simulation key at a config's top level is said with the section it belongs under",
  async (t) => {
    const dir = testDir(t, {
      'trace.json': TRACE,
      'top.yaml': 'maxNodes: 5\nscaler:\n  nodeTypes: c5.large\n',
      'flat.yaml': 'nodeTypes: c5.large\nbootTime: 2m\nspotInterruptionRate: 0.1\n',
    });
    const top = await runToil(['simulate', 'trace.json', '--config', 'top.yaml'], { cwd: dir });
    t.equal(top.code, 2);
    t.equal(
      top.stderr,
      'toil: top.yaml is invalid:\n' +
        '  - maxNodes: a key of the scaler: section, given at the top level of the file; indent it under scaler:\n',
    );
    const flat = await runToil(['simulate', 'trace.json', '--config', 'flat.yaml'], { cwd: dir });
    t.equal(flat.code, 2);
    t.equal(
      flat.stderr,
      'toil: flat.yaml is invalid:\n' +
        '  - nodeTypes: a key of the scaler: section, given at the top level of the file; indent it under scaler:\n' +
        '  - bootTime: a key of the scaler: or simulation: section, given at the top level of the file; indent it under scaler: or simulation: (scaler: what the scaler plans with; simulation: the simulated cloud)\n' +
        '  - spotInterruptionRate: a key of the simulation: section, given at the top level of the file; indent it under simulation:\n' +
        '  - scaler: missing: expected the cluster to simulate (at least scaler.nodeTypes), as in a leader config\n',
    );
  },
);
