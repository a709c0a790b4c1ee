import t from 'tap';
import { issuedJobsToStop } from '../../src/cli/run.js';

// A stop's first line says what it ends. It said "killing its running jobs" whatever there was,
// so a Ctrl-C at the run's start, before any job was issued, spoke of jobs that did not exist.
t.test(
  'a stop names the running jobs it kills and the queued ones it cancels, or that none has started',
  async (t) => {
    const rows: [string, Parameters<typeof issuedJobsToStop>[0], string][] = [
      ['before the first progress', undefined, ': no job of it is running yet'],
      [
        'nothing issued yet',
        { known: 1, completed: 0, running: 0, failed: 0 },
        ': no job of it is running yet',
      ],
      ['one running', { known: 3, completed: 1, running: 1, failed: 0 }, ' and killing its 1 running job'],
      [
        'some running, none queued',
        { known: 9, completed: 2, running: 4, waiting: 0, failed: 0 },
        ' and killing its 4 running jobs',
      ],
      [
        'only queued',
        { known: 5, completed: 0, running: 0, waiting: 2, failed: 0 },
        ' and cancelling its 2 queued jobs',
      ],
      [
        'running and queued',
        { known: 9, completed: 0, running: 3, waiting: 1, failed: 0 },
        ' and killing its 3 running jobs and cancelling its 1 queued job',
      ],
    ];
    for (const [name, progress, want] of rows) t.equal(issuedJobsToStop(progress), want, name);
  },
);
