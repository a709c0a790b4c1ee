import t from 'tap';
import { Readable } from 'node:stream';
import { encodeRecord, readRecords, RecordIOReader, RecordIOError } from '../../src/mesos/recordio.js';

t.test('a record is its UTF-8 byte length, a newline and the payload, with nothing after', async (t) => {
  t.equal(encodeRecord('{"type":"HEARTBEAT"}').toString('utf8'), '20\n{"type":"HEARTBEAT"}');
  // "é" is two bytes and "€" three: the length counts bytes, not characters.
  t.equal(encodeRecord('é€').toString('utf8'), '5\né€');
  t.throws(() => encodeRecord(''), RecordIOError, 'an empty record cannot be written');
});

t.test('records split at every possible byte boundary are reassembled exactly', async (t) => {
  const payloads = ['{"type":"SUBSCRIBED","x":"é€"}', '{"type":"HEARTBEAT"}', '{"a":1}'];
  const stream = Buffer.concat(payloads.map((p) => encodeRecord(p)));
  for (let cut = 1; cut < stream.length; cut++) {
    const r = new RecordIOReader();
    const got = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))].map((b) =>
      b.toString('utf8'),
    );
    if (got.join('|') !== payloads.join('|')) {
      t.fail(`split at ${cut} gave ${JSON.stringify(got)}`);
      return;
    }
  }
  const oneByOne = new RecordIOReader();
  const got: string[] = [];
  for (const byte of stream) got.push(...oneByOne.push(Buffer.from([byte])).map((b) => b.toString('utf8')));
  t.same(got, payloads, 'one byte per chunk');
  t.same(
    new RecordIOReader().push(stream).map((b) => b.toString('utf8')),
    payloads,
    'several records in one chunk',
  );
});

t.test('a malformed stream is an error, not a hang or a wrong record', async (t) => {
  t.throws(() => new RecordIOReader().push(Buffer.from('1a\n{}')), RecordIOError, 'a non-decimal length');
  t.throws(() => new RecordIOReader().push(Buffer.from('0\n')), RecordIOError, 'a zero length');
  t.throws(
    () => new RecordIOReader().push(Buffer.from('123456789012345678901234')),
    RecordIOError,
    'a length line that never ends',
  );
  t.throws(
    () => new RecordIOReader({ maxRecordBytes: 10 }).push(Buffer.from('11\n')),
    RecordIOError,
    'a record over the limit',
  );
  const truncated = Readable.from([Buffer.from('10\n{"a":')]);
  await t.rejects(async () => {
    for await (const _ of readRecords(truncated)) t.fail('no record should come out');
  }, RecordIOError);
});

t.test('readRecords yields each record of a chunked byte stream as text', async (t) => {
  const stream = Buffer.concat([encodeRecord('{"n":1}'), encodeRecord('{"n":2}')]);
  const chunks = [stream.subarray(0, 3), stream.subarray(3, 11), stream.subarray(11)];
  const got: string[] = [];
  for await (const r of readRecords(Readable.from(chunks))) got.push(r);
  t.same(got, ['{"n":1}', '{"n":2}']);
});
