import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { ConsoleOutput, PROGRESS_LINE_EVERY_MS } from '../../src/leader/consoleOutput.js';

/** stderr sent to a file: no terminal, so no bar. */
function fileStream(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = {
    isTTY: false,
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

const counts = (completed: number, running: number) => ({ known: 7, completed, running, failed: 0 });

t.test('off a terminal a long run prints a progress line when the counts change, throttled', async (t) => {
  const clock = new ManualClock();
  const { stream, text } = fileStream();
  const out = new ConsoleOutput(stream, clock);
  out.progress(counts(1, 6));
  t.equal(text(), '', 'no line at the start: a short run is not flooded');
  await clock.advance(PROGRESS_LINE_EVERY_MS);
  out.progress(counts(1, 6));
  t.equal(text(), 'toil: 1/7 jobs, 6 running\n', 'a line once the interval has passed');
  await clock.advance(1000);
  out.progress(counts(2, 5));
  t.equal(text(), 'toil: 1/7 jobs, 6 running\n', 'a change within the interval waits');
  await clock.advance(PROGRESS_LINE_EVERY_MS);
  out.progress(counts(2, 5));
  out.progress(counts(2, 5));
  await clock.advance(PROGRESS_LINE_EVERY_MS);
  out.progress(counts(2, 5));
  t.equal(
    text(),
    'toil: 1/7 jobs, 6 running\ntoil: 2/7 jobs, 5 running\n',
    'the changed counts once, and no repeat while they stay the same',
  );
});

t.test('--disableProgress prints no progress lines off a terminal either', async (t) => {
  const clock = new ManualClock();
  const { stream, text } = fileStream();
  const out = new ConsoleOutput(stream, clock, { progress: false });
  await clock.advance(PROGRESS_LINE_EVERY_MS);
  out.progress(counts(1, 6));
  t.equal(text(), '');
});
