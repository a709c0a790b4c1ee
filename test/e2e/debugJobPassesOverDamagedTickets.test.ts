import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import type { ObjectStore } from '../../src/jobstore/objectStore.js';
import { openJobStore } from '../../src/main/jobStores.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { finishedSort, statusSays } from '../fixtures/finishedSort.js';
import { replaceMetadata, s3rverAndScratchDir } from '../fixtures/s3rver.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/** A ticket of a job no record declares (what a checkpoint's rerun leaves): its job's name cannot be told. */
const UNDECLARED = 'jobs/00000000-0000-4000-8000-000000000000';

interface Store {
  readonly locator: string;
  readonly options: { cwd: string; env: Record<string, string> };
  readonly objects: ObjectStore;
  /** Damages ticket `key` one way, then another way for a second ticket (as the disk or a tool would). */
  readonly damage: readonly [(key: string) => Promise<void>, (key: string) => Promise<void>];
}

/** The ids of the finished sort's tickets, by job name. */
async function ticketIds(store: Store): Promise<Map<string, string[]>> {
  const jobs = openJobStore(store.locator, store.options);
  const ids = new Map<string, string[]>();
  for await (const info of jobs.objects.list('jobs/')) {
    const id = info.key.slice('jobs/'.length);
    const name = (await jobs.readTicket(id))?.name ?? '';
    ids.set(name, [...(ids.get(name) ?? []), id]);
  }
  return ids;
}

/**
 * `toil debug-job` by name reads every ticket: a damaged one stops it only when its job may be the
 * one asked for (its own, by the job's declared name, or one whose job cannot be named when no
 * sound ticket names it); otherwise the job is found, and one stderr line says what was passed over.
 */
async function passesOver(t: Test, store: Store): Promise<void> {
  const { locator, options } = store;
  const debug = (...args: string[]) => runToil(['debug-job', locator, ...args], options);
  const ids = await ticketIds(store);
  const down = ids.get('down')![0]!;
  const up = ids.get('up')![0]!;
  await store.damage[0](`jobs/${down}`);

  const found = await debug('up', '--printJobInfo');
  t.equal(found.code, 0, `another job's damaged ticket passed over: ${found.stderr}`);
  t.match(found.stdout, /^job: +up$/m);
  t.equal(
    found.stderr,
    `toil: 1 other ticket of job store ${locator} is damaged and could not be read ('toil status ${locator}' lists it)\n`,
  );
  const absent = await debug('nosuch');
  t.equal(absent.code, 2, 'a name no job has, the damaged ticket being of a down job');
  t.equal(
    absent.stderr,
    `toil: no job named 'nosuch' or with that id in job store ${locator}; job names: down, setup, up\n`,
  );
  const shared = await debug('down');
  t.equal(shared.code, 2, 'a name of three jobs, one of them with the damaged ticket');
  t.match(
    shared.stderr,
    `toil: job name 'down' matches 3 jobs in job store ${locator}: give one of their ids: `,
  );
  t.match(shared.stderr, down, 'the job of the damaged ticket named among them');

  await store.damage[1](`jobs/${up}`);
  const own = await debug('up');
  t.equal(own.code, 2, "the job's own ticket damaged, asked for by name");
  t.equal(own.stderr, await statusSays(t, locator, `jobs/${up}`, options), 'said as toil status says it');
  const other = await debug('setup', '--printJobInfo');
  t.equal(other.code, 0, `two damaged tickets passed over: ${other.stderr}`);
  t.match(other.stdout, /^job: +setup$/m);
  t.equal(
    other.stderr,
    `toil: 2 other tickets of job store ${locator} are damaged and could not be read ('toil status ${locator}' lists them)\n`,
  );

  await store.objects.put(UNDECLARED, 'not json');
  const unknown = await debug('nosuch');
  t.equal(unknown.code, 2, 'a name not among the sound tickets, a damaged one of an unnamed job could be it');
  t.equal(
    unknown.stderr,
    (await statusSays(t, locator, UNDECLARED, options)).trimEnd() +
      `; job 'nosuch' not found among the sound tickets; 1 damaged ticket could not be read, whose job may be it ('toil status ${locator}' lists it)\n`,
  );
  const still = await debug('setup', '--printJobInfo');
  t.equal(still.code, 0, `three damaged tickets passed over: ${still.stderr}`);
  t.match(still.stdout, /^job: +setup$/m);
  t.equal(
    still.stderr,
    `toil: 3 other tickets of job store ${locator} are damaged and could not be read ('toil status ${locator}' lists them); the job name of 1 of them cannot be told, so 'setup' may name another job too: give a job id to be sure\n`,
  );
}

t.test('toil debug-job by name passes over the damaged tickets that cannot be the job (file:)', async (t) => {
  const dir = scratchDir(t);
  const locator = 'file:./js';
  const { store: objects } = await finishedSort(t, locator, dir);
  const path = (key: string) => join(dir, 'js', 'objects', 'jobs%', key.slice('jobs/'.length));
  const truncated = async (key: string) => truncateSync(path(key), 20);
  const flipped = async (key: string) => {
    const bytes = readFileSync(path(key));
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(path(key), bytes);
  };
  await passesOver(t, { locator, options: { cwd: dir, env: {} }, objects, damage: [truncated, flipped] });
});

t.test('toil debug-job by name passes over the damaged tickets that cannot be the job (aws:)', async (t) => {
  const { server, dir } = await s3rverAndScratchDir(t);
  const locator = 'aws:us-west-2:passed-over';
  const { store: objects } = await finishedSort(t, locator, dir, { ...server.env });
  const s3 = createS3Client('us-west-2', server.env);
  t.teardown(() => s3.destroy());
  const Bucket = 'passed-over--toil';
  const notJson = async (key: string) => objects.put(key, 'not json').then(() => undefined);
  const wrongChecksum = async (key: string) => {
    const { HeadObjectCommand } = s3Sdk();
    const { Metadata } = await s3.send(new HeadObjectCommand({ Bucket, Key: key }));
    await replaceMetadata(s3, Bucket, key, { ...Metadata, 'toil-sha256': '0'.repeat(64) });
  };
  await passesOver(t, {
    locator,
    options: { cwd: dir, env: { ...server.env } },
    objects,
    damage: [notJson, wrongChecksum],
  });
});
