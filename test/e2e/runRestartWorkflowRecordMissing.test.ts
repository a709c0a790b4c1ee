import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { RealClock } from '../../src/common/clock.js';
import { openJobStore } from '../../src/main/jobStores.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { startS3rver } from '../fixtures/s3rver.js';
import { bucketOf, bucketSnapshot, fileStoreSnapshot } from '../fixtures/storeSnapshot.js';
import { messageLines, REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

/**
 * A job store whose workflow record (workflow.json) is gone though jobs of its workflow ran (deleted
 * by hand, lost in a copy) read as one interrupted while starting: `toil status` said so, and
 * `--restart` started the workflow over, running again the jobs that had run. It is damage, refused
 * as a damaged record is (JOBSTORE_CORRUPT, exit 2, naming the missing object and what to do) and
 * listed by `toil status`; a store truly interrupted while starting (no job ran) still starts with
 * `--restart`.
 */
const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
t.jobs = 3;

const { DeleteObjectCommand } = s3Sdk();

/** The tree workflow's arguments in `dir`: the sum of 0..2 to out.txt, each execution in exec.log. */
function treeArgs(dir: string): string[] {
  return ['--n', '3', '--out', join(dir, 'out.txt'), '--log', join(dir, 'exec.log')];
}

/** The one line a --restart of `locator` says when its workflow record is missing. */
function missingRecordLine(locator: string): RegExp {
  const l = locator.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(
    `^toil: job store ${l} is damaged: object workflow\\.json is missing, yet the store holds commits/[0-9a-f-]{36}, which only a workflow that started writes \\(restore workflow\\.json: without it which jobs ran cannot be told, and starting the workflow over in this store would run them again; or run 'toil clean ${l}' and start the workflow again\\)$`,
  );
}

/**
 * A failed run of the tree workflow on `locator` (its `add` told to fail once, no retry), whose
 * `tree` jobs committed; `deleteRecord` then removes its workflow.json, and `snapshot` reads
 * the store's bytes. --restart is refused, running no job and leaving every byte as it was;
 * toil status lists the missing record (exit 1), toil stats refuses as the restart does.
 */
async function recordDeletedAfterJobsRan(
  t: Test,
  dir: string,
  locator: string,
  o: {
    env?: Record<string, string>;
    deleteRecord: () => Promise<void>;
    snapshot: () => Promise<Record<string, string>>;
  },
): Promise<void> {
  const env = o.env ?? {};
  const args = ['run', TREE, locator, ...treeArgs(dir), '--fail', 'add', '--failTimes', '1'];
  const first = await runToil([...args, '--retryCount', '0'], { cwd: dir, env });
  t.equal(first.code, 1, `the run fails at add: ${first.stderr}`);
  const ran = readFileSync(join(dir, 'exec.log'), 'utf8');
  t.match(ran, /^end tree /m, 'tree jobs ran and committed');

  await o.deleteRecord();
  const before = await o.snapshot();
  const restart = await runToil([...args, '--restart'], { cwd: dir, env });
  t.equal(restart.code, 2, 'toil run --restart: exit 2');
  const lines = messageLines(restart.stderr);
  t.equal(lines.length, 1, `one line: ${restart.stderr}`);
  t.match(lines[0], missingRecordLine(locator), 'names the missing record and what to do');
  t.notMatch(
    restart.stderr,
    /holds no workflow yet|\n\s+at /,
    'not taken for an interrupted start; no stack',
  );
  t.equal(readFileSync(join(dir, 'exec.log'), 'utf8'), ran, 'no job ran again');
  t.same(await o.snapshot(), before, 'every object of the store is as it was');

  const status = await runToil(['status', locator], { cwd: dir, env });
  t.equal(status.code, 1, `toil status: exit 1, damage found (${status.stderr.trim()})`);
  t.match(status.stdout, new RegExp(`^job store ${locator}: its workflow record is damaged$`, 'm'));
  t.match(
    status.stdout,
    /^ {2}workflow\.json: is missing, yet the store holds commits\/[0-9a-f-]{36}, which only a workflow that started writes$/m,
  );
  t.notMatch(status.stdout, /interrupted while starting/);
  const json = await runToil(['status', locator, '--json'], { cwd: dir, env });
  t.same(
    (JSON.parse(json.stdout) as { damaged: { key: string }[] }).damaged.map((d) => d.key),
    ['workflow.json'],
    'toil status --json lists the missing record as the damaged object',
  );
  const stats = await runToil(['stats', locator], { cwd: dir, env });
  t.equal(stats.code, 2, 'toil stats: exit 2');
  t.match(messageLines(stats.stderr)[0], missingRecordLine(locator), 'toil stats: the same line');

  // A new run on the store (no --restart) is refused as for any store that exists, saying it is
  // damaged and not advising the --restart that would be refused.
  const again = await runToil(args, { cwd: dir, env });
  t.equal(again.code, 2, 'toil run without --restart: exit 2');
  t.equal(
    messageLines(again.stderr)[0],
    `toil: job store ${locator} already exists (expected a new job store; it holds a damaged workflow: ` +
      `object workflow.json is missing, yet the store holds ${/commits\/[0-9a-f-]{36}/.exec(again.stderr)?.[0] ?? 'commits/?'}, ` +
      `which only a workflow that started writes): run 'toil status ${locator}' to list the damaged objects and restore them ` +
      `before --restart, or remove the job store with 'toil clean ${locator}' to start the workflow from scratch`,
  );
  t.same(await o.snapshot(), before, 'and nothing of the store is written');
}

t.test(
  'file: a workflow.json deleted after jobs committed: --restart refused as damage, nothing rerun or written; status and stats say damaged',
  async (t) => {
    const dir = scratchDir(t);
    const root = join(dir, 'js');
    await recordDeletedAfterJobsRan(t, dir, 'file:./js', {
      deleteRecord: async () => rmSync(join(root, 'objects', 'workflow.json')),
      snapshot: async () => fileStoreSnapshot(root),
    });
  },
);

t.test(
  'aws: (s3rver) a workflow.json deleted after jobs committed: --restart refused as damage, nothing rerun or written; status and stats say damaged',
  async (t) => {
    const s3rver = await startS3rver();
    t.teardown(() => s3rver.stop());
    const dir = scratchDir(t);
    const locator = 'aws:us-west-2:record-missing';
    const s3 = createS3Client('us-west-2', s3rver.env);
    t.teardown(() => s3.destroy());
    await recordDeletedAfterJobsRan(t, dir, locator, {
      env: { ...s3rver.env },
      deleteRecord: async () =>
        void (await s3.send(new DeleteObjectCommand({ Bucket: bucketOf(locator), Key: 'workflow.json' }))),
      snapshot: () => bucketSnapshot(s3, locator),
    });
  },
);

t.test(
  'a store interrupted while starting (its lease, module and the files start() wrote, no job): --restart starts the workflow',
  async (t) => {
    const dir = scratchDir(t);
    const store = openJobStore(`file:${join(dir, 'js')}`);
    await store.create();
    await (await store.acquireLease({ clock: new RealClock() })).release();
    await store.putModule(new TextEncoder().encode('export default {};\n'));
    await store.writeFile(store.newFileId('input.txt'), 'imported by start()\n');

    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(status.code, 0, status.stderr);
    t.match(status.stdout, /^job store file:\.\/js: no workflow \(it was interrupted while starting\)$/m);
    const restart = await runToil(['run', TREE, 'file:./js', ...treeArgs(dir), '--restart'], { cwd: dir });
    t.equal(restart.code, 0, restart.stderr);
    t.match(restart.stderr, /the job store holds no workflow yet; starting it/);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), '3\n', 'the workflow ran to its result');
  },
);
