import { execFileSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { finishedSort, statusSays } from '../fixtures/finishedSort.js';
import { s3rverAndScratchDir } from '../fixtures/s3rver.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * `toil debug-job` of the damaged job by id, and of another job by name: it reads every ticket, and
 * finds the job the damaged one is not, saying it passed it over.
 */
async function debugJobSays(
  t: Test,
  locator: string,
  jobId: string,
  expected: string,
  options: { cwd: string; env?: Record<string, string> },
): Promise<void> {
  const byId = await runToil(['debug-job', locator, jobId], options);
  t.equal(byId.code, 2, 'debug-job of the job whose ticket is damaged: exit 2');
  t.equal(byId.stderr, expected, 'said as toil status says it');
  const byName = await runToil(['debug-job', locator, 'up', '--printJobInfo'], options);
  t.equal(
    byName.code,
    0,
    `debug-job of another job by name: exit 0, the damaged ticket passed over: ${byName.stderr}`,
  );
  t.match(byName.stdout, /^job: +up$/m);
  t.equal(
    byName.stderr,
    `toil: 1 other ticket of job store ${locator} is damaged and could not be read ('toil status ${locator}' lists it)\n`,
  );
}

// A damaged ticket of a job that ran needs no restore, and no run writes it again: `toil status`
// says so and names the command that deletes it; `toil debug-job`, stopped by the same ticket,
// said to restore it or 'toil clean' the store, throwing the finished workflow away.
t.test(
  'toil debug-job says of a damaged ticket of a job that ran what toil status says: nothing to restore, and how to delete it (file:)',
  async (t) => {
    const dir = scratchDir(t);
    const locator = 'file:./js';
    const { jobId } = await finishedSort(t, locator, dir);
    const key = `jobs/${jobId}`;
    const path = join(dir, 'js', 'objects', 'jobs%', jobId);
    truncateSync(path, 20);

    const expected = await statusSays(t, locator, key, { cwd: dir });
    t.equal(
      expected,
      `toil: job store ${locator} is damaged: object ${key} lacks the header with its length and checksum (its file was truncated or overwritten) (nothing to restore for the workflow: its job ran; only 'toil debug-job' of that job reads it, and cannot run the job without it; no run writes it again: delete it to clear this report (rm ${path}))\n`,
    );
    await debugJobSays(t, locator, jobId, expected, { cwd: dir });

    const command = /\((rm [^)]*)\)\)$/.exec(expected.trim())?.[1] ?? 'false';
    execFileSync('sh', ['-c', command], { cwd: dir });
    const after = await runToil(['debug-job', locator, 'up', '--printJobInfo'], { cwd: dir });
    t.equal(after.code, 0, `exit 0 once the ticket is deleted as said: ${after.stderr}`);
    t.match(after.stdout, /^job: +up$/m);
  },
);

t.test(
  'toil debug-job says of a damaged ticket of a job that ran what toil status says, naming its S3 URI (aws:)',
  async (t) => {
    const { server, dir } = await s3rverAndScratchDir(t);
    const locator = 'aws:us-west-2:damaged-ticket';
    const options = { cwd: dir, env: { ...server.env } };
    const { store, jobId } = await finishedSort(t, locator, dir, { ...server.env });
    const key = `jobs/${jobId}`;
    await store.put(key, 'not json');

    const expected = await statusSays(t, locator, key, options);
    t.match(
      expected,
      `; no run writes it again: delete it to clear this report (aws s3 rm s3://damaged-ticket--toil/${key}))\n`,
      'the command that deletes it names its bucket and key',
    );
    await debugJobSays(t, locator, jobId, expected, options);

    const { DeleteObjectCommand } = s3Sdk();
    const s3 = createS3Client('us-west-2', server.env);
    t.teardown(() => s3.destroy());
    await s3.send(new DeleteObjectCommand({ Bucket: 'damaged-ticket--toil', Key: key }));
    const after = await runToil(['debug-job', locator, 'up', '--printJobInfo'], options);
    t.equal(after.code, 0, `exit 0 once the object is deleted as said: ${after.stderr}`);
    t.match(after.stdout, /^job: +up$/m);
  },
);
