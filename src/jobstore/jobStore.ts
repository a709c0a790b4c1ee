import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { ToilError } from '../common/errors.js';
import { forEachLimited } from '../common/forEachLimited.js';
import {
  CorruptJobStoreError,
  JobStoreExistsError,
  JobStoreNotFoundError,
  JobStorePathTakenError,
  ObjectNotFoundError,
  PreconditionFailedError,
} from './errors.js';
import type {
  FailureLog,
  JobCommit,
  Json,
  JobTicket,
  LeaderRecord,
  ModuleRef,
  RunOutcomeRecord,
  RunningRecord,
  WorkflowRecord,
} from './jobRecords.js';
import { isFileId, referencedFiles, writerOf } from './fileReferences.js';
import { JobStoreLease, LEADER_KEY, type LeaseOptions } from './lease.js';
import { PROBE_PREFIX, type ObjectStore } from './objectStore.js';
import {
  commitShapeProblem,
  currentModuleShapeProblem,
  failureLogShapeProblem,
  mesosFrameworkShapeProblem,
  outcomeShapeProblem,
  runningShapeProblem,
  serviceStartedShapeProblem,
  serviceStopShapeProblem,
  slurmUseShapeProblem,
  lostMarkShapeProblem,
  ticketShapeProblem,
  workflowShapeProblem,
  type Fields,
} from './recordShape.js';

export { CorruptJobStoreError } from './errors.js';

/**
 * The job store: workflows, jobs, files, the workflow module and job logs, written once over the
 * `ObjectStore` port so that every backend behaves the same. Layout (keys in the object store):
 *
 *   workflow.json            WorkflowRecord — written once (conditional create) when the workflow starts
 *   module.mjs               the bundled workflow module
 *   leader.json              LeaderRecord — the lease: generation, holder, expiry (compare-and-swap)
 *   jobs/<jobId>             JobTicket — what a worker needs to run the job; derived, rewritten freely
 *   commits/<jobId>          JobCommit — the job ran; conditional create, first attempt wins, immutable
 *                            (deleted only when a checkpoint job reruns: its own and those below it)
 *   logs/<jobId>/<attempt>   FailureLog — why an attempt failed
 *   services/<jobId>/<attempt>/started|stop  a service job's start value; the leader's stop request
 *   lost/<jobId>/<attempt>   LostAttemptMark — an attempt lost with its node whose files are still to delete
 *   outcome.json             RunOutcomeRecord — how the last leader's run ended
 *   running.json             RunningRecord — what the running leader has issued, and where it runs
 *   files/<uuid>             user files the workflow's start (or a leader) wrote
 *   files/<jobId>/<attempt>/<uuid>  user files attempt <attempt> of job <jobId> wrote (file store)
 *
 * Why this shape: a job's whole effect (its return value, new children and follow-ons, the files
 * it deleted, its log lines) is one object written with a conditional create, so it is atomic on
 * every backend and a second attempt can never half-overwrite the first. The leader's view of the
 * workflow is a pure function of workflow.json and the commits, so after a crash it is rebuilt
 * by reading them; nothing else needs to have been written for a job to count as done.
 *
 * Requests per job on S3 in the steady state: the leader writes the ticket (1 PUT), the worker
 * reads it (1 GET) and writes the commit (1 PUT), the leader reads the commit (1 GET). A warm
 * worker (single_machine) gets the ticket with the attempt and sends its commit back once the
 * store acknowledged it, so there it is the two PUTs alone. The module is read once per worker
 * process (and cached on local disk); deletions at the end are batched.

A file keeps in its key the attempt that wrote it, so what an attempt wrote is found by listing one
prefix, with no record written beside the file that a crash could leave unwritten. An attempt's
files outlive it only if its commit is the job's: a failed attempt's worker deletes what it wrote,
as one does whose commit came second or whose batch system stopped it (SIGTERM, see
endAttemptOnSigterm); the files of an attempt that ended without a word (lost with its node, or its
leader gone) are deleted by the leader once the job's commit is another attempt's (see
WorkflowRunner and deleteOtherAttemptsFiles). A job a checkpoint's rerun forgot loses them all
once its commit is gone, with every other record of it (deleteDroppedJob).
 *
 * Errors: `JobStoreNotFoundError`/`JobStoreExistsError` (user errors), `CorruptJobStoreError`
 * (JOBSTORE_CORRUPT, naming the object) when an object fails its length or SHA-256 check (every
 * read checks, see objectStore.ts), a record does not parse or the workflow record is gone from a
 * workflow that started (see readWorkflow), and whatever else the object
 * store raises. A damaged object is never returned as data.
 */
export class JobStore {
  readonly objects: ObjectStore;
  /** Called before every write; throws to refuse it (see fencedBy). */
  private readonly fence: () => void;
  /**
   * Awaited once a destroy is allowed, before it starts: a fenced store retires its lease, so no
   * renewal of it reaches the store while it is deleted, nor after.
   */
  private readonly beforeDestroy: () => Promise<void>;

