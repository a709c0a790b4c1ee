import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * Entries in a `file:` job store's objects folder that the store never writes (a folder without
 * the trailing '%' of its folders, a file with it) were left out of every listing without a word:
 * toil status and --restart now name them in one warning, once per command, and what the workflow
 * committed is read as before. A folder of the store's linked from elsewhere is read through the
 * link: toil status left a linked folder of commits unchecked, and said nothing was damaged.
 */
t.setTimeout(180_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

/** A test dir with the kept job store `js` of a finished workflow (and the run's exec.log). */
async function keptStore(t: Test): Promise<string> {
  const dir = testDir(t);
  const ran = await runToil(
    ['run', TREE, 'file:./js', '--clean', 'never', '--out', 'out.txt', '--log', 'exec.log'],
    { cwd: dir },
  );
  t.equal(ran.code, 0, ran.stderr);
  return dir;
}

/** The warning for `entries`, as a command with no log of its own writes it. */
const warning = (entries: readonly string[]): string => {
  const one = entries.length === 1;
  return (
    `toil: warning: job store file:./js: ${one ? 'an entry' : `${entries.length} entries`} of its objects folder ` +
    `${one ? 'is' : 'are'} not named as the store names what it writes, so ${one ? 'it is' : 'they are'} left out ` +
    `of what it lists (not read by toil status or --restart; toil clean deletes ${one ? 'it' : 'them'} with the store): ` +
    `${entries.join(', ')} (expected only what toil wrote there: move ${one ? 'it' : 'them'} out of the job store)\n`
  );
};

t.test(
  'entries the store never writes are named in one warning by toil status and --restart, the report and the run as without them, and toil clean deletes them',
  async (t) => {
    const dir = await keptStore(t);
    const before = await runToil(['status', 'file:./js'], { cwd: dir });
    mkdirSync(join(dir, 'js/objects/notes'));
    writeFileSync(join(dir, 'js/objects/notes/readme'), 'mine\n');
    writeFileSync(join(dir, 'js/objects/stray%'), 'mine\n');
    writeFileSync(join(dir, 'js/objects/commits%/x%'), 'mine\n');

    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(status.code, 0, 'nothing damaged: exit 0');
    t.equal(status.stdout, before.stdout, 'the report is the same');
    t.equal(
      status.stderr,
      warning(['objects/commits%/x%', 'objects/notes', 'objects/stray%']),
      'one warning naming each entry, once however often the store was listed',
    );

    const executions = readFileSync(join(dir, 'exec.log'), 'utf8');
    const restart = await runToil(
      ['run', TREE, 'file:./js', '--restart', '--clean', 'never', '--out', 'out.txt', '--log', 'exec.log'],
      { cwd: dir },
    );
    t.equal(restart.code, 0, restart.stderr);
    t.equal(
      restart.stderr.split('\n').filter((l) => l.includes('not named as the store names')).length,
      1,
      'the run warns once',
    );
    t.match(
      restart.stderr,
      /WARN\S*: job store file:\.\/js: an entry of its objects folder .*: objects\/commits%\/x% /,
    );
    t.match(restart.stderr, /0 jobs run \(22 already done before --restart\)/);
    t.equal(readFileSync(join(dir, 'exec.log'), 'utf8'), executions, 'no job ran again');

    const clean = await runToil(['clean', 'file:./js'], { cwd: dir });
    t.equal(clean.code, 0, clean.stderr);
    t.notOk(existsSync(join(dir, 'js')), 'toil clean deleted the store, the entries with it');
  },
);

t.test(
  "a folder of the store's linked from another disk is read through the link: toil status checks the commits there",
  async (t) => {
    const dir = await keptStore(t);
    renameSync(join(dir, 'js/objects/commits%'), join(dir, 'commits-elsewhere'));
    symlinkSync(join(dir, 'commits-elsewhere'), join(dir, 'js/objects/commits%'));
    const [jobId] = readdirSync(join(dir, 'commits-elsewhere')).sort();
    // One byte of the commit's body changed: its SHA-256 no longer matches its header.
    const path = join(dir, 'commits-elsewhere', jobId!);
    const bytes = readFileSync(path);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 1;
    writeFileSync(path, bytes);

    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(status.code, 1, `the damaged commit is found: exit 1 (${status.stdout})`);
    t.match(status.stdout, new RegExp(`commits/${jobId}`), 'and named');
    t.notMatch(status.stdout, /damaged: +none/);
    t.equal(status.stderr, '', 'the link is no foreign entry');
  },
);
