import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import { ToilError, UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { JobStoreExistsError } from '../jobstore/errors.js';
import type { Json, ResolvedRequirements, RunOutcomeRecord, WorkflowRecord } from '../jobstore/jobRecords.js';
import { CorruptJobStoreError, type JobStore } from '../jobstore/jobStore.js';
import { isJobDefinition, isWorkflowDefinition } from '../workflow/api.js';
import { bundleWorkflow } from '../workflow/bundle.js';
import { JobDeclarationError } from '../workflow/jobBuilder.js';
import { loadWorkflowFile, loadWorkflowModule, type LoadedWorkflow } from '../workflow/moduleLoader.js';
import { firstLine, userStack } from '../workflow/jobError.js';
import { LeaderWorkflowContext } from '../workflow/workflowContext.js';
import type { BatchSystem } from './batchSystem.js';
import { Leader, type FailedJob, type JobLostEvent, type LeaderProgress } from './leader.js';

export type CleanPolicy = 'always' | 'onSuccess' | 'onError' | 'never';

export interface RunWorkflowOptions {
  readonly store: JobStore;
  readonly workflowFile: string;
  readonly args: readonly string[];
  readonly restart: boolean;
  readonly clean: CleanPolicy;
  readonly retryCount: number;
  readonly defaults: ResolvedRequirements;
  /** Spot losses of a job before it runs on on-demand (default 3; Infinity: unlimited). */
  readonly preemptableRetries?: number;
  readonly onJobLost?: (event: JobLostEvent) => void;
  readonly batchSystem: BatchSystem;
  readonly clock: Clock;
  readonly log: Logger;
  readonly workerCommand: (locator: string, jobId: string, attempt: number) => readonly string[];
  /** Local scratch space for the leader (module cache). */
  readonly workDir: string;
  readonly onProgress?: (progress: LeaderProgress) => void;
  /** Cancels the run (the leader stops issuing; the run rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** `workflowFile` already bundled (by a caller that loaded it first); bundled here otherwise. */
  readonly bundle?: Uint8Array;
}

export type RunWorkflowOutcome =
  | {
      readonly status: 'succeeded';
      readonly returnValue: Json;
      readonly jobsRun: number;
      readonly replayed: number;
      readonly elapsedMs: number;
    }
  | {
      readonly status: 'failed';
      readonly failures: readonly FailedJob[];
      readonly jobsRun: number;
      readonly replayed: number;
      readonly elapsedMs: number;
    };

/**
 * `toil run`: starts a new workflow in an empty job store (bundling the workflow module into it and
 * calling its `start`), or resumes one (`--restart`), runs it to the end with a Leader, calls the
 * workflow's `finish` on success, and cleans the job store as `--clean` says.
 */
export async function runWorkflow(o: RunWorkflowOptions): Promise<RunWorkflowOutcome> {
  const log = o.log.child({ component: 'run' });
  const started = o.clock.now();
  await assertWorkflowFile(o.workflowFile);
  let existing: WorkflowRecord | undefined;
  if (o.restart) {
    await o.store.assertExists('drop --restart to start a new workflow');
    existing = await o.store.readWorkflow();
    // A start that was interrupted left a store without a workflow: --restart starts it now.
    if (!existing)
      log.warn({ jobStore: o.store.locator }, 'the job store holds no workflow yet; starting it');
  }
  const { workflow, loaded } = existing
    ? {
        workflow: existing,
        loaded: await loadWorkflowModule(o.store, existing.module, join(o.workDir, 'toil-ts-modules')),
      }
    : await startNewWorkflow(o, o.restart);
  const resumed = existing !== undefined;
  for (const spec of workflow.jobs) {
    if (!loaded.jobs.has(spec.name) || !isJobDefinition(loaded.jobs.get(spec.name))) {
      throw new CorruptJobStoreError(o.store.locator, `the workflow module defines no job '${spec.name}'`);
    }
  }
  const generation = await o.store.claimGeneration();
  const commits = resumed ? await o.store.readAllCommits() : new Map();
  log.info(
    { workflowId: workflow.workflowId, generation, jobStore: o.store.locator },
    resumed ? 'resuming workflow' : 'starting workflow',
  );
  const leader = new Leader({
    store: o.store,
    batchSystem: o.batchSystem,
    clock: o.clock,
    log: o.log,
    workerCommand: o.workerCommand,
    retryCount: o.retryCount,
    defaults: o.defaults,
    ...(o.preemptableRetries !== undefined ? { preemptableRetries: o.preemptableRetries } : {}),
    ...(o.onJobLost ? { onJobLost: o.onJobLost } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  let result;
  try {
    result = await leader.run(workflow, generation, commits);
  } finally {
    await o.batchSystem.shutdown();
  }
  const elapsedMs = o.clock.now() - started;
  if (result.status === 'succeeded') {
    const wf = loaded.workflow;
    if (wf?.finish)
      await wf.finish(new LeaderWorkflowContext(o.store, o.args, resumed, o.log), result.returnValue);
    if (o.clean === 'always' || o.clean === 'onSuccess') await o.store.destroy();
    else await o.store.writeOutcome(outcomeRecord(generation, o.clock.now(), []));
    return { ...result, elapsedMs };
  }
  if (o.clean === 'always' || o.clean === 'onError') await o.store.destroy();
  else await o.store.writeOutcome(outcomeRecord(generation, o.clock.now(), result.failures));
  return { ...result, elapsedMs };
}

function outcomeRecord(generation: number, at: number, failures: readonly FailedJob[]): RunOutcomeRecord {
  return {
    format: 1,
    generation,
    status: failures.length > 0 ? 'failed' : 'succeeded',
    at,
    failedJobs: failures.map((f) => ({ jobId: f.jobId, name: f.name, error: firstLine(f.reason) })),
  };
}

/**
 * Bundles and loads the workflow, creates the job store (unless `storeExists`: a --restart of a
 * store whose start was interrupted) and calls the workflow's `start`. A workflow that refuses to
 * start (its arguments, most often) leaves no job store behind, so the corrected command runs as
 * typed.
 */
async function startNewWorkflow(
  o: RunWorkflowOptions,
  storeExists: boolean,
): Promise<{ workflow: WorkflowRecord; loaded: LoadedWorkflow }> {
  // Checked before bundling so the mistake is reported at once; create() checks again.
  if (!storeExists && (await o.store.exists())) throw new JobStoreExistsError(o.store.locator);
  const bundle = o.bundle ?? (await bundleWorkflow(o.workflowFile));
  const loaded = await loadLocalBundle(bundle, o.workDir);
  const definition = loaded.workflow;
  if (!isWorkflowDefinition(definition)) {
    throw new UserInputError(
      'WORKFLOW_NO_DEFAULT',
      `workflow ${o.workflowFile} has no workflow as its default export (expected 'export default defineWorkflow({ start(ctx) { ... } })')`,
      { file: o.workflowFile },
    );
  }
  if (!storeExists) await o.store.create();
  try {
    const moduleRef = await o.store.putModule(bundle);
    const ctx = new LeaderWorkflowContext(o.store, o.args, false, o.log);
    let root;
    try {
      root = await definition.start(ctx);
    } catch (e) {
      throw startFailure(o.workflowFile, o.args, e);
    }
    const declared = ctx.declared();
    if (!declared.rootJobId || root?.jobId !== declared.rootJobId) {
      throw new UserInputError(
        'WORKFLOW_NO_ROOT',
        `workflow ${o.workflowFile}: start() must return the job made with ctx.root(job, input)`,
      );
    }
    const workflow: WorkflowRecord = {
      format: 1,
      workflowId: randomUUID(),
      createdAt: o.clock.now(),
      workflowFile: o.workflowFile,
      rootJobId: declared.rootJobId,
      jobs: declared.jobs,
      module: moduleRef,
      args: [...o.args],
      options: { retryCount: o.retryCount, defaults: o.defaults },
    };
    await o.store.writeWorkflow(workflow);
    return { workflow, loaded };
  } catch (e) {
    if (!storeExists) await o.store.destroy().catch(() => undefined);
    throw e;
  }
}

/**
 * The workflow's `start` threw: the user's workflow refused its arguments, or has a bug. One line
 * naming the workflow, the error's message and where in the user's source it was thrown; the
 * flags of `args` that the message names are kept in `details.flags` (for a "did you mean").
 */
export class WorkflowStartError extends UserInputError {
  constructor(file: string, message: string, flags: readonly string[]) {
    super('WORKFLOW_START', `workflow ${file} did not start: ${message}`, { file, flags: [...flags] });
  }
}

function startFailure(file: string, args: readonly string[], e: unknown): Error {
  if (e instanceof UserInputError) return e;
  if (e instanceof JobDeclarationError)
    return new UserInputError('WORKFLOW_START', `workflow ${file}: ${e.message}`);
  const text = userStack(e);
  const first = firstLine(text);
  const flags = args.map((a) => a.split('=')[0]!).filter((a) => /^--?[A-Za-z]/.test(a) && first.includes(a));
  const where = /^\s+at (?:.*\()?(\/[^)]*?:\d+:\d+)\)?$/m.exec(text)?.[1];
  // An argument error names the flag and needs neither the error's class nor a location; a bug
  // in start() needs both.
  const located =
    flags.length > 0
      ? first.replace(/^\w*Error(?: \[\w+\])?: /, '')
      : `${first.replace(/^Error: /, '')}${where !== undefined ? ` (at ${where})` : ''}`;
  return new WorkflowStartError(file, located, flags);
}

async function assertWorkflowFile(file: string): Promise<void> {
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) {
    throw new UserInputError(
      'WORKFLOW_FILE_MISSING',
      `workflow file ${file} does not exist (expected a .ts or .js workflow module)`,
      {
        file,
      },
    );
  }
}

/** Loads a freshly bundled module in this process (for `start`). */
async function loadLocalBundle(bundle: Uint8Array, workDir: string): Promise<LoadedWorkflow> {
  await mkdir(workDir, { recursive: true });
  const dir = await mkdtemp(join(workDir, 'toil-ts-bundle-'));
  const path = join(dir, 'workflow.mjs');
  await writeFile(path, bundle);
  try {
    return await loadWorkflowFile(path);
  } catch (e) {
    throw new ToilError('WORKFLOW_LOAD', `the workflow module failed to load: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    // Imported modules stay in memory; the file is not needed any more.
    await rm(dir, { recursive: true, force: true });
  }
}
