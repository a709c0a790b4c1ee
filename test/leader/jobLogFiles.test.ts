import t from 'tap';
import { formatJobLog, truncateLog } from '../../src/leader/jobLogFiles.js';

t.test("a job log file: what happened, the job's log lines, then its output", async (t) => {
  t.equal(
    formatJobLog({
      jobId: 'j1',
      name: 'align',
      attempt: 1001,
      outcome: 'failed',
      error: 'Error: boom',
      logs: [{ level: 'warn', message: 'low on disk', time: Date.UTC(2026, 0, 2, 3, 4, 5) }],
      output: 'last words\n',
    }),
    [
      "job 'align' (j1) attempt 1001 failed",
      'Error: boom',
      '--- log ---',
      '2026-01-02T03:04:05.000Z warn low on disk',
      '--- output ---',
      'last words',
      '',
    ].join('\n'),
  );
  t.equal(
    formatJobLog({ jobId: 'j2', name: 'sum', attempt: 1, outcome: 'succeeded', logs: [] }),
    "job 'sum' (j2) attempt 1 succeeded\n",
  );
});

t.test("--maxLogFileSize keeps the end; negative, the start (Toil's); 0 keeps everything", async (t) => {
  t.equal(truncateLog('abcdef', 0).toString(), 'abcdef');
  t.equal(truncateLog('abcdef', 6).toString(), 'abcdef');
  t.equal(
    truncateLog('abcdef', 2).toString(),
    '[truncated: the first 4 bytes are left out (--maxLogFileSize 2)]\nef',
  );
  t.equal(
    truncateLog('abcdef', -2).toString(),
    'ab\n[truncated: the last 4 bytes are left out (--maxLogFileSize -2)]\n',
  );
  t.equal(truncateLog('abcdef', -6).toString(), 'abcdef');
});
