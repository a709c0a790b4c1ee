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

t.test('an aws: locator takes any region of AWS naming, one newer than the code included', async (t) => {
  // ap-southeast-6 opened after the list of regions the code had; the others are of AWS's other
  // partitions and shapes (GovCloud, China, ISO, the European Sovereign Cloud).
  const regions = ['ap-southeast-6', 'us-gov-west-1', 'cn-north-1', 'us-isob-east-1', 'eusc-de-east-1'];
  const parsed = regions.map((region) => parseLocator(`aws:${region}:sort-test`));
  t.same(
    parsed.map((loc) => loc.kind === 'aws' && [loc.region, loc.bucket, loc.text]),
    regions.map((region) => [region, 'sort-test--toil', `aws:${region}:sort-test`]),
  );
});

t.test('bad locators are refused with the reason', async (t) => {
  const rows: [string, RegExp][] = [
    ['gs:bucket', /unknown scheme 'gs'/],
    [
      'aws:mars-1:name',
      /^invalid job store locator 'aws:mars-1:name': region 'mars-1' is not an AWS region name \(expected one like us-west-2: lowercase words and a number, joined by hyphens\)$/,
    ],
    [
      'aws:us-west-2a:name',
      /^invalid job store locator 'aws:us-west-2a:name': region 'us-west-2a' is an availability zone, not a region \(expected its region, us-west-2\)$/,
    ],
    [
      'aws:EU-WEST-1:name',
      /^invalid job store locator 'aws:EU-WEST-1:name': region 'EU-WEST-1' is not an AWS region name \(expected it in lowercase, eu-west-1\)$/,
    ],
    ['aws::name', /^invalid job store locator 'aws::name': region is empty \(expected one like us-west-2\)$/],
    ['aws:us-west:name', /region 'us-west' is not an AWS region name/],
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
