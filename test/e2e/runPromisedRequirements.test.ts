import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

t.setTimeout(120_000);

// Toil's tutorial_requirements.py: the analysis asks for as much disk as the file the download
// staged (`disk=PromisedRequirement(downloadJob.rv(1))`); here `disk: download.rv(1)`. The
// workflow's argument says what the download reports as the size, so a test can give a bad one.
const TUTORIAL = `
import { writeFileSync } from 'node:fs';
import { defineJob, defineWorkflow, type FileID } from 'toil-ts';
const stageFn = defineJob<{ url: string; size?: unknown }, [FileID, unknown]>('stageFn', { cores: 0.1, memory: '32M', disk: '1M' },
  async (job, { url, size }) => {
    const imported = await job.fileStore.importFile(url);
    return [imported, size ?? (await job.fileStore.getGlobalFileSize(imported))];
  });
const analysisJob = defineJob<{ fileStoreID: FileID }, number>('analysisJob', async (job, { fileStoreID }) => {
  job.log.info(\`analysing \${fileStoreID} with \${job.requirements.disk} bytes of disk\`);
  return job.requirements.disk;
});
const parentJob = defineJob<{ url: string; size?: unknown }, number>('parentJob', (job, args) => {
  const download = job.addChild(stageFn, args);
  return job.addFollowOn(analysisJob, { fileStoreID: download.rv(0) }, { cores: 0.1, memory: '32M', disk: download.rv(1) }).rv();
});
export default defineWorkflow<number>({
  start(ctx) {
    const size = ctx.args[1] === undefined ? undefined : JSON.parse(ctx.args[1]);
    return ctx.root(parentJob, { url: 'file://' + ctx.args[0], size }, { cores: 0.1, memory: '32M', disk: '1M' });
  },
  finish(_ctx, disk) { writeFileSync('disk.txt', String(disk)); },
});
`;

t.test(
  "a requirement given as an earlier job's promise (Toil's PromisedRequirement) is what the job runs with",
  async (t) => {
    const dir = scratchDir(t);
    const wf = join(dir, 'req.ts');
    writeFileSync(wf, TUTORIAL);
    const r = await runToil(['run', 'req.ts', 'file:./js', wf, '--logLevel', 'INFO'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const size = statSync(wf).size;
    t.equal(
      readFileSync(join(dir, 'disk.txt'), 'utf8'),
      String(size),
      "the analysis ran with the staged file's size as its disk",
    );
    t.match(r.stderr, `with ${size} bytes of disk`);
  },
);

t.test('a promised size string is read as a size', async (t) => {
  const dir = scratchDir(t);
  const wf = join(dir, 'req.ts');
  writeFileSync(wf, TUTORIAL);
  const r = await runToil(['run', 'req.ts', 'file:./js', wf, '"3Mi"'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(dir, 'disk.txt'), 'utf8'), String(3 * 2 ** 20));
});

t.test(
  'a promised value that is not a size fails the job that asks for it, saying what it got',
  async (t) => {
    const dir = scratchDir(t);
    const wf = join(dir, 'req.ts');
    writeFileSync(wf, TUTORIAL);
    const r = await runToil(['run', 'req.ts', 'file:./js', wf, '{"big":true}'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /toil: job 'analysisJob' \([-0-9a-f]+\) failed after 1 attempt\(s\): job 'analysisJob': its disk requirement, the value promised by job 'stageFn' \([-0-9a-f]+\), is \{"big":true\}, not a size \(a number of bytes, or a string like "600M" or "2Gi"\)/,
    );
    t.match(r.stderr, /--restart cannot help/, 'a restart reads the same committed value');
    t.notMatch(r.stderr, /run again with --restart/);
    const again = await runToil(['run', 'req.ts', 'file:./js', wf, '{"big":true}', '--restart'], {
      cwd: dir,
    });
    t.equal(again.code, 1, 'and it does fail the same way');
    t.match(again.stderr, /is \{"big":true\}, not a size/);
    t.notMatch(r.stderr, /internal error|Node\.js v/);
    const debug = await runToil(['debug-job', 'file:./js', 'analysisJob'], { cwd: dir });
    t.equal(debug.code, 2, debug.stderr);
    t.match(
      debug.stderr,
      /^toil: job 'analysisJob' \([-0-9a-f]+\) in job store file:\.\/js failed for good before it was issued, so there is nothing to run: job 'analysisJob': its disk requirement, the value promised by job 'stageFn' \([-0-9a-f]+\), is \{"big":true\}, not a size/,
      'toil debug-job says why the job has no ticket, not that it waits for the jobs before it',
    );
  },
);

t.test(
  'a promised size over what the batch system can give fails that job for good, as a declared one stops the run',
  async (t) => {
    const dir = scratchDir(t);
    const wf = join(dir, 'req.ts');
    writeFileSync(wf, TUTORIAL);
    const r = await runToil(['run', 'req.ts', 'file:./js', wf, '"900Pi"'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /toil: job 'analysisJob' \([-0-9a-f]+\) failed after 1 attempt\(s\): job 'analysisJob' asks for 900\.0 PiB disk, more than the largest node allows/,
    );
    t.match(r.stderr, /run again with --restart/, 'larger limits on a restart can let it run');
    t.notMatch(r.stderr, /internal error|Node\.js v/);
  },
);
