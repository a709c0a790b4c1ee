import t from 'tap';
import { filesMatching, globToRegExp, type StoredFile } from '../../src/cli/debugFile.js';
import { fileNameInId, fileNameOf, fileUuidOf } from '../../src/jobstore/jobStore.js';

/** A job's ID, and a file's UUID, in file IDs. */
const JOB = '0b9f1c2e-1111-4a4a-8b8b-123456789abc';
const FILE = '5d6e7f80-2222-4b4b-9c9c-abcdef012345';

t.test('a file ID keeps the last component of the name it was written from, safe as a key', async (t) => {
  const rows: [what: string, name: string, kept: string | undefined][] = [
    ['a plain name', 'report.txt', 'report.txt'],
    ['a path: its last component', '/tmp/job-1/part.txt', 'part.txt'],
    ['a trailing slash', 'dir/sub/', 'sub'],
    ['spaces and unicode made _', 'my file é.txt', 'my_file__.txt'],
    ['a long name keeps its end (the extension)', `${'x'.repeat(150)}.bam`, `${'x'.repeat(96)}.bam`],
    ['dots alone: none', '..', undefined],
    ['empty: none', '', undefined],
  ];
  for (const [what, name, kept] of rows) t.equal(fileNameInId(name), kept, what);
  t.equal(fileNameOf('files/0b9f1c2e-1111-4a4a-8b8b-123456789abc/part.txt'), 'part.txt');
  t.equal(fileNameOf('files/0b9f1c2e-1111-4a4a-8b8b-123456789abc'), undefined, 'a file written from bytes');
  t.equal(fileNameOf(`files/${JOB}/2/${FILE}/part.txt`), 'part.txt', "one a job's attempt wrote");
  t.equal(fileNameOf(`files/${JOB}/2/${FILE}`), undefined, "one a job's attempt wrote from bytes");
});

t.test("a file ID's own UUID, not that of the job whose attempt wrote it", async (t) => {
  const rows: [what: string, fileId: string, uuid: string | undefined][] = [
    ['named, written by the workflow', `files/${FILE}/part.txt`, FILE],
    ['from bytes, written by the workflow', `files/${FILE}`, FILE],
    ["named, a job's attempt's", `files/${JOB}/2/${FILE}/part.txt`, FILE],
    ["from bytes, a job's attempt's", `files/${JOB}/2/${FILE}`, FILE],
    ['a name of digits alone is a name', `files/${FILE}/2024`, FILE],
    ['no file ID', 'files/x/y', undefined],
  ];
  for (const [what, fileId, uuid] of rows) t.equal(fileUuidOf(fileId), uuid, what);
});

t.test('--fetch patterns are shell globs over the names, or whole file IDs', async (t) => {
  const rows: [glob: string, name: string, matches: boolean][] = [
    ['*.txt', 'a.txt', true],
    ['*.txt', 'a.txt.gz', false],
    ['part?.csv', 'part1.csv', true],
    ['part?.csv', 'part10.csv', false],
    ['[ab]*', 'b.bam', true],
    ['[!ab]*', 'b.bam', false],
    ['a+b(1).txt', 'a+b(1).txt', true],
    ['a.txt', 'abtxt', false],
  ];
  for (const [glob, name, matches] of rows)
    t.equal(globToRegExp(glob).test(name), matches, `${glob} ~ ${name}`);
  const files: StoredFile[] = [
    { fileId: 'files/11111111-1111-4111-8111-111111111111/a.txt', name: 'a.txt', size: 1 },
    {
      fileId: 'files/22222222-2222-4222-8222-222222222222',
      name: '22222222-2222-4222-8222-222222222222',
      size: 1,
    },
  ];
  t.same(
    filesMatching(files, 'files/22222222-2222-4222-8222-222222222222').map((f) => f.size),
    [1],
    'an unnamed file by its ID',
  );
  t.equal(filesMatching(files, '*').length, 2);
});
