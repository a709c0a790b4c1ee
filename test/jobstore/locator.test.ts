import t from 'tap';
import { parseLocator } from '../../src/jobstore/locator.js';

t.test('file locators and bare paths are directories', async (t) => {
  t.same(parseLocator('file:./js-sort', '/home/u'), {
    kind: 'file',
    path: '/home/u/js-sort',
    text: 'file:./js-sort',
  });
  t.same(parseLocator('/tmp/store', '/home/u'), { kind: 'file', path: '/tmp/store', text: '/tmp/store' });
});

t.test('aws locators map to the bucket NAME--toil in REGION', async (t) => {
  const loc = parseLocator('aws:us-west-2:sort-test');
  t.same(loc, {
    kind: 'aws',
    region: 'us-west-2',
    name: 'sort-test',
    bucket: 'sort-test--toil',
    text: 'aws:us-west-2:sort-test',
  });
});

t.test('bad locators are refused with the reason', async (t) => {
  const rows: [string, RegExp][] = [
    ['gs:bucket', /unknown scheme 'gs'/],
    ['aws:mars-1:name', /unknown AWS region 'mars-1'/],
    ['aws:us-west-2', /expected aws:REGION:NAME/],
    ['aws:us-west-2:Bad_Name', /must be 3-56 characters/],
    ['aws:us-west-2:a--b', /must be 3-56 characters/],
    ['file:', /expected a directory path/],
  ];
  for (const [text, want] of rows) {
    t.throws(() => parseLocator(text), { code: 'JOBSTORE_BAD_LOCATOR', message: want }, text);
  }
});
