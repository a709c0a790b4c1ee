import { ManualClock } from '../../src/common/clock.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import type { JobCommit, WorkflowRecord } from '../../src/jobstore/jobRecords.js';
import { CorruptJobStoreError, JobStore } from '../../src/jobstore/jobStore.js';
import { openObjectStore } from '../../src/main.js';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Env, startMoto } from '../fixtures/motoServer.js';
import { startS3rver } from '../fixtures/s3rver.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

function commit(jobId: string, attempt: number): JobCommit {
  return {
    format: 1,
    jobId,
    attempt,
    returnValue: attempt,
    children: [],
    followOns: [],
    newJobs: [],
    deletedFiles: [],
    logs: [],
    wallTimeMs: 1,
  };
}

const workflow: WorkflowRecord = {
  format: 1,
  workflowId: 'w1',
  createdAt: 1,
  workflowFile: 'wf.ts',
  rootJobId: 'r',
  jobs: [{ id: 'r', name: 'root', input: null, requirements: {}, children: [], followOns: [] }],
  module: { key: 'module.mjs', etag: 'e', size: 1 },
  args: [],
  options: { retryCount: 1, defaults: { cores: 1, memory: 1, disk: 1, preemptable: false } },
};

/** The job store's semantics, the same on every backend. */
async function semantics(t: Test, store: JobStore, enforces: boolean): Promise<void> {
  t.notOk(await store.exists());
  await t.rejects(store.assertExists(), { code: 'JOBSTORE_NOT_FOUND' });
  await store.create();
  await t.rejects(store.create(), { code: 'JOBSTORE_EXISTS' }, 'a second create is refused');

  await store.writeWorkflow(workflow);
  if (enforces)
    await t.rejects(
      store.writeWorkflow({ ...workflow, workflowId: 'w2' }),
      { code: 'JOBSTORE_EXISTS' },
      'workflow.json is written once',
    );
  t.equal((await store.readWorkflow())?.workflowId, 'w1');

  const clock = new ManualClock();
  const first = await store.acquireLease({ clock, ttlMs: 1000 });
  t.equal(first.generation, 0, 'first leader: generation 0');
  await first.release();
  t.equal(
    (await store.acquireLease({ clock, ttlMs: 1000 })).generation,
    1,
    'a restarted leader: generation 1',
  );

  t.equal(await store.commit(commit('j1', 1)), 'committed');
  if (enforces) {
    t.equal(await store.commit(commit('j1', 2)), 'already', 'a second attempt cannot overwrite the first');
    t.equal((await store.readCommit('j1'))?.attempt, 1, 'the first commit stands');
  }
  await store.commit(commit('j2', 1));
  const all = await store.readAllCommits();
  t.same([...all.keys()].sort(), ['j1', 'j2']);
  t.equal(await store.countCommits(), 2);
  t.equal(await store.readCommit('nope'), undefined);

  await store.writeTicket({
    format: 1,
    workflowId: 'w1',
    jobId: 'j3',
    name: 'root',
    input: { a: 1 },
    requirements: { cores: 1, memory: 1, disk: 1, preemptable: false },
    module: workflow.module,
  });
  t.same((await store.readTicket('j3'))?.input, { a: 1 });

  await store.writeFailureLog({
    format: 1,
    jobId: 'j3',
    attempt: 2,
    name: 'root',
    error: 'boom',
    logs: [],
    output: 'tail',
  });
  t.equal((await store.readFailureLog('j3', 2))?.error, 'boom');
  t.equal(await store.readFailureLog('j3', 3), undefined);

  const ref = await store.putModule(Buffer.from('export default 1;'));
  t.equal((await store.getModule(ref)).toString(), 'export default 1;');

  const f1 = store.newFileId();
  const f2 = store.newFileId();
  t.not(f1, f2);
  await store.writeFile(f1, 'hello');
  await store.writeFile(f2, Readable.from([Buffer.from('stre'), Buffer.from('amed')]));
  t.equal((await store.readFileBytes(f1)).toString(), 'hello');
  const chunks: Buffer[] = [];
  for await (const c of await store.readFileStream(f2)) chunks.push(c as Buffer);
  t.equal(Buffer.concat(chunks).toString(), 'streamed');
  t.ok(await store.fileExists(f1));
  await store.deleteFiles([f1, f2]);
  t.notOk(await store.fileExists(f1));
  await t.rejects(store.readFileBytes('workflow.json'), /not a file ID/, 'only file IDs reach the file API');

  // The Mesos framework id survives the leader, so --restart re-subscribes as the same framework.
  t.equal(await store.readFrameworkId(), undefined, 'no framework id before the first subscription');
  await store.writeFrameworkId('a3b5-0000-framework-0007');
  t.equal(await store.readFrameworkId(), 'a3b5-0000-framework-0007');
  await store.writeFrameworkId(undefined);
  t.equal(await store.readFrameworkId(), undefined, 'forgotten once the master removed the framework');
  // With the master it subscribed at, where `toil kill --force` tears it down.
  await store.writeFrameworkId('a3b5-0000-framework-0008', '10.0.0.2:5050');
  t.same(await store.readMesosFramework(), {
    frameworkId: 'a3b5-0000-framework-0008',
    master: '10.0.0.2:5050',
  });
  await store.writeFrameworkId('a3b5-0000-framework-0009');
  t.same(await store.readMesosFramework(), { frameworkId: 'a3b5-0000-framework-0009' }, 'no master named');

  // The Slurm cluster the workflow's jobs are in, for `toil kill --force`.
  t.equal(await store.readSlurmUse(), undefined, 'never ran on Slurm');
  await store.writeSlurmUse({ conf: '/etc/slurm/other.conf' });
  t.same(await store.readSlurmUse(), { conf: '/etc/slurm/other.conf' });
  await store.writeSlurmUse({});
  t.same(await store.readSlurmUse(), {}, "the system's slurm.conf");

  await store.destroy();
  t.notOk(await store.exists());
}