  constructor(
    objects: ObjectStore,
    fence: () => void = () => {},
    beforeDestroy: () => Promise<void> = async () => {},
  ) {
    this.objects = objects;
    this.fence = fence;
    this.beforeDestroy = beforeDestroy;
  }

  get locator(): string {
    return this.objects.locator;
  }

  /** The locator a worker on another machine or in another directory uses (see ObjectStore). */
  get absoluteLocator(): string {
    return this.objects.absoluteLocator;
  }

  /** Creates the empty store; throws JobStoreExistsError if there is one. */
  async create(): Promise<void> {
    if (await this.objects.exists()) throw new JobStoreExistsError(this.locator);
    await this.objects.create();
  }

  exists(): Promise<boolean> {
    return this.objects.exists();
  }

  /**
   * Throws JobStoreNotFoundError unless the store exists; when what is there is what a deletion
   * cut short left, it says so, and how to finish it, rather than only that no store is there.
   * A path taken by something else (a file, a directory of other files: a mistyped path) is no
   * job store either, said as `toil clean` and a new store say it, not called absent.
   */
  async assertExists(hint?: string): Promise<void> {
    if (await this.objects.exists()) return;
    await this.objects.assertOurs().catch((e: unknown) => {
      throw e instanceof JobStorePathTakenError ? e.forReading() : e;
    });
    const cutShort = await this.objects.isCutShortDestroy().catch(() => false);
    throw new JobStoreNotFoundError(this.locator, hint, cutShort);
  }

  /** Throws when what the locator names is no job store of ours (see ObjectStore.assertOurs). */
  assertOurs(): Promise<void> {
    return this.objects.assertOurs();
  }

  async destroy(): Promise<void> {
    this.fence();
    await this.beforeDestroy();
    await this.objects.destroy();
  }

  /** Deletes what a destroy cut short left (see ObjectStore.finishCutShortDestroy); true if there was any. */
  finishCutShortDestroy(): Promise<boolean> {
    return this.objects.finishCutShortDestroy();
  }

  /**
   * Deletes what writers killed mid-write left half-written (see ObjectStore.removeAbandonedTemporaries):
   * the leader that owns the store, as it takes it and before it leaves it kept.
   */
  async removeAbandonedTemporaries(): Promise<{ count: number; bytes: number }> {
    this.fence();
    return this.objects.removeAbandonedTemporaries();
  }

  /** Deletes an empty place where no store is (see ObjectStore.removeEmpty); true if there was one. */
  removeEmpty(): Promise<boolean> {
    return this.objects.removeEmpty();
  }

  /**
   * Stores the workflow module: at `module.mjs` when the workflow starts, or (a `--restart` with a
   * changed workflow file) beside it at `modules/<sha256>.mjs`, where the jobs issued from then on
   * find it through their ticket's ModuleRef.
   */
  async putModule(bytes: Uint8Array, key: string = MODULE_KEY): Promise<ModuleRef> {
    this.fence();
    const info = await this.objects.put(key, bytes);
    return { key, etag: info.etag, size: info.size };
  }

  async getModule(ref: ModuleRef): Promise<Buffer> {
    const obj = await this.objects.get(ref.key);
    if (!obj) throw new CorruptJobStoreError(this.locator, 'is missing (the workflow module)', ref.key);
    if (obj.size !== ref.size || obj.etag !== ref.etag) {
      throw new CorruptJobStoreError(
        this.locator,
        `is not the module the workflow was started with (${obj.size} bytes, etag ${obj.etag}; expected ${ref.size} bytes, etag ${ref.etag})`,
        ref.key,
      );
    }
    return obj.body;
  }

  /**
   * The module the last run used when a `--restart` changed it (the workflow record keeps naming
   * the first): what the next restart compares its file with and, given no file, runs.
   */
  async readCurrentModule(): Promise<ModuleRef | undefined> {
    return (await this.readJson<{ module: ModuleRef }>(CURRENT_MODULE_KEY))?.module;
  }

  async writeCurrentModule(module: ModuleRef): Promise<void> {
    this.fence();
    await this.objects.put(CURRENT_MODULE_KEY, JSON.stringify({ format: 1, module }));
  }

  /** Writes the workflow record once; a second writer loses with JobStoreExistsError. */
  async writeWorkflow(record: WorkflowRecord): Promise<void> {
    this.fence();
    try {
      await this.objects.put(WORKFLOW_KEY, JSON.stringify(record), { ifNoneMatch: '*' });
    } catch (e) {
      if (e instanceof PreconditionFailedError) throw new JobStoreExistsError(this.locator);
      throw e;
    }
  }

