import t from 'tap';
import { parseCoreScale, parseCores, parseCount } from '../../src/cli/run.js';

/**
 * Counts, cores and the core scale are decimal numbers, as Toil's argparse (Python's int() and
 * float()) reads them: JavaScript's Number() also took 0x10 as 16, 0b1 and 0o7, and 1e1 as a count.
 */
t.test('counts are decimal whole numbers, as Python int() reads them', async (t) => {
  const rows: [text: string, want: number | undefined][] = [
    ['0', 0],
    ['2', 2],
    [' 7 ', 7],
    ['+3', 3],
    ['9223372036854775807', Number('9223372036854775807')],
    ['0x2', undefined],
    ['0b1', undefined],
    ['1e1', undefined],
    ['2.5', undefined],
    ['-1', undefined],
    ['', undefined],
    ['two', undefined],
  ];
  for (const [text, want] of rows)
    if (want === undefined)
      t.throws(
        () => parseCount('--retryCount', text),
        { code: 'BAD_FLAG', message: `--retryCount ${text}: expected a whole number >= 0` },
        `${JSON.stringify(text)} refused`,
      );
    else t.equal(parseCount('--retryCount', text), want, `${JSON.stringify(text)} is ${want}`);
});

t.test('cores and the core scale are decimal numbers > 0, as Python float() reads them', async (t) => {
  const rows: [text: string, want: number | undefined][] = [
    ['2', 2],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['1e1', 10],
    ['2E-1', 0.2],
    ['0x10', undefined],
    ['0o7', undefined],
    ['0', undefined],
    ['-1', undefined],
    ['', undefined],
    ['Infinity', undefined],
  ];
  for (const [text, want] of rows) {
    if (want === undefined) {
      t.throws(
        () => parseCores('--maxCores', text),
        { code: 'BAD_FLAG' },
        `--maxCores ${JSON.stringify(text)} refused`,
      );
      t.throws(() => parseCoreScale(text), { code: 'BAD_FLAG' }, `--scale ${JSON.stringify(text)} refused`);
    } else {
      t.equal(parseCores('--maxCores', text), want, `--maxCores ${text} is ${want}`);
      t.equal(parseCoreScale(text), want, `--scale ${text} is ${want}`);
    }
  }
});
