import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { JobCommit } from '../../src/jobstore/jobRecords.js';
import { openObjectStore } from '../../src/main/jobStores.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { replaceMetadata, s3rverAndScratchDir } from '../fixtures/s3rver.js';
import { runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

// The root writes a file and hands it to its child, which reads it and deletes it: the workflow
// record names the file, and only the child's commit says it is gone on purpose.
const WORKFLOW = `
import { defineJob, defineWorkflow, type FileID } from 'toil-ts';
const SMALL = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const consumer = defineJob<FileID, string>('consumer', SMALL, async (job, file) => {
  const text = (await job.fileStore.readGlobalFileBytes(file)).toString();
  job.fileStore.deleteGlobalFile(file);
  return text;
});
const root = defineJob<null, string>('root', SMALL, async (job) =>
  job.addChild(consumer, await job.fileStore.writeGlobalFileBytes('hello')).rv());
export default defineWorkflow<string>({ start(ctx) { return ctx.root(root, null); } });
`;

// A commit whose metadata something else rewrote was listed as damaged, and with it every file its
// job had deleted was listed as missing too: the files were gone on purpose, yet the user was
// told to restore them. A file the workflow names is only called missing when every commit,
// which says what its job deleted, could be read.
t.test(
  'toil status on an aws: store whose commit has malformed metadata lists that commit as damaged, saying what is wrong, and calls no file its job deleted missing',
  async (t) => {
    const { server, dir } = await s3rverAndScratchDir(t);
    writeFileSync(join(dir, 'wf.ts'), WORKFLOW);
    const locator = 'aws:us-west-2:damaged-commit';
    const run = await runToil(['run', 'wf.ts', locator, '--clean', 'never', '--disableProgress'], {
      cwd: dir,
      env: server.env,
    });
    t.equal(run.code, 0, run.stderr);

    const store = openObjectStore(locator, { env: server.env });
    const commits: { key: string; commit: JobCommit }[] = [];
    for await (const info of store.list('commits/')) {
      const obj = await store.get(info.key);
      commits.push({ key: info.key, commit: JSON.parse(obj!.body.toString()) as JobCommit });
    }
    const deleting = commits.filter((c) => c.commit.deletedFiles.length > 0);
    t.equal(deleting.length, 1, 'one job (the consumer) deleted a file');
    const key = deleting[0]!.key;

    const intact = await runToil(['status', locator], { cwd: dir, env: server.env });
    t.equal(intact.code, 0, intact.stderr);
    t.match(intact.stdout, /^damaged: +none /m, 'the file the consumer deleted is no damage');

    const s3 = createS3Client('us-west-2', server.env);
    t.teardown(() => s3.destroy());
    await replaceMetadata(s3, 'damaged-commit--toil', key, { 'toil-length': 'abc' });

    const status = await runToil(['status', locator], { cwd: dir, env: server.env });
    t.equal(status.code, 1, 'exit 1: a damaged object');
    t.match(status.stdout, /^damaged: +1 object\(s\) /m, 'one damaged object: the commit');
    t.match(
      status.stdout,
      new RegExp(
        `^  ${key}: carries malformed length and SHA-256 metadata: no toil-sha256, toil-length "abc" is not a whole number of bytes \\(it was overwritten by something other than this job store\\); what its job deleted cannot be told, so 1 file the workflow names that the store does not hold is not called missing until it is restored$`,
        'm',
      ),
      'the commit, what is wrong with its metadata, and the file whose absence it may explain',
    );
    t.notMatch(status.stdout, /is missing/, 'no file is called missing');
    t.equal(status.stderr, '', status.stderr);

    const json = await runToil(['status', locator, '--json'], { cwd: dir, env: server.env });
    t.equal(json.code, 1);
    t.same(
      (JSON.parse(json.stdout) as { damaged: { key: string }[] }).damaged.map((d) => d.key),
      [key],
      '--json lists the commit alone among the damaged objects',
    );
  },
);
