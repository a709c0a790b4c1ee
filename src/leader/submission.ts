import { extname, isAbsolute } from 'node:path';
import { z } from 'zod';
import { UserInputError } from '../common/errors.js';
import { describeZodIssues } from '../common/configErrors.js';
import { parseLocator } from '../jobstore/locator.js';
import { examineWorkflowFile, type WorkflowFileAccess } from './workflowFileAccess.js';

export interface JobDefaults {
  readonly cores: number;
  readonly memory: number;
  readonly disk: number;
}

/** Toil's --defaultCores, --defaultMemory and --defaultDisk: what a job declaring nothing gets. */
export const TOIL_JOB_DEFAULTS: JobDefaults = { cores: 1, memory: 2 * 2 ** 30, disk: 2 * 2 ** 30 };

/**
 * No path holds a NUL: the file system calls refuse one with Node's own words, after the 202 for a
 * job store (the run failed with "The argument 'path' must be … without null bytes").
 */
const withoutNul = (s: string): boolean => !s.includes('\0');
const NUL_REFUSED = 'expected no NUL character in it';

/** What `POST /workflows` takes (the body `toil run … --leader URL` sends). */
const SubmissionBodySchema = z
  .object({
    workflowFile: z
      .string()
      .min(1, 'expected the absolute path of a workflow file on the leader')
      .refine(withoutNul, NUL_REFUSED),
    jobStore: z
      .string()
      .min(1, 'expected a job store locator: file:PATH or aws:REGION:NAME')
      .refine(withoutNul, NUL_REFUSED),
    args: z.array(z.string().max(100_000)).max(10_000).default([]),
    defaultPreemptable: z.boolean().optional(),
    /** `toil run`'s --retryCount, --preemptableRetries ('unlimited': --enableUnlimitedPreemptibleRetries) and --clean. */
    retryCount: z.number().int().min(0).optional(),
    preemptableRetries: z.union([z.number().int().min(0), z.literal('unlimited')]).optional(),
    clean: z.enum(['always', 'onSuccess', 'onError', 'never']).optional(),
    /** `toil run`'s --servicePollingInterval and --deadlockWait, in ms. */
    servicePollMs: z.number().positive().optional(),
    deadlockWaitMs: z.number().positive().optional(),
    /** `toil run`'s --maxJobDuration, in ms. */
    maxJobDurationMs: z.number().positive().optional(),
    /** `toil run`'s --stopOnFirstFailure. */
    stopOnFirstFailure: z.boolean().optional(),
    /** `toil run`'s --maxServiceJobs and --maxPreemptableServiceJobs. */
    maxServiceJobs: z.number().int().min(0).optional(),
    maxPreemptableServiceJobs: z.number().int().min(0).optional(),
    /** `toil run`'s --maxJobs (its 0, no limit, is not sent). */
    maxJobs: z.number().int().min(1).optional(),
    /** `toil run`'s --maxCores, --maxMemory (bytes) and --maxDisk (bytes): the most one job may ask for. */
    maxCores: z.number().positive().optional(),
    maxMemory: z.number().int().min(1).optional(),
    maxDisk: z.number().int().min(1).optional(),
    /**
     * `toil run`'s --defaultCores, --defaultMemory (bytes) and --defaultDisk (bytes): what a job
     * that declares none gets. Absent: Toil's defaults (1 core, 2 GiB, 2 GiB).
     */
    defaults: z
      .object({
        cores: z.number().positive(),
        memory: z.number().int().positive(),
        disk: z.number().int().positive(),
      })
      .strict()
      .optional(),
    /** `toil run`'s --setEnv: variables set in each job's environment. */
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a variable name'),
        z.string().max(100_000),
      )
      .optional(),
  })
  .strict();

export type SubmissionBody = z.infer<typeof SubmissionBodySchema>;

/** Workflow modules the bundler takes; anything else (a config file, /etc/hostname) is refused. */
const WORKFLOW_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

/** A submission the leader refuses (400): the message names the field and what was expected. */
export class BadSubmissionError extends UserInputError {
  constructor(message: string) {
    super('BAD_SUBMISSION', message);
  }
}

/**
 * Checks a submission before the leader takes it (so a bad one is a 400 now, not a failed run
 * later): the body's shape, the workflow file (an absolute path to a readable regular file with a
 * module's extension, on the leader's own file system) and the job store locator (it parses; a
 * `file:` one is absolute, since the leader resolves nothing against the client's directory).
 * The workflow file's file system is asked off the event loop and for a bounded time (`files`).
 */
export async function validateSubmission(
  body: unknown,
  files: WorkflowFileAccess = {},
): Promise<SubmissionBody> {
  const parsed = SubmissionBodySchema.safeParse(body ?? {});
  if (!parsed.success)
    throw new BadSubmissionError(
      `expected JSON {workflowFile, jobStore, args?, defaultPreemptable?, retryCount?, preemptableRetries?, clean?, servicePollMs?, deadlockWaitMs?, maxJobDurationMs?, stopOnFirstFailure?, maxServiceJobs?, maxPreemptableServiceJobs?, maxJobs?, maxCores?, maxMemory?, maxDisk?, defaults?, env?}: ${describeZodIssues(parsed.error.issues, [], SubmissionBodySchema).join('; ')}`,
    );
  const s = parsed.data;
  await checkWorkflowFile(s.workflowFile, files);
  checkJobStore(s.jobStore);
  return s;
}

async function checkWorkflowFile(path: string, files: WorkflowFileAccess): Promise<void> {
  const what = `workflowFile ${path}`;
  if (!isAbsolute(path))
    throw new BadSubmissionError(`${what}: expected an absolute path on the leader's machine`);
  if (!WORKFLOW_EXTENSIONS.has(extname(path)))
    throw new BadSubmissionError(
      `${what}: expected a workflow module (${[...WORKFLOW_EXTENSIONS].join(', ')})`,
    );
  const facts = await examineWorkflowFile(path, files);
  if ('statError' in facts)
    throw new BadSubmissionError(
      `${what}: the leader cannot read it (${facts.statError}); it reads workflow files from its own file system: ` +
        'copy the file to the leader (toil rsync-cluster) and submit that path',
    );
  if (facts.kind !== 'file')
    throw new BadSubmissionError(
      `${what}: is ${facts.kind === 'directory' ? 'a directory' : 'not a regular file'}; expected a workflow file`,
    );
  if (facts.readError !== undefined)
    throw new BadSubmissionError(`${what}: the leader cannot read it (${facts.readError})`);
}

function checkJobStore(text: string): void {
  let locator;
  try {
    locator = parseLocator(text, '/');
  } catch (e) {
    throw new BadSubmissionError(`jobStore: ${(e as Error).message}`);
  }
  if (locator.kind === 'file' && !isAbsolute(locator.text.replace(/^file:/, '')))
    throw new BadSubmissionError(
      `jobStore ${text}: expected an absolute path (file:/PATH); the leader does not know the client's directory`,
    );
}
