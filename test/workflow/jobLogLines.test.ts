import t from 'tap';
import type { LogLine } from '../../src/jobstore/jobRecords.js';
import { JOB_LOG_LINE_CHARS, JobLogLines } from '../../src/workflow/jobLogLines.js';

const line = (i: number, message = `line ${i}`): LogLine => ({ level: 'info', message, time: i });

t.test('a log within the budget is kept whole, in order', (t) => {
  const logs = new JobLogLines(10_000);
  for (let i = 0; i < 50; i++) logs.push(line(i));
  t.same(
    logs.lines().map((l) => l.message),
    Array.from({ length: 50 }, (_, i) => `line ${i}`),
  );
  t.end();
});

t.test('a long log keeps its first and last lines, with one line counting those left out', (t) => {
  const logs = new JobLogLines(1024);
  for (let i = 0; i < 10_000; i++) logs.push(line(i));
  const kept = logs.lines();
  t.ok(kept.length < 60, `${kept.length} lines kept of 10,000`);
  t.equal(kept[0]?.message, 'line 0', 'the first line is kept');
  t.equal(kept.at(-1)?.message, 'line 9999', 'the last line is kept');
  const gap = kept.findIndex((l) => l.level === 'warn');
  t.ok(gap > 0, 'the count is where the lines were left out');
  const left = Number(/^\[(\d+) log line\(s\)/.exec(kept[gap]!.message)?.[1]);
  t.equal(left + kept.length - 1, 10_000, 'it counts every line left out');
  t.match(kept[gap]!.message, /left out here: a job's log keeps its first and last 1 KiB/);
  const numbers = kept.filter((_, i) => i !== gap).map((l) => Number(l.message.split(' ')[1]));
  t.same(
    numbers,
    [...numbers].sort((a, b) => a - b),
    'in order',
  );
  t.equal(numbers[gap - 1]! + left + 1, numbers[gap], 'the lines left out are those between');
  t.end();
});

t.test('one very long message is cut, saying by how much', (t) => {
  const logs = new JobLogLines();
  logs.push(line(0, 'y'.repeat(JOB_LOG_LINE_CHARS + 500)));
  const [only] = logs.lines();
  t.equal(only?.message.length, JOB_LOG_LINE_CHARS + '… [500 more characters left out]'.length);
  t.match(only?.message, /y… \[500 more characters left out\]$/);
  t.end();
});