  /**
   * The workflow record, or undefined while the store holds none yet: its start() runs, or was
   * interrupted (a --restart starts the workflow then). A store that holds what only a started
   * workflow writes has lost its record instead: that is damage (CorruptJobStoreError), never
   * "none yet", for a restart that took it so would start the workflow over and run again the
   * jobs that ran.
   */
  async readWorkflow(): Promise<WorkflowRecord | undefined> {
    const record = await this.readJson<WorkflowRecord>(WORKFLOW_KEY);
    if (record) return record;
    const evidence = await this.firstWrittenAfterWorkflow();
    if (evidence === undefined) return undefined;
    // A leader whose start() returned between the two reads wrote the record, then the evidence.
    const late = await this.readJson<WorkflowRecord>(WORKFLOW_KEY);
    if (late) return late;
    throw new CorruptJobStoreError(
      this.locator,
      missingWorkflowReason(evidence),
      WORKFLOW_KEY,
      `restore ${WORKFLOW_KEY}: without it which jobs ran cannot be told, and starting the workflow over in this store would run them again; or run 'toil clean ${this.locator}' and start the workflow again`,
    );
  }

  /** The first object of those only a started workflow writes (see writtenAfterWorkflow), if any. */
  private async firstWrittenAfterWorkflow(): Promise<string | undefined> {
    for (const prefix of AFTER_WORKFLOW_PREFIXES)
      for await (const info of this.objects.list(prefix)) return info.key;
    for (const key of AFTER_WORKFLOW_KEYS) if (await this.objects.head(key)) return key;
    return undefined;
  }

  /**
   * Takes the job store's lease for a leader (see lease.ts): the next generation, or
   * `JobStoreLeasedError` naming the leader that holds it.
   */
  acquireLease(o: LeaseOptions): Promise<JobStoreLease> {
    return JobStoreLease.acquire(this.objects, o);
  }

  /**
   * This store, with every leader write first checking `lease` (LeaseLostError once it lapsed
   * or was taken over). The leader writes through this; workers do not hold leases.
   */
  fencedBy(lease: JobStoreLease): JobStore {
    return new JobStore(
      this.objects,
      () => lease.fence(),
      () => lease.retire(),
    );
  }

  async writeTicket(ticket: JobTicket): Promise<void> {
    this.fence();
    await this.objects.put(ticketKey(ticket.jobId), JSON.stringify(ticket));
  }

  async readTicket(jobId: string): Promise<JobTicket | undefined> {
    return this.readJson<JobTicket>(ticketKey(jobId));
  }

  /**
   * For each of `jobIds` an earlier leader issued (it has a ticket), the attempt its ticket was
   * last written for; undefined for a ticket that names none (written before tickets did) or
   * cannot be read. Jobs never issued are absent. Tickets are listed, and only those read.
   */
  async lastIssuedAttempts(
    jobIds: ReadonlySet<string>,
    concurrency = 16,
  ): Promise<Map<string, number | undefined>> {
    const issued: string[] = [];
    for await (const info of this.objects.list(TICKETS_PREFIX)) {
      const id = info.key.slice(TICKETS_PREFIX.length);
      if (jobIds.has(id)) issued.push(id);
    }
    const last = new Map<string, number | undefined>();
    await forEachLimited(issued, concurrency, async (id) => {
      const ticket = await this.readTicket(id).catch((e: unknown) => {
        // A damaged ticket is written again as its job is issued: it only leaves the number unknown.
        if (e instanceof CorruptJobStoreError) return undefined;
        throw e;
      });
      last.set(id, typeof ticket?.attempt === 'number' ? ticket.attempt : undefined);
    });
    return last;
  }

  /**
   * Records that the job ran. Resolves 'committed', or 'already' if another attempt committed
   * first (its commit stands; this one is dropped whole). On a backend that does not enforce
   * conditions (s3rver) a racing second attempt overwrites the first with an equivalent result.
   */
  async commit(commit: JobCommit): Promise<'committed' | 'already'> {
    this.fence();
    try {
      await this.objects.put(commitKey(commit.jobId), JSON.stringify(commit), { ifNoneMatch: '*' });
      return 'committed';
    } catch (e) {
      if (e instanceof PreconditionFailedError) return 'already';
      throw e;
    }
  }

  /**
   * Removes commits: a checkpoint job's, so that its rerun can commit anew, and those of the jobs
   * below it that the rerun replaces (only a leader does this; see WorkflowRunner).
   */
  async deleteCommits(jobIds: readonly string[]): Promise<void> {
    this.fence();
    if (jobIds.length > 0) await this.objects.deleteMany(jobIds.map(commitKey));
  }

  /** A service job's start value, written by the attempt that started it (see WorkflowRunner). */
  async writeServiceStarted(jobId: string, attempt: number, value: Json): Promise<void> {
    await this.objects.put(serviceStartedKey(jobId, attempt), JSON.stringify({ format: 1, value }));
  }

  /** The start value attempt `attempt` of the service published, once it has. */
  async readServiceStarted(jobId: string, attempt: number): Promise<{ value: Json } | undefined> {
    return this.readJson<{ value: Json }>(serviceStartedKey(jobId, attempt));
  }

  /**
   * The leader asks the attempt of a service job to stop its service and end; `keep` false when
   * its host's successors have not all completed (the run fails, or a checkpoint reruns): then it
   * ends without a commit, so that a --restart starts it again rather than replay it as ended.
   */
  async requestServiceStop(jobId: string, attempt: number, keep: boolean): Promise<void> {
    this.fence();
    await this.objects.put(serviceStopKey(jobId, attempt), JSON.stringify({ format: 1, keep }));
  }

