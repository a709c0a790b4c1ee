import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

/** The one line toil simulate says about a trace file (its notice about the shipped cluster aside). */
async function refusal(t: Test, dir: string, file: string): Promise<string> {
  const r = await runToil(['simulate', file], { cwd: dir });
  t.equal(r.code, 2, `${file}: exit 2`);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('toil simulate: no --config'));
  t.equal(lines.length, 1, `${file}: one line: ${r.stderr}`);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return lines[0] ?? '';
}

t.test('a trace file that is not one JSON document is named with its line and column', async (t) => {
  const dir = testDir(t, {
    'trailing.json':
      '{"jobs": [\n  {"id": "a", "name": "x", "cores": 1, "memory": "2G", "runtime": 5,}\n]}\n',
    'python.json':
      '{"jobs": [\n  {"id": "a", "name": "x", "cores": 1, "memory": "2G", "runtime": 5, "preemptable": True}\n]}\n',
    'jobs.jsonl':
      '{"id": "a", "name": "x", "cores": 1, "memory": "2G", "runtime": 5}\n' +
      '{"id": "b", "name": "x", "cores": 1, "memory": "2G", "runtime": 5}\n',
    'empty.json': '',
    'blank.json': '\n  \n',
  });
  t.equal(
    await refusal(t, dir, 'trailing.json'),
    "toil: trace trailing.json:2:69: not JSON: expected a quoted key (JSON allows no comma before }), found '}' " +
      `(the line reads '…"a", "name": "x", "cores": 1, "memory": "2G", "runtime": 5,}')`,
  );
  t.match(
    await refusal(t, dir, 'python.json'),
    /^toil: trace python\.json:2:85: not JSON: expected a value \(a string, number, object, list, true, false or null\), found 'True' \(the line reads '…/,
  );
  t.match(
    await refusal(t, dir, 'jobs.jsonl'),
    /^toil: trace jobs\.jsonl:2:1: not JSON: a second JSON document after the first ended \(JSON Lines\?\); expected one document, \{"jobs": \[\{"id": …, "name": …, "cores": …, "memory": …, "runtime": …\}, …\]\} \(the line reads '\{"id": "b", /,
  );
  for (const empty of ['empty.json', 'blank.json'])
    t.equal(
      await refusal(t, dir, empty),
      `toil: trace ${empty} is empty: expected one JSON document, {"jobs": [{"id": …, "name": …, "cores": …, "memory": …, "runtime": …}, …]}`,
    );
});

t.test("a trace saved with an editor's byte order mark is simulated", async (t) => {
  const dir = testDir(t, {});
  const job = { id: 'a', name: 'x', cores: 1, memory: '2G', runtime: 60 };
  writeFileSync(join(dir, 'bom.json'), `\uFEFF${JSON.stringify({ jobs: [job] })}`);
  const r = await runToil(['simulate', 'bom.json', '--json'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { trace: string; jobs: number; finished: boolean };
  t.same([result.trace, result.jobs, result.finished], ['bom', 1, true]);
});
