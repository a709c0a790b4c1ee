import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { testDir } from '../fixtures/testDir.js';
import { parseTrace } from '../../src/scaler/simulator/trace.js';
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

t.test(
  'a bare memory or disk number under 1 MiB is refused in one line naming the job, the field, the value and how to write it',
  async (t) => {
    const job = (id: string, size: Record<string, unknown>) => ({
      id,
      name: 'x',
      cores: 1,
      memory: '2G',
      runtime: 60,
      ...size,
    });
    const dir = testDir(t, {
      'four.json': JSON.stringify({ jobs: [job('a', { memory: 4 })] }),
      'disk.json': JSON.stringify({
        jobs: [job('a', {}), job('b', { disk: '512' }), job('c', { memory: 8 })],
      }),
    });
    t.equal(
      await refusal(t, dir, 'four.json'),
      'toil: trace four.json: job a (jobs[0]) memory: 4 has no unit, so it is 4 byte(s); write the unit, e.g. "4G" (or "4M", "4Gi"), or the bytes themselves (1 MiB or more)',
    );
    t.equal(
      await refusal(t, dir, 'disk.json'),
      'toil: trace disk.json: job b (jobs[1]) disk: "512" has no unit, so it is 512 byte(s); write the unit, e.g. "512G" (or "512M", "512Gi"), or the bytes themselves (1 MiB or more) (and 1 more memory or disk like it in the trace)',
    );
  },
);

t.test(
  'a bare size of 1 MiB or more is bytes, as Toil reads it, and a size of 0 or with a unit runs',
  async (t) => {
    const job = (id: string, size: Record<string, unknown>) => ({
      id,
      name: 'x',
      cores: 1,
      runtime: 60,
      ...size,
    });
    const dir = testDir(t, {
      'bytes.json': JSON.stringify({
        jobs: [
          job('a', { memory: 2 ** 20, disk: '2000000' }),
          job('b', { memory: '4B', disk: 0 }),
          job('c', { memory: '4G', disk: '4Gi' }),
        ],
      }),
    });
    const r = await runToil(['simulate', 'bytes.json', '--json'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.equal((JSON.parse(r.stdout) as { jobs: number }).jobs, 3);
  },
);

t.test(
  "toil simulate --help marks with ? each trace field a trace may leave out, as the trace's schema reads it",
  async (t) => {
    const r = await runToil(['simulate', '--help']);
    t.equal(r.code, 0);
    const m = /\{name\?, description\?, jobs: \[\{([^}]*)\}\]\}/.exec(r.stdout);
    if (!t.ok(m, r.stdout)) return;
    const listed = m![1]!.split(', ');
    t.same(
      listed.filter((f) => f.endsWith('?')),
      ['arrival?', 'disk?', 'preemptable?', 'walltime?', 'dependsOn?'],
    );
    // Each field listed without ? is one a job cannot leave out, and each with ? one it can.
    const full = {
      id: 'a',
      name: 'x',
      arrival: 0,
      cores: 1,
      memory: '2G',
      disk: '1G',
      preemptable: false,
      runtime: 60,
      walltime: 90,
      dependsOn: [],
    };
    for (const field of listed) {
      const name = field.replace(/\?$/, '');
      t.ok(name in full, `${name} is a job field`);
      const job: Record<string, unknown> = { ...full };
      delete job[name];
      let accepted = true;
      try {
        parseTrace({ jobs: [job] });
      } catch {
        accepted = false;
      }
      t.equal(accepted, field.endsWith('?'), `a job without ${name} is ${accepted ? 'accepted' : 'refused'}`);
    }
  },
);