  async serviceStopRequested(jobId: string, attempt: number): Promise<{ keep: boolean } | undefined> {
    const r = await this.readJson<{ keep?: boolean }>(serviceStopKey(jobId, attempt));
    return r && { keep: r.keep !== false };
  }

  async readCommit(jobId: string): Promise<JobCommit | undefined> {
    return this.readJson<JobCommit>(commitKey(jobId));
  }

  /** Every commit in the store (for rebuilding the leader's view after a crash). */
  async readAllCommits(
    concurrency = 16,
    skip: ReadonlySet<string> = new Set(),
  ): Promise<Map<string, JobCommit>> {
    const keys: string[] = [];
    for await (const info of this.objects.list(COMMITS_PREFIX)) if (!skip.has(info.key)) keys.push(info.key);
    const out = new Map<string, JobCommit>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const c = await this.readJson<JobCommit>(key);
        if (c) out.set(c.jobId, c);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
    return out;
  }

  /**
   * Every object whose bytes do not match their recorded length and SHA-256, or, for records,
   * that does not parse, and the workflow record if a started workflow lost it (see readWorkflow):
   * what `toil status` lists. Reads every object in the store once.
   */
  async findDamaged(concurrency = 8): Promise<DamagedObject[]> {
    const keys: string[] = [];
    for await (const info of this.objects.list('')) {
      if (!info.key.startsWith(PROBE_PREFIX)) keys.push(info.key);
    }
    const damaged: DamagedObject[] = [];
    let workflow: WorkflowRecord | undefined;
    const commits: JobCommit[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++]!;
        try {
          if (isRecordKey(key)) {
            const record = await this.readJson(key);
            if (key === WORKFLOW_KEY) workflow = record as WorkflowRecord | undefined;
            else if (record && key.startsWith(COMMITS_PREFIX)) commits.push(record as JobCommit);
          } else for await (const _ of await this.objects.getStream(key));
        } catch (e) {
          if (e instanceof CorruptJobStoreError) damaged.push({ key, reason: e.reason });
          else if (!(e instanceof ObjectNotFoundError)) throw e; // deleted while we looked: fine
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
    // A record that is gone is no object to check, yet the store is as damaged (see readWorkflow).
    const evidence = keys.includes(WORKFLOW_KEY) ? undefined : keys.find(writtenAfterWorkflow);
    if (evidence !== undefined && !(await this.objects.head(WORKFLOW_KEY)))
      damaged.push({ key: WORKFLOW_KEY, reason: missingWorkflowReason(evidence) });
    const missing = workflow ? await this.missingFiles(new Set(keys), workflow, commits) : [];
    return [...withUnreadCommits(damaged, missing)].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
    );
  }

  /**
   * The files the records name (see referencedFiles) that the store does not hold: deleted
   * behind its back, so a job that reads one fails. `listed` is what the store held before the
   * records were read; a commit written since may name a file its job deleted (which the leader
   * then deletes), so those are read before a file is called missing.
   */
  private async missingFiles(
    listed: ReadonlySet<string>,
    workflow: WorkflowRecord,
    commits: readonly JobCommit[],
  ): Promise<DamagedObject[]> {
    const missing = [...referencedFiles(workflow, commits)].filter(([id]) => !listed.has(id));
    if (missing.length === 0) return [];
    const deletedSince = new Set<string>();
    for await (const info of this.objects.list(COMMITS_PREFIX)) {
      if (listed.has(info.key)) continue;
      const c = await this.readJson<JobCommit>(info.key).catch(() => undefined);
      for (const id of c?.deletedFiles ?? []) deletedSince.add(id);
    }
    const out: DamagedObject[] = [];
    for (const [id, who] of missing)
      if (!deletedSince.has(id) && !(await this.objects.head(id)))
        out.push({ key: id, reason: `is missing, yet ${who} (a job that reads it fails)` });
    return out;
  }

  async countCommits(): Promise<number> {
    let n = 0;
    for await (const _ of this.objects.list(COMMITS_PREFIX)) n++;
    return n;
  }

  async writeFailureLog(log: FailureLog): Promise<void> {
    this.fence();
    await this.objects.put(failureLogKey(log.jobId, log.attempt), JSON.stringify(log));
  }

  async readFailureLog(jobId: string, attempt: number): Promise<FailureLog | undefined> {
    return this.readJson<FailureLog>(failureLogKey(jobId, attempt));
  }

  async writeOutcome(outcome: RunOutcomeRecord): Promise<void> {
    this.fence();
    await this.objects.put(OUTCOME_KEY, JSON.stringify(outcome));
  }

  async readOutcome(): Promise<RunOutcomeRecord | undefined> {
    return this.readJson<RunOutcomeRecord>(OUTCOME_KEY);
  }

