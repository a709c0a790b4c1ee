import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

t.setTimeout(60_000);

t.test(
  'toil clean of a directory of other files says it is not a job store, exits 2 and deletes nothing',
  async (t) => {
    const dir = testDir(t);
    mkdirSync(join(dir, 'results/sub'), { recursive: true });
    writeFileSync(join(dir, 'results/a.txt'), 'kept');
    writeFileSync(join(dir, 'results/sub/b.txt'), 'kept too');
    for (const locator of ['file:./results', 'results']) {
      const r = await runToil(['clean', locator], { cwd: dir });
      t.equal(r.code, 2, `${locator}: exit 2, refused (not 0, as for a store that is not there)`);
      t.equal(r.stdout, '', `${locator}: no "deleted" nor "does not exist"`);
      t.match(
        r.stderr,
        new RegExp(
          `^toil: job store ${locator.replace(/[.]/g, '\\.')}: \\S*results is a directory of other files \\(e\\.g\\. 'a\\.txt'\\), not a job store, so it is not used, written to or deleted \\(expected .*\\)\n$`,
        ),
        `${locator}: one line saying it is not a job store and is not deleted`,
      );
      t.same(readdirSync(join(dir, 'results')).sort(), ['a.txt', 'sub'], `${locator}: nothing deleted`);
      t.equal(readFileSync(join(dir, 'results/sub/b.txt'), 'utf8'), 'kept too');
    }
  },
);

t.test('toil clean of a file says it is not a job store, exits 2 and keeps it', async (t) => {
  const dir = testDir(t);
  writeFileSync(join(dir, 'notes.txt'), 'kept');
  const r = await runToil(['clean', 'file:./notes.txt'], { cwd: dir });
  t.equal(r.code, 2);
  t.match(r.stderr, /^toil: job store file:\.\/notes\.txt: \S*notes\.txt is a file, not a job store, .*\n$/);
  t.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'kept', 'the file is kept');
});

t.test('toil clean of a path where nothing is still says so, exit 0', async (t) => {
  const dir = testDir(t);
  const r = await runToil(['clean', 'file:./nothing'], { cwd: dir });
  t.equal(r.code, 0);
  t.equal(r.stdout, 'job store file:./nothing does not exist; nothing to clean\n');
});

t.test(
  "toil clean of an empty directory deletes it, exit 0, as Toil's clean deletes the directory it is named",
  async (t) => {
    const dir = testDir(t);
    mkdirSync(join(dir, 'empty'));
    // What a `toil run` killed before its store's marker was written leaves: its folders, no object.
    for (const sub of ['.tmp', 'objects', '.locks'])
      mkdirSync(join(dir, 'skeleton', sub), { recursive: true });
    for (const locator of ['file:./empty', 'skeleton']) {
      const r = await runToil(['clean', locator], { cwd: dir });
      t.equal(r.code, 0, `${locator}: exit 0\n${r.stderr}`);
      t.equal(
        r.stdout,
        `deleted job store ${locator}: an empty directory, where no workflow had started\n`,
        `${locator}: says it deleted it, and that no workflow had started there`,
      );
      t.equal(r.stderr, '', `${locator}: nothing on stderr`);
    }
    t.same(readdirSync(dir), [], 'both are gone');
    const again = await runToil(['clean', 'file:./empty'], { cwd: dir });
    t.equal(
      again.stdout,
      'job store file:./empty does not exist; nothing to clean\n',
      'a second clean finds nothing',
    );
  },
);