t.test('job store on the file backend', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-js-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await semantics(t, new JobStore(new FileObjectStore(join(dir, 'js'))), true);
});

t.test('a damaged record is reported as such', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-js-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const objects = new FileObjectStore(join(dir, 'js'));
  const store = new JobStore(objects);
  await store.create();
  await objects.put('workflow.json', '{not json');
  await t.rejects(store.readWorkflow(), { code: 'JOBSTORE_CORRUPT' });
  t.ok(
    (await store.readWorkflow().catch((e: unknown) => e)) instanceof CorruptJobStoreError,
    'as a CorruptJobStoreError',
  );
});

t.test(
  'no workflow record: none yet while the store holds only what comes before it; damage once it holds what only a started workflow writes',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'toil-js-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const objects = new FileObjectStore(join(dir, 'js'));
    const store = new JobStore(objects);
    await store.create();
    await store.putModule(Buffer.from('export default {};'));
    await store.writeFile(store.newFileId('input.txt'), 'what start() imported');
    t.equal(await store.readWorkflow(), undefined, 'the module and start() files alone: no workflow yet');
    t.same(await store.findDamaged(), [], 'and nothing damaged');
    // The records read field by field hold theirs: one that says nothing would itself be damaged.
    const fields: Record<string, object> = {
      'commits/j1': commit('j1', 1),
      'jobs/j1': {
        jobId: 'j1',
        workflowId: 'w',
        name: 'n',
        requirements: { cores: 1, memory: 1, disk: 1, preemptable: false },
        module: { key: 'module.mjs', etag: 'e', size: 1 },
      },
      'logs/j1/1': { jobId: 'j1', attempt: 1, name: 'n', error: 'e', logs: [], output: '' },
      'outcome.json': { generation: 0, status: 'failed', at: 0, failedJobs: [] },
      'module-current.json': { module: { key: 'modules/e.mjs', etag: 'e', size: 1 } },
    };
    for (const key of ['commits/j1', 'jobs/j1', 'logs/j1/1', 'outcome.json', 'module-current.json']) {
      await objects.put(key, JSON.stringify({ format: 1, ...fields[key] }));
      await t.rejects(
        store.readWorkflow(),
        {
          code: 'JOBSTORE_CORRUPT',
          key: 'workflow.json',
          message: `job store ${store.locator} is damaged: object workflow.json is missing, yet the store holds ${key}, which only a workflow that started writes (restore workflow.json: without it which jobs ran cannot be told, and starting the workflow over in this store would run them again; or run 'toil clean ${store.locator}' and start the workflow again)`,
        },
        `with ${key}: the record is missing, not yet to come`,
      );
      t.same(
        await store.findDamaged(),
        [
          {
            key: 'workflow.json',
            reason: `is missing, yet the store holds ${key}, which only a workflow that started writes`,
          },
        ],
        `with ${key}: listed as damaged`,
      );
      await objects.delete(key);
    }
    await store.writeWorkflow(workflow);
    await store.commit(commit('r', 1));
    t.same(await store.readWorkflow(), workflow, 'with its record: the record');
    t.same(await store.findDamaged(), [], 'and nothing damaged');
  },
);

t.test(
  'job store on S3 (moto_server, conditional writes enforced)',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const env = motoS3Env(moto);
    await semantics(t, new JobStore(openObjectStore('aws:us-west-2:jobstore-semantics', { env })), true);
  },
);

t.test('job store on S3 (s3rver, conditions not enforced)', async (t) => {
  const s3rver = await startS3rver();
  t.teardown(() => s3rver.stop());
  await semantics(
    t,
    new JobStore(openObjectStore('aws:us-west-2:jobstore-semantics', { env: s3rver.env })),
    false,
  );
});