  async writeRunning(record: RunningRecord): Promise<void> {
    this.fence();
    await this.objects.put(RUNNING_KEY, JSON.stringify(record));
  }

  async readRunning(): Promise<RunningRecord | undefined> {
    return this.readJson<RunningRecord>(RUNNING_KEY);
  }

  async deleteRunning(): Promise<void> {
    this.fence();
    await this.objects.delete(RUNNING_KEY);
  }

  /** The generation of the newest leader (-1 before any claimed one). */
  async readGeneration(): Promise<number> {
    return (await this.readJson<LeaderRecord>(LEADER_KEY))?.generation ?? -1;
  }

  /**
   * A new, unused file ID. A file written from a named file carries that name's last component,
   * as Toil's file IDs do, so `toil debug-file` can list and fetch it by name. One a job's attempt
   * writes (`writer`) is kept under that attempt's prefix, so that the files of an attempt that
   * never committed can be found and deleted (see deleteOtherAttemptsFiles).
   */
  newFileId(name?: string, writer?: AttemptRef): string {
    const safe = name === undefined ? undefined : fileNameInId(name);
    // A job id of another shape (a hand-written record) cannot be told from a file's name in a key.
    const prefix = writer && UUID_RE.test(writer.jobId) ? attemptFilesPrefix(writer) : FILES_PREFIX;
    return safe === undefined ? `${prefix}${randomUUID()}` : `${prefix}${randomUUID()}/${safe}`;
  }

  /**
   * Deletes the files every attempt of job `jobId` but `kept` wrote (none but `kept` may be
   * named by the job's commit, which is `kept`'s); how many. One LIST of the job's prefix, so
   * the leader calls it only for a job one of whose attempts ended without a word.
   */
  async deleteOtherAttemptsFiles(jobId: string, kept: number): Promise<number> {
    this.fence();
    const doomed = (await this.filesOfJob(jobId)).filter((f) => f.attempt !== kept).map((f) => f.key);
    await this.deleteFiles(doomed);
    return doomed.length;
  }

  /**
   * Deletes everything job `jobId` left in the store: the files every attempt of it wrote, its
   * failed attempts' logs, its lost attempts' marks, its service records and its ticket; how many
   * of each. For a job no record names any more (one a checkpoint's rerun dropped, once its commit
   * is gone): a file of its named by a commit still in the store would be deleted from under it.
   * The ticket goes last, so that while anything of the job is left `toil debug-job` still finds
   * it and says it was dropped. Four LISTs, a HEAD and the deletions.
   */
  async deleteDroppedJob(jobId: string): Promise<DroppedJobDeleted> {
    this.fence();
    const files = (await this.filesOfJob(jobId)).map((f) => f.key);
    await this.deleteFiles(files);
    const keysUnder = async (prefix: string): Promise<string[]> => {
      const keys: string[] = [];
      for await (const info of this.objects.list(`${prefix}${jobId}/`)) keys.push(info.key);
      return keys;
    };
    const failureLogs = await keysUnder(LOGS_PREFIX);
    const lostMarks = await keysUnder(LOST_PREFIX);
    const serviceRecords = await keysUnder(SERVICES_PREFIX);
    const records = [...failureLogs, ...lostMarks, ...serviceRecords];
    if (records.length > 0) await this.objects.deleteMany(records);
    const ticket = await this.objects.head(ticketKey(jobId));
    if (ticket) await this.objects.delete(ticketKey(jobId));
    return {
      files: files.length,
      tickets: ticket ? 1 : 0,
      failureLogs: failureLogs.length,
      lostMarks: lostMarks.length,
      serviceRecords: serviceRecords.length,
    };
  }

  /** The files the attempts of job `jobId` wrote (under its prefix, see newFileId), with the attempt of each. */
  private async filesOfJob(jobId: string): Promise<{ key: string; attempt: number }[]> {
    // A job id of another shape has no prefix of its own: its files are under files/ itself.
    if (!UUID_RE.test(jobId)) return [];
    const files: { key: string; attempt: number }[] = [];
    for await (const info of this.objects.list(`${FILES_PREFIX}${jobId}/`)) {
      const writer = writerOf(info.key);
      if (writer?.jobId === jobId) files.push({ key: info.key, attempt: writer.attempt });
    }
    return files;
  }

  /**
   * Marks an attempt lost with its node, before its job runs again: the leader deletes its files
   * once the job's commit is another attempt's, and a leader that restarts before it did finds
   * the mark (see lostAttemptMarks).
   */
  async markLostAttempt(mark: LostAttemptMark): Promise<void> {
    this.fence();
    await this.objects.put(lostMarkKey(mark), JSON.stringify({ format: 1, ...mark }));
  }

  /** The marks of lost attempts whose files are still to delete (see markLostAttempt). */
  async lostAttemptMarks(): Promise<LostAttemptMark[]> {
    const marks: LostAttemptMark[] = [];
    for await (const info of this.objects.list(LOST_PREFIX)) {
      const m = /^lost\/([^/]+)\/(\d+)$/.exec(info.key);
      if (m) marks.push({ jobId: m[1]!, attempt: Number(m[2]) });
    }
    return marks;
  }

