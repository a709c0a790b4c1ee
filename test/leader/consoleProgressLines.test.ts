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

t.test(
  'a change inside the interval is printed when the interval ends, without waiting for the next change',
  async (t) => {
    const clock = new ManualClock();
    const { stream, text } = fileStream();
    const out = new ConsoleOutput(stream, clock);
    out.progress(counts(0, 7));
    await clock.advance(PROGRESS_LINE_EVERY_MS);
    t.equal(text(), 'toil: 0/7 jobs, 7 running\n', "the start's counts once the first interval is over");
    await clock.advance(2_000);
    out.progress(counts(6, 1)); // then the last job runs for an hour: no further change
    await clock.advance(PROGRESS_LINE_EVERY_MS - 2_001);
    t.equal(text(), 'toil: 0/7 jobs, 7 running\n', 'not before the interval ends');
    await clock.advance(1);
    t.equal(text(), 'toil: 0/7 jobs, 7 running\ntoil: 6/7 jobs, 1 running\n', 'at its end');
    await clock.advance(3_600_000);
    t.equal(text(), 'toil: 0/7 jobs, 7 running\ntoil: 6/7 jobs, 1 running\n', 'and once');
  },
);

t.test(
  'a change still waiting when the run ends is dropped with its timer (the summary follows)',
  async (t) => {
    const clock = new ManualClock();
    const { stream, text } = fileStream();
    const out = new ConsoleOutput(stream, clock);
    out.progress(counts(3, 4));
    t.equal(clock.pendingSleepers, 1, 'a wait for the interval to end');
    out.endProgress();
    await clock.advance(PROGRESS_LINE_EVERY_MS);
    t.equal(text(), '', 'a run shorter than the interval prints no progress line');
    t.equal(clock.pendingSleepers, 0, 'nothing left waiting to keep the process alive');
  },
);
