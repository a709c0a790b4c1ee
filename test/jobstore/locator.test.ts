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
    ['aws:us-west-2:Bad_Name', /'Bad_Name' has 'B' in it \(it must be 3-56 characters/],
    ['aws:us-west-2:a--b', /'a--b' has two hyphens in a row/],
    ['aws:us-west-2:ab', /'ab' is 2 characters long \(it must be 3-56 characters/],
    ['aws:us-west-2:-abc', /'-abc' starts or ends with a hyphen/],
    [
      `aws:us-west-2:${'a'.repeat(70)}`,
      new RegExp(
        `is 70 characters long, over Toil's 56 \\(its bucket '${'a'.repeat(70)}--toil' would be 76 characters; S3 bucket names are at most 63\\)`,
      ),
    ],
    [`aws:us-west-2:${'a'.repeat(57)}`, /is 57 characters long, over Toil's 56/],
    ['file:', /expected a directory path/],
  ];
  for (const [text, want] of rows) {
    t.throws(() => parseLocator(text), { code: 'JOBSTORE_BAD_LOCATOR', message: want }, text);
  }
});
