import { Writable } from 'node:stream';
import t from 'tap';
import { exitIfAsked, exitWhenDone } from '../../src/cli/exitWhenDone.js';

/**
 * After a stop abandoned a workflow's start(), toil run exited on a 0 ms timer, relying on the
 * last line being written, and the exit code set, by then. Now the process exits with the
 * command's code once the streams have taken what was written to them.
 */

/** A stream that hands each write on only after `ms` (a pipe written asynchronously). */
function slowStream(ms: number, written: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      setTimeout(() => {
        written.push(chunk.toString());
        done();
      }, ms);
    },
  });
}

t.test('a command that asked nothing: no exit', async (t) => {
  const exits: number[] = [];
  await exitIfAsked(0, [slowStream(1, [])], (c) => exits.push(c));
  t.same(exits, []);
});

t.test('asked: exits with the code given once the last line is written, not before', async (t) => {
  exitWhenDone();
  const written: string[] = [];
  const stream = slowStream(100, written);
  stream.write('toil: workflow interrupted by SIGINT …\n');
  const exits: { code: number; written: string[] }[] = [];
  const began = Date.now();
  await exitIfAsked(130, [stream], (code) => exits.push({ code, written: [...written] }));
  const ms = Date.now() - began;
  t.equal(exits.length, 1);
  t.equal(exits[0]?.code, 130);
  t.equal(
    exits[0]?.written[0],
    'toil: workflow interrupted by SIGINT …\n',
    'the last line was written first',
  );
  t.ok(ms >= 90 && ms < 1_000, `exited ${ms} ms after, once the stream took it`);
});