  /** Forgets the marks of job `jobId`'s lost attempts, once their files are deleted. */
  async forgetLostAttempts(jobId: string): Promise<void> {
    this.fence();
    const keys: string[] = [];
    for await (const info of this.objects.list(`${LOST_PREFIX}${jobId}/`)) keys.push(info.key);
    if (keys.length > 0) await this.objects.deleteMany(keys);
  }

  async writeFile(fileId: string, data: Uint8Array | string | Readable): Promise<void> {
    assertFileId(fileId);
    this.fence();
    if (data instanceof Readable) await this.objects.putStream(fileId, data);
    else await this.objects.put(fileId, data);
  }

  async readFileStream(fileId: string): Promise<Readable> {
    assertFileId(fileId);
    try {
      return await this.objects.getStream(fileId);
    } catch (e) {
      throw e instanceof ObjectNotFoundError ? this.noFile(fileId) : e;
    }
  }

  async readFileBytes(fileId: string): Promise<Buffer> {
    assertFileId(fileId);
    const obj = await this.objects.get(fileId);
    if (!obj) throw this.noFile(fileId);
    return obj.body;
  }

  private noFile(fileId: string): ToilError {
    return new ToilError(
      'FILE_NOT_FOUND',
      `no file ${fileId} in job store ${this.locator} (a job that ran before deleted it with deleteGlobalFile, or it was never written)`,
    );
  }

  /** The file's size in bytes, as recorded with it (one HEAD). */
  async fileSize(fileId: string): Promise<number> {
    assertFileId(fileId);
    const info = await this.objects.head(fileId);
    if (!info) throw this.noFile(fileId);
    return info.size;
  }

  async fileExists(fileId: string): Promise<boolean> {
    assertFileId(fileId);
    return (await this.objects.head(fileId)) !== undefined;
  }

  async deleteFiles(fileIds: readonly string[]): Promise<void> {
    for (const id of fileIds) assertFileId(id);
    this.fence();
    if (fileIds.length > 0) await this.objects.deleteMany(fileIds);
  }

  /**
   * The Mesos framework id this workflow's leader subscribed with, so a leader started with
   * --restart re-subscribes as the same framework and its running tasks are not lost.
   */
  async readFrameworkId(): Promise<string | undefined> {
    return (await this.readMesosFramework())?.frameworkId;
  }

  /**
   * The framework id with the master the leader subscribed at (`toil kill --force` tears the
   * framework down there). Records written before the master was kept name none.
   */
  async readMesosFramework(): Promise<{ frameworkId: string; master?: string } | undefined> {
    const record = await this.readJson<{ format: 1; frameworkId: string; master?: string }>(FRAMEWORK_ID_KEY);
    if (!record) return undefined;
    return {
      frameworkId: record.frameworkId,
      ...(typeof record.master === 'string' ? { master: record.master } : {}),
    };
  }

  /** Keeps (or, with undefined, forgets) the Mesos framework id and its master; see readFrameworkId. */
  async writeFrameworkId(frameworkId: string | undefined, master?: string): Promise<void> {
    this.fence();
    if (frameworkId === undefined) await this.objects.delete(FRAMEWORK_ID_KEY);
    else
      await this.objects.put(
        FRAMEWORK_ID_KEY,
        JSON.stringify({ format: 1, frameworkId, ...(master !== undefined ? { master } : {}) }),
      );
  }

  /**
   * That this workflow's jobs run in a Slurm cluster, and which (its slurm.conf, when not the
   * system's): `toil kill --force` cancels there the jobs of a leader it killed.
   */
  async readSlurmUse(): Promise<{ conf?: string } | undefined> {
    const record = await this.readJson<{ format: 1; conf?: string }>(SLURM_KEY);
    if (!record) return undefined;
    return typeof record.conf === 'string' ? { conf: record.conf } : {};
  }

  /** Keeps the Slurm cluster the leader submits to; see readSlurmUse. */
  async writeSlurmUse(use: { conf?: string }): Promise<void> {
    this.fence();
    await this.objects.put(
      SLURM_KEY,
      JSON.stringify({ format: 1, ...(use.conf !== undefined ? { conf: use.conf } : {}) }),
    );
  }

  private async readJson<T>(key: string): Promise<T | undefined> {
    const advice = recordAdvice(key);
    const obj = await this.objects.get(key).catch((e: unknown) => {
      // Bytes that fail their length or SHA-256 check: the same record, damaged, the same advice.
      if (advice === undefined || !(e instanceof CorruptJobStoreError) || e.key !== key) throw e;
      throw new CorruptJobStoreError(this.locator, e.reason, key, advice);
    });
    return obj && parseJson<T>(this.locator, key, obj.body);
  }
}

/** One attempt of one job. */
export interface AttemptRef {
  readonly jobId: string;
  readonly attempt: number;
}

/** An attempt lost with its node, its files not yet deleted (`lost/<jobId>/<attempt>`). */
export type LostAttemptMark = AttemptRef;

