import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { shellQuote } from '../../src/common/shellQuote.js';
import { REPO_ROOT, TOIL_BIN, scratchDir } from '../fixtures/workflowCli.js';

const PRINTS_IN_FINISH = join(REPO_ROOT, 'test/fixtures/workflowPrintsInFinish.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/** A terminal's control sequence (ESC [ … letter): a colour, an erase of the line. */
const ESCAPE_SEQUENCE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');

/**
 * What a terminal shows of a transcript: each line as the last carriage return left it, without
 * the escape sequences (colours, erase line).
 */
function shownLines(transcript: string): string[] {
  return transcript
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => (line.split('\r').at(-1) ?? '').replace(ESCAPE_SEQUENCE, ''));
}

t.test(
  "on a terminal, what the workflow's finish() prints has lines of its own, not the end of the progress bar's",
  async (t) => {
    const dir = scratchDir(t);
    const command = [
      process.execPath,
      '--openssl-legacy-provider',
      TOIL_BIN,
      'run',
      PRINTS_IN_FINISH,
      'file:./js',
    ]
      .map(shellQuote)
      .join(' ');
    // util-linux script: the run's stdout and stderr are a pseudo-terminal, as in a shell.
    const { stdout: transcript } = await promisify(execFile)('script', ['-qfec', command, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, TOIL_WORKDIR: dir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    t.match(transcript, /\[#+-*\] \d+\/\d+ jobs/, `a progress bar was drawn: ${transcript}`);
    const shown = shownLines(transcript);
    t.ok(shown.includes('RESULT 42'), `the result is a line of its own: ${shown.join(' | ')}`);
    t.ok(shown.includes('FINISHED'), `so is the line printed a redraw interval later: ${shown.join(' | ')}`);
    t.same(
      shown.filter((l) => /jobs, \d+ running/.test(l)),
      [],
      'no bar is left on the screen, neither under the lines finish() printed nor drawn again after them',
    );
    t.match(shown.filter(Boolean).at(-1), /^toil: workflow succeeded: 2 jobs run/);
  },
);
