/**
 * RecordIO, the framing of Mesos' streaming responses (mesos.md §3.2):
 *   stream = *record ; record = decimal-byte-length "\n" payload
 * no trailing newline, no CR; the length counts UTF-8 bytes and is never 0. HTTP chunk boundaries
 * have nothing to do with record boundaries, so the reader works on bytes and keeps a remainder.
 */
import { ToilError } from '../common/errors.js';

/** The stream is not RecordIO (a bad length line, or a record larger than allowed). */
export class RecordIOError extends ToilError {
  constructor(message: string) {
    super('MESOS_RECORDIO', message, { disposition: 'retry' });
  }
}

/** One record, framed: `${byteLength}\n${payload}`. */
export function encodeRecord(payload: string | Uint8Array): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  if (body.length === 0) throw new RecordIOError('a RecordIO record cannot be empty');
  return Buffer.concat([Buffer.from(`${body.length}\n`, 'ascii'), body]);
}

/** Longest length line we accept: a uint64 has at most 20 digits. */
const MAX_LENGTH_DIGITS = 20;

/**
 * Incremental decoder: `push` bytes as they arrive, get back every record completed by them.
 * A record split across any number of chunks, or several records in one chunk, both work.
 */
export class RecordIOReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly maxRecordBytes: number;

  constructor(options: { maxRecordBytes?: number } = {}) {
    this.maxRecordBytes = options.maxRecordBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes received that do not yet form a whole record. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): Buffer[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const records: Buffer[] = [];
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > MAX_LENGTH_DIGITS) throw new RecordIOError('RecordIO length line too long');
        break;
      }
      const lengthText = this.buf.subarray(0, nl).toString('ascii');
      if (!/^\d{1,20}$/.test(lengthText)) {
        throw new RecordIOError(`bad RecordIO length line ${JSON.stringify(lengthText.slice(0, 40))}`);
      }
      const length = Number(lengthText);
      if (length === 0) throw new RecordIOError('RecordIO record of length 0');
      if (length > this.maxRecordBytes)
        throw new RecordIOError(`RecordIO record of ${lengthText} bytes is too large`);
      if (this.buf.length < nl + 1 + length) break;
      records.push(Buffer.from(this.buf.subarray(nl + 1, nl + 1 + length)));
      this.buf = this.buf.subarray(nl + 1 + length);
    }
    return records;
  }
}

/** Every record of a byte stream, in order, as UTF-8 text. Throws if the stream ends mid-record. */
export async function* readRecords(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const reader = new RecordIOReader();
  for await (const chunk of body) {
    for (const record of reader.push(chunk)) yield record.toString('utf8');
  }
  if (reader.pendingBytes > 0) throw new RecordIOError(`RecordIO stream ended inside a record`);
}