/** How many objects of each kind deleteDroppedJob deleted. */
export interface DroppedJobDeleted {
  readonly files: number;
  /** 0 for a job never issued, 1 otherwise. */
  readonly tickets: number;
  readonly failureLogs: number;
  readonly lostMarks: number;
  /** A service's start values and the leader's stop requests, over its attempts. */
  readonly serviceRecords: number;
}

export interface DamagedObject {
  readonly key: string;
  readonly reason: string;
}

/** Keys that hold JSON records (as opposed to user files and the module). */
function isRecordKey(key: string): boolean {
  return (
    key === WORKFLOW_KEY ||
    key === CURRENT_MODULE_KEY ||
    key === LEADER_KEY ||
    key === FRAMEWORK_ID_KEY ||
    key === SLURM_KEY ||
    key === OUTCOME_KEY ||
    key === RUNNING_KEY ||
    key.startsWith(COMMITS_PREFIX) ||
    key.startsWith(TICKETS_PREFIX) ||
    key.startsWith(LOGS_PREFIX) ||
    key.startsWith(SERVICES_PREFIX) ||
    key.startsWith(LOST_PREFIX)
  );
}

export const WORKFLOW_KEY = 'workflow.json';
export const MODULE_KEY = 'module.mjs';
export const CURRENT_MODULE_KEY = 'module-current.json';
export { LEADER_KEY };
export const FRAMEWORK_ID_KEY = 'mesos-framework.json';
export const SLURM_KEY = 'slurm.json';
export const OUTCOME_KEY = 'outcome.json';
export const RUNNING_KEY = 'running.json';
export const COMMITS_PREFIX = 'commits/';
/** Where the leader's tickets are kept (ticketKey); the logs of failed attempts are under LOGS_PREFIX. */
export const TICKETS_PREFIX = 'jobs/';
export const LOGS_PREFIX = 'logs/';
export const SERVICES_PREFIX = 'services/';
export const LOST_PREFIX = 'lost/';
export const FILES_PREFIX = 'files/';

/**
 * What becomes of a damaged record of a service's run (its start value, the stop request): the
 * leader starts a service again under a new attempt, whose records are new keys, so a later run
 * never reads an earlier one's; restoring it, or cleaning the store, would throw progress away.
 */
export const SERVICE_RECORD_REMEDY =
  "nothing to restore: only the run of the service it belongs to reads it (that run fails, and the successors of the service's host not started yet do not run), and the next run ('toil run WORKFLOW JOBSTORE --restart') starts the service again with records of its own";

/**
 * What a leader writes only once the workflow record is there (a job's ticket, commit or failure
 * log, a run's outcome, a restart's module pointer); the lease, the module and the files start()
 * writes come before it, so a store interrupted while starting holds none of these.
 */
const AFTER_WORKFLOW_PREFIXES = [COMMITS_PREFIX, TICKETS_PREFIX, LOGS_PREFIX] as const;
const AFTER_WORKFLOW_KEYS = [OUTCOME_KEY, CURRENT_MODULE_KEY] as const;

function writtenAfterWorkflow(key: string): boolean {
  return (
    AFTER_WORKFLOW_PREFIXES.some((p) => key.startsWith(p)) ||
    (AFTER_WORKFLOW_KEYS as readonly string[]).includes(key)
  );
}

/**
 * `damaged` and the `missing` files, unless a commit is among the damaged: a commit says which
 * files its job deleted, so while one cannot be read, a file the workflow names and the store does
 * not hold may be one its job deleted on purpose, and calling it missing would send the user to
 * restore what needs no restoring. The unread commit says so instead, and its restore tells.
 */
function withUnreadCommits(damaged: DamagedObject[], missing: DamagedObject[]): DamagedObject[] {
  const unread = damaged.some((d) => d.key.startsWith(COMMITS_PREFIX));
  if (!unread || missing.length === 0) return [...damaged, ...missing];
  const files = missing.length === 1 ? '1 file' : `${missing.length} files`;
  const note = `; what its job deleted cannot be told, so ${files} the workflow names that the store does not hold ${missing.length === 1 ? 'is' : 'are'} not called missing until it is restored`;
  return damaged.map((d) => (d.key.startsWith(COMMITS_PREFIX) ? { key: d.key, reason: d.reason + note } : d));
}

function missingWorkflowReason(evidence: string): string {
  return `is missing, yet the store holds ${evidence}, which only a workflow that started writes`;
}

/** Where a service job's attempt and the leader signal each other (its start, the stop request). */
function serviceKey(jobId: string, attempt: number): string {
  return `${SERVICES_PREFIX}${jobId}/${attempt}`;
}

function serviceStartedKey(jobId: string, attempt: number): string {
  return `${serviceKey(jobId, attempt)}/${SERVICE_STARTED}`;
}

function serviceStopKey(jobId: string, attempt: number): string {
  return `${serviceKey(jobId, attempt)}/${SERVICE_STOP}`;
}

const SERVICE_STARTED = 'started';
const SERVICE_STOP = 'stop';

