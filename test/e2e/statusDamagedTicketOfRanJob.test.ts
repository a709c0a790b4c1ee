import { execFileSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { s3rverAndScratchDir } from '../fixtures/s3rver.js';
import { damageLines, finishedSort } from '../fixtures/finishedSort.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

// A damaged ticket of a job that ran needs no restore, and no run writes it again: `toil status`
// exited 1 on it for good, saying only that nothing was to restore. Its line now says how to
// delete it (the file's path, or the object's S3 URI), after which the store is reported intact.
t.test(
  'toil status names how to delete a damaged ticket of a job that ran, and reports the store intact once it is gone (file:)',
  async (t) => {
    const dir = scratchDir(t);
    const locator = 'file:./js';
    const { store, jobId } = await finishedSort(t, locator, dir);
    const key = `jobs/${jobId}`;
    const path = join(dir, 'js', 'objects', 'jobs%', jobId);
    truncateSync(path, 20);

    const damaged = await runToil(['status', locator], { cwd: dir });
    t.equal(damaged.code, 1, 'exit 1: a damaged object');
    const { summary, line } = damageLines(damaged.stdout, key);
    t.equal(summary, 'damaged:    1 object(s), none to restore (each line says what becomes of it)');
    t.equal(
      line,
      `  ${key}: lacks the header with its length and checksum (its file was truncated or overwritten); nothing to restore for the workflow: its job ran; only 'toil debug-job' of that job reads it, and cannot run the job without it; no run writes it again: delete it to clear this report (rm ${path})`,
      'the damaged ticket, what becomes of it, and the command that deletes it',
    );
    t.equal(store.whereIs(key), path, "the store's own path of the ticket");

    const command = /\((rm [^)]*)\)$/.exec(line)?.[1] ?? 'false';
    execFileSync('sh', ['-c', command], { cwd: dir });
    const after = await runToil(['status', locator], { cwd: dir });
    t.equal(after.code, 0, `exit 0 once the ticket is deleted as said: ${after.stdout}`);
    t.match(after.stdout, /^damaged: +none /m);
    t.match(after.stdout, /^state: +finished$/m, 'the workflow is still the finished one');
  },
);

t.test(
  'toil status names the S3 URI of a damaged ticket of a job that ran, and reports the store intact once it is gone (aws:)',
  async (t) => {
    const { server, dir } = await s3rverAndScratchDir(t);
    const locator = 'aws:us-west-2:damaged-ticket';
    const { store, jobId } = await finishedSort(t, locator, dir, { ...server.env });
    const key = `jobs/${jobId}`;
    await store.put(key, 'not json');

    const damaged = await runToil(['status', locator], { cwd: dir, env: { ...server.env } });
    t.equal(damaged.code, 1, 'exit 1: a damaged object');
    const { line } = damageLines(damaged.stdout, key);
    t.match(
      line,
      `; no run writes it again: delete it to clear this report (aws s3 rm s3://damaged-ticket--toil/${key})`,
      'the command that deletes it names its bucket and key',
    );

    const { DeleteObjectCommand } = s3Sdk();
    const s3 = createS3Client('us-west-2', server.env);
    t.teardown(() => s3.destroy());
    await s3.send(new DeleteObjectCommand({ Bucket: 'damaged-ticket--toil', Key: key }));
    const after = await runToil(['status', locator], { cwd: dir, env: { ...server.env } });
    t.equal(after.code, 0, `exit 0 once the object is deleted as said: ${after.stdout}`);
  },
);
