import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { JobFileStore } from '../../src/workflow/fileStore.js';
import { testDir } from '../fixtures/testDir.js';

// A workflow file is bundled, not type-checked: a JavaScript user (or a cast) can hand
// writeGlobalFile bytes. Node took them for a path: the job failed with basename's "The "path"
// argument must be of type string", and the read of that "path" then failed after the job had
// returned, as a stray error.

t.test(
  'writeGlobalFile given bytes or a stream is refused at once, naming the calls that take them',
  async (t) => {
    const dir = testDir(t, { work: {} });
    const objects = new FileObjectStore(join(dir, 'js'));
    const store = new JobStore(objects);
    await store.create();
    const files = new JobFileStore(store, join(dir, 'work'));
    const rows: readonly [what: string, given: unknown, named: string][] = [
      ['a Buffer', Buffer.from('hi'), 'a Buffer'],
      ['a Uint8Array', new Uint8Array([104, 105]), 'a Uint8Array'],
      ['a number', 42, 'a number'],
      ['undefined', undefined, 'nothing (undefined)'],
    ];
    for (const [what, given, named] of rows) {
      await t.rejects(
        files.writeGlobalFile(given as string),
        {
          name: 'TypeError',
          message: `writeGlobalFile takes a local file's path, given ${named}: write bytes with writeGlobalFileBytes, a stream with writeGlobalFileStream`,
        },
        what,
      );
    }
    // A stray read of the bytes as a path would fail on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 100));
    t.same(files.written, [], 'nothing written');
    const keys: string[] = [];
    for await (const o of objects.list('files/')) keys.push(o.key);
    t.same(keys, [], 'no file in the store');
  },
);