/** Which record of a service's run `key` is, if it is one. */
function serviceRecordOf(key: string): typeof SERVICE_STARTED | typeof SERVICE_STOP | undefined {
  if (!key.startsWith(SERVICES_PREFIX)) return undefined;
  const last = key.slice(key.lastIndexOf('/') + 1);
  return last === SERVICE_STARTED || last === SERVICE_STOP ? last : undefined;
}

export function ticketKey(jobId: string): string {
  return `${TICKETS_PREFIX}${jobId}`;
}

export function commitKey(jobId: string): string {
  return `${COMMITS_PREFIX}${jobId}`;
}

export function failureLogKey(jobId: string, attempt: number): string {
  return `${LOGS_PREFIX}${jobId}/${attempt}`;
}

function lostMarkKey(mark: LostAttemptMark): string {
  return `${LOST_PREFIX}${mark.jobId}/${mark.attempt}`;
}

/** Where the files attempt `attempt` of job `jobId` writes are kept (see newFileId). */
function attemptFilesPrefix(writer: AttemptRef): string {
  return `${FILES_PREFIX}${writer.jobId}/${writer.attempt}/`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What is wrong with the record at `key` that parsed as `v`, for the records read field by field. */
function recordShapeProblem(key: string, v: Fields): string | undefined {
  if (key.startsWith(COMMITS_PREFIX)) return commitShapeProblem(v, key.slice(COMMITS_PREFIX.length));
  if (key.startsWith(LOGS_PREFIX)) return failureLogShapeProblem(v);
  if (key.startsWith(TICKETS_PREFIX)) return ticketShapeProblem(v, key.slice(TICKETS_PREFIX.length));
  if (key === WORKFLOW_KEY) return workflowShapeProblem(v);
  if (key === OUTCOME_KEY) return outcomeShapeProblem(v);
  if (key === RUNNING_KEY) return runningShapeProblem(v);
  if (key === CURRENT_MODULE_KEY) return currentModuleShapeProblem(v);
  if (key === FRAMEWORK_ID_KEY) return mesosFrameworkShapeProblem(v);
  if (key === SLURM_KEY) return slurmUseShapeProblem(v);
  if (key.startsWith(LOST_PREFIX)) return lostMarkShapeProblem(v, key.slice(LOST_PREFIX.length));
  const service = serviceRecordOf(key);
  if (service === SERVICE_STARTED) return serviceStartedShapeProblem(v);
  if (service === SERVICE_STOP) return serviceStopShapeProblem(v);
  return undefined;
}

/** What to do of damaged record `key`, when it is not the usual restore or clean (see CorruptJobStoreError). */
function recordAdvice(key: string): string | undefined {
  return key.startsWith(SERVICES_PREFIX) ? SERVICE_RECORD_REMEDY : undefined;
}

function parseJson<T>(locator: string, key: string, body: Buffer): T {
  let v: Fields;
  try {
    v = JSON.parse(body.toString('utf8')) as Fields;
    if (typeof v !== 'object' || v === null || v.format !== 1) throw new Error('unknown record format');
  } catch (e) {
    throw new CorruptJobStoreError(
      locator,
      `does not parse (${(e as Error).message})`,
      key,
      recordAdvice(key),
    );
  }
  const problem = recordShapeProblem(key, v);
  if (problem !== undefined) throw new CorruptJobStoreError(locator, problem, key, recordAdvice(key));
  return v as T;
}

const FILE_NAME_MAX = 100;

/**
 * The part of a file's name its ID keeps: the last path component, with anything but letters,
 * digits, '.', '_' and '-' made '_' (safe as an S3 key and a file name everywhere), at most 100
 * characters (the end kept, for the extension); none for an empty name or one of dots alone.
 */
export function fileNameInId(name: string): string | undefined {
  const last = name.split(/[\\/]/).filter(Boolean).pop() ?? '';
  const safe = last.replace(/[^A-Za-z0-9._-]/g, '_').slice(-FILE_NAME_MAX);
  return /^\.*$/.test(safe) ? undefined : safe;
}

/** The name a file ID carries, if it was written from a named file. */
export function fileNameOf(fileId: string): string | undefined {
  const m = /^files\/(?:[0-9a-f-]{36}\/\d+\/)?[0-9a-f-]{36}\/([^/]+)$/.exec(fileId);
  return m?.[1];
}

/**
 * The UUID that makes file ID `fileId` unique: the segment before its name, if it has one, else
 * its last; not the job's ID in front of a job's file, which every file the job wrote shares.
 */
export function fileUuidOf(fileId: string): string | undefined {
  return /^files\/(?:[0-9a-f-]{36}\/\d+\/)?([0-9a-f-]{36})(?:\/[^/]+)?$/.exec(fileId)?.[1];
}

function assertFileId(fileId: string): void {
  if (!isFileId(fileId)) {
    throw new ToilError('BAD_FILE_ID', `'${fileId}' is not a file ID of this job store`, {
      disposition: 'fatal',
    });
  }
}
