import { readFileSync } from 'node:fs';
import t from 'tap';
import { jsonSyntaxProblem } from '../../src/common/jsonSyntax.js';
import { repoPath } from '../fixtures/repoRoot.js';

t.test('a broken JSON text is placed by line and column, with what JSON expected there', async (t) => {
  const rows: { text: string; line: number; column: number; message: string; excerpt?: string }[] = [
    {
      text: '{"jobs": [\n  {"id": "a", "runtime": 5,},\n]}',
      line: 2,
      column: 28,
      message: "expected a quoted key (JSON allows no comma before }), found '}'",
      excerpt: '  {"id": "a", "runtime": 5,},',
    },
    {
      text: '{"a": [1, 2,\n]}',
      line: 2,
      column: 1,
      message: "expected a value (JSON allows no comma before ]), found ']'",
    },
    {
      text: '{"preemptable": True}',
      line: 1,
      column: 17,
      message: "expected a value (a string, number, object, list, true, false or null), found 'True'",
    },
    { text: "{'jobs': []}", line: 1, column: 2, message: `expected a quoted key, found "'"` },
    { text: '{"a": 1 "b": 2}', line: 1, column: 9, message: "expected ',' or '}', found '\"'" },
    { text: '{"a" 1}', line: 1, column: 6, message: "expected ':' after the key, found '1'" },
    { text: '[1 2]', line: 1, column: 4, message: "expected ',' or ']', found '2'" },
    {
      text: '{\n  "name": "x\n}',
      line: 2,
      column: 13,
      message: `expected '"' to close the string, found the end of the line`,
    },
    { text: '{"a": "\\q"}', line: 1, column: 9, message: /^expected an escape/.source },
    { text: '{"a": -}', line: 1, column: 8, message: "expected a digit, found '}'" },
    { text: '{"a": 01}', line: 1, column: 8, message: "expected ',' or '}', found '1'" },
    {
      text: '{"jobs": [',
      line: 1,
      column: 11,
      message: /^expected a value .*found the end of the file$/.source,
    },
    {
      text: '{"id": "a"}\n{"id": "b"}\n',
      line: 2,
      column: 1,
      message: 'a second JSON document after the first ended (JSON Lines?)',
    },
    {
      text: '{"a": 1} x',
      line: 1,
      column: 10,
      message: "expected the end of the file after the JSON document, found 'x'",
    },
  ];
  for (const row of rows) {
    t.throws(() => JSON.parse(row.text) as unknown, SyntaxError, `JSON.parse refuses ${row.text}`);
    const p = jsonSyntaxProblem(row.text);
    t.ok(p, row.text);
    if (!p) continue;
    t.same([p.line, p.column], [row.line, row.column], `${row.text}: where`);
    if (row.message.startsWith('^')) t.match(p.message, new RegExp(row.message), `${row.text}: what`);
    else t.equal(p.message, row.message, `${row.text}: what`);
    if (row.excerpt !== undefined) t.equal(p.excerpt, row.excerpt, `${row.text}: the line`);
    t.equal(p.secondDocument, row.message.startsWith('a second'));
  }
});

t.test('a valid JSON text has no problem: the shipped traces and every kind of value', async (t) => {
  for (const name of ['sort', 'scatter', 'day-long']) {
    const text = readFileSync(repoPath(`bench/traces/${name}.json`), 'utf8');
    t.equal(jsonSyntaxProblem(text), undefined, name);
  }
  const values = [
    '{}',
    '[]',
    ' \n\t{"a": [1, -2.5e+3, 0, 0.5, 1E9, true, false, null, "\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9", {}, []]}\r\n',
    '"x"',
    '0',
  ];
  for (const text of values) {
    JSON.parse(text);
    t.equal(jsonSyntaxProblem(text), undefined, text);
  }
});

t.test('a long line is shown around the column, not whole', async (t) => {
  const jobs = Array.from({ length: 200 }, (_, i) => `{"id":"j${i}","runtime":5}`).join(',');
  const text = `{"jobs":[${jobs},]}`;
  const p = jsonSyntaxProblem(text)!;
  t.equal(p.line, 1);
  t.equal(p.column, text.length - 1);
  t.ok(p.excerpt.length <= 62, `${p.excerpt.length} characters`);
  t.match(p.excerpt, /^….*"runtime":5},\]}$/);
});
