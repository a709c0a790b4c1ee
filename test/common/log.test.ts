import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../../src/common/log.js';

function capture(): { lines: () => Record<string, unknown>[]; raw: () => string[]; stream: Writable } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { raw: () => raw, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>), stream };
}

t.test(
  'no log line carries a bundle, a file or a whole stack: values are capped and summarised',
  async (t) => {
    const out = capture();
    const log = createLogger({ destination: out.stream });
    const bundle = new Uint8Array(63_700).fill(105);
    log.info({ workflow: 'w1', options: { bundle, restart: false } }, 'workflow submitted');
    log.info({ contents: 'x'.repeat(50_000), jobs: Array.from({ length: 5000 }, (_, i) => i) }, 'big');
    log.error({ err: new Error('boom', { cause: new Error('deeper') }) }, 'failed');
    log.warn(`a message of a whole file: ${'line\n'.repeat(10_000)}`);
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 50; i++) cur = cur['next'] = {};
    log.info({ deep }, 'deep');
    await new Promise((r) => setImmediate(r));
    const [submitted, big, failed, whole] = out.lines();
    for (const l of out.raw()) t.ok(l.length <= 2000, `a line of ${l.length} characters`);
    t.same(
      (submitted!['options'] as Record<string, unknown>)['bundle'],
      '<63700 bytes>',
      'bytes as their size',
    );
    t.match(
      big!['contents'],
      /^x{300}… \(50000 characters\)$/,
      'a long string is cut, saying how long it was',
    );
    t.equal((big!['jobs'] as unknown[]).length, 21, 'a long array shows its first 20 items');
    t.equal((big!['jobs'] as unknown[])[20], '… 4980 more');
    const err = failed!['err'] as { message: string; stack: string; type: string };
    t.equal(err.message, 'boom: deeper', 'an error keeps its message (and its cause, as pino writes it)');
    t.match(err.stack, /^Error: boom\n\s+at /, 'and the top of its stack');
    t.ok(err.stack.split('\n').length <= 10, 'at most nine frames and a count of the rest');
    t.match(whole!['msg'], /… \(50027 characters\)$/, 'a long message is cut, saying how long it was');
  },
);

t.test('an err that is not an Error with a stack is logged as it is, never thrown on', async (t) => {
  const out = capture();
  const log = createLogger({ destination: out.stream });
  const stackless = new Error('no stack here');
  delete stackless.stack;
  // The local Mesos agent logged `{ err: message }` when its master went away: the serializer threw
  // and the agent died with its tasks unreported.
  t.doesNotThrow(() => log.warn({ err: 'connect ECONNREFUSED 127.0.0.1:5050' }, 'lost the master'));
  t.doesNotThrow(() => log.warn({ err: { code: 'E1', detail: 'x'.repeat(5000) } }, 'a plain object'));
  t.doesNotThrow(() => log.warn({ err: stackless }, 'an error without its stack'));
  t.doesNotThrow(() => log.warn({ err: undefined }, 'nothing'));
  await new Promise((r) => setImmediate(r));
  const [text, plain, bare, nothing] = out.lines();
  t.equal(text!['err'], 'connect ECONNREFUSED 127.0.0.1:5050', 'a string as it is');
  t.match(plain!['err'], { code: 'E1', detail: /^x{300}… \(5000 characters\)$/ }, 'an object, capped');
  t.match(bare!['err'], { message: 'no stack here', type: 'Error' }, 'an error by its message');
  t.equal(nothing!['msg'], 'nothing');
});
