import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore, SERVICE_RECORD_REMEDY } from '../../src/jobstore/jobStore.js';
import type { ObjectInfo, PutConditions } from '../../src/jobstore/objectStore.js';
import { runWorkflow, type RunWorkflowOutcome } from '../../src/leader/runWorkflow.js';
import { execLog, holdRunOptions, POLL, SERVICES } from '../fixtures/servicesRun.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';

t.setTimeout(120_000);

const POLL_MS = 100;
const LOCATOR = 'file:./js';

/**
 * A file object store that writes `body` in place of every service record named `record` (its
 * start value, or the stop request): as something else would have, its length and SHA-256 intact.
 */
class ServiceRecordReplacer extends FileObjectStore {
  private readonly record: 'started' | 'stop';
  private readonly body: string;

  constructor(root: string, record: 'started' | 'stop', body: string) {
    super(root, LOCATOR);
    this.record = record;
    this.body = body;
  }

  override put(key: string, body: Uint8Array | string, conditions?: PutConditions): Promise<ObjectInfo> {
    const replaced = key.startsWith('services/') && key.endsWith(`/${this.record}`);
    return super.put(key, replaced ? this.body : body, conditions);
  }
}

/**
 * Runs the services workflow's `hold` mode (service a, a child `use` given its value, a follow-on
 * `after` waiting for `go`) in a leader of this process, leader and workers each on a store of
 * their own over the same directory; `go` is written once `after` waits.
 */
async function runHold(
  t: Test,
  stores: (root: string) => { leader: FileObjectStore; worker: FileObjectStore },
): Promise<{ result: RunWorkflowOutcome; lines: string[] }> {
  const dir = scratchDir(t);
  const cwd = process.cwd();
  process.chdir(dir); // the workflow writes exec.log and reads `go` where it runs
  t.teardown(() => process.chdir(cwd));
  const { leader, worker } = stores(join(dir, 'js'));
  const store = new JobStore(leader);
  const batch = new InProcessBatchSystem(new JobStore(worker), dir, {
    workerOptions: { shouldCommit: () => true },
  });
  let ended = false;
  const going = (async () => {
    while (!ended && !execLog(dir).includes('after waits')) await new Promise((r) => setTimeout(r, 50));
    if (!ended) writeFileSync(join(dir, 'go'), '');
  })();
  const result = await runWorkflow(holdRunOptions(store, dir, batch, POLL_MS)).finally(() => {
    ended = true;
  });
  await going;
  return { result, lines: execLog(dir) };
}

/** Why the service failed, once the run is seen to fail with it alone failed. */
function serviceFailure(t: Test, result: RunWorkflowOutcome): string | undefined {
  t.equal(result.status, 'failed', 'the run fails');
  const failures = result.status === 'failed' ? result.failures : [];
  t.same(
    failures.map((f) => f.name),
    ['db'],
    'the service alone failed',
  );
  return failures[0]?.reason;
}

const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The damage of the service's record `record` as the error says it: `why`, then the remedy. */
const damagedRecord = (record: 'started' | 'stop', why: string): string =>
  `job store ${escaped(LOCATOR)} is damaged: object services/[0-9a-f-]+/\\d+/${record} ${why} \\(${escaped(SERVICE_RECORD_REMEDY)}\\)`;

// A service's start record that did not parse ended the whole run on the leader's poll, with the
// advice to restore it or clean the store; one that parsed without its value started the service
// on nothing, and its host's child failed on a promise "with no value yet". Now the service fails
// for good naming the record, and the jobs that needed its value do not run.
for (const [form, body, why] of [
  ['not JSON', '{"format":1,"val', 'does not parse \\(.+\\)'],
  ['without its value', '{"format":1}', "does not hold a service's start value: no value"],
] as const) {
  t.test(
    `a service whose start record is damaged (${form}) fails for good naming the record, and the jobs given its value never run`,
    async (t) => {
      const { result, lines } = await runHold(t, (root) => ({
        leader: new FileObjectStore(root, LOCATOR),
        worker: new ServiceRecordReplacer(root, 'started', body),
      }));
      t.match(
        serviceFailure(t, result),
        new RegExp(
          `^service 'db' started, but its start value cannot be read: ${damagedRecord('started', why)}$`,
        ),
      );
      t.same(lines, ['start a', 'stop a'], 'the service started and was stopped; use and after never ran');
    },
  );
}

// The leader's stop request is read by the service's attempt. One of another shape (keep not a
// boolean) was taken as a request to stop and commit; one that did not parse failed the service
// with the advice to restore it or clean the store, which would throw the workflow away.
for (const [form, body, why] of [
  ['not JSON', 'stop', 'does not parse \\(.+\\)'],
  [
    'keep not a boolean',
    '{"format":1,"keep":"no"}',
    `does not hold a leader's request that a service stop: keep is "no", not a boolean`,
  ],
] as const) {
  t.test(`a service whose stop request is damaged (${form}) fails naming the record`, async (t) => {
    const { result, lines } = await runHold(t, (root) => ({
      leader: new ServiceRecordReplacer(root, 'stop', body),
      worker: new FileObjectStore(root, LOCATOR),
    }));
    const reason = serviceFailure(t, result);
    t.match(reason, new RegExp(damagedRecord('stop', why)));
    t.notMatch(reason, /\n\s+at /, 'no stack trace');
    t.same(lines, ['start a', 'use db://a', 'after waits', 'after', 'stop a'], 'its successors ran first');
  });
}

// `toil status` read a service's records for their bytes and JSON alone, and called one that did
// not parse a record to restore; one of another shape was not listed at all.
t.test(
  "toil status lists a service's damaged start and stop records, naming what is wrong and that nothing needs restoring; --restart then runs the services again",
  async (t) => {
    const dir = scratchDir(t);
    const run = ['run', SERVICES, LOCATOR, '--mode', 'failing', ...POLL];
    const failed = await runToil(run, { cwd: dir });
    t.equal(failed.code, 1, failed.stderr);
    const objects = new FileObjectStore(join(dir, 'js'), LOCATOR);
    const records: string[] = [];
    for await (const info of objects.list('services/')) records.push(info.key);
    const started = records.filter((k) => k.endsWith('/started'));
    const stops = records.filter((k) => k.endsWith('/stop'));
    t.equal(started.length, 2, 'both services started');
    t.ok(stops.length > 0, 'and were asked to stop');
    await objects.put(started[0]!, JSON.stringify({ format: 1 }));
    await objects.put(stops[0]!, JSON.stringify({ format: 1, keep: 1 }));
    await objects.put(started[1]!, '{"format":');

    const status = await runToil(['status', LOCATOR], { cwd: dir });
    t.equal(status.code, 1, status.stderr);
    t.notMatch(status.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
    t.match(status.stdout, /^damaged: +3 object\(s\), none to restore /m);
    const line = (key: string, why: string): RegExp =>
      new RegExp(`^  ${escaped(key)}: ${why}; ${escaped(SERVICE_RECORD_REMEDY)}$`, 'm');
    t.match(status.stdout, line(started[0]!, "does not hold a service's start value: no value"));
    t.match(
      status.stdout,
      line(stops[0]!, "does not hold a leader's request that a service stop: keep is 1, not a boolean"),
    );
    t.match(status.stdout, line(started[1]!, 'does not parse \\(.+\\)'));

    rmSync(join(dir, 'break-a'));
    const again = await runToil([...run, '--restart'], { cwd: dir });
    t.equal(again.code, 0, again.stderr);
    t.ok(execLog(dir).includes('use db://a,db://b'), 'the services started again and their values were used');
  },
);
