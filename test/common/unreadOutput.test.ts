import { Writable } from 'node:stream';
import t from 'tap';
import { UnreadOutput } from '../../src/common/unreadOutput.js';

/** A stream whose reader takes nothing until `release()`: its writes stay pending. */
function stalled(): { stream: Writable; taken: string[]; release: () => Promise<void> } {
  const taken: string[] = [];
  const waiting: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _enc, done) {
      taken.push(chunk.toString());
      waiting.push(done);
    },
  });
  // Takes everything pending: a Writable hands over its next buffered chunk only after the last.
  const release = async (): Promise<void> => {
    while (waiting.length > 0) {
      waiting.splice(0).forEach((d) => d());
      await new Promise((r) => setImmediate(r));
    }
  };
  return { stream, taken, release };
}

t.test(
  'lines a stalled reader has not taken are bounded: past the bound dropped, then counted',
  async (t) => {
    const { stream, taken, release } = stalled();
    const out = new UnreadOutput(stream, { maxPendingBytes: 100 });
    // Pending past 100 bytes after four lines of 28: the other sixteen are dropped.
    for (let i = 0; i < 20; i++) out.write(`line ${i} ${'x'.repeat(20)}\n`);
    await release();
    out.write('after\n');
    await release();
    const text = taken.join('');
    t.match(text, /^line 0 /);
    t.notMatch(text, /line 19 /, 'the lines past the bound were not kept');
    t.match(
      text,
      /\n16 line\(s\) of output dropped here: the reader of this output was not reading\nafter\n$/,
    );
  },
);

t.test(
  'a failed stream (EPIPE: the reader is gone) is written no more, and the error goes nowhere',
  async (t) => {
    let writes = 0;
    const stream = new Writable({
      write(_chunk, _enc, done) {
        writes++;
        const e = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        done(e);
      },
    });
    const out = new UnreadOutput(stream);
    out.write('first\n');
    await new Promise((r) => setImmediate(r));
    t.ok(out.gone, 'the reader is known to be gone');
    out.write('second\n');
    await new Promise((r) => setImmediate(r));
    t.equal(writes, 1, 'nothing written after the failure');
  },
);
