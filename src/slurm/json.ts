/**
 * The parts of `squeue --json` and `sinfo --json` (Slurm's OpenAPI data, v0.0.38 on 22.05) the
 * batch system reads. Parsed with zod once, here; fields we do not read are ignored, so newer
 * Slurm releases that add fields still parse.
 */
import { z } from 'zod';
import { ToilError } from '../common/errors.js';

/** A job's state, as Slurm names it (PENDING, RUNNING, COMPLETED, NODE_FAIL, …). */
export interface SlurmJob {
  readonly jobId: number;
  readonly name: string;
  readonly state: string;
  readonly reason: string;
  /** Slurm's words for the reason, when it has more to say (`Nodes required for job are DOWN, …`). */
  readonly reasonDescription: string;
  /** The node list it ran on ('' while pending). */
  readonly nodes: string;
  /** The exit status of the batch script (0–255), when it ended by exiting. */
  readonly exitCode?: number;
  /** The signal that ended it, when it ended by one. */
  readonly signal?: number;
  readonly comment: string;
  readonly features: string;
  /** The job's time limit in minutes, when it has one (none: unlimited, or not said). */
  readonly timeLimitMinutes?: number;
  /** Seconds since the epoch (0 when not yet). */
  readonly submitTime: number;
  readonly startTime: number;
  readonly endTime: number;
}

export interface SlurmNode {
  readonly name: string;
  readonly address: string;
  readonly hostname: string;
  /** The base state, lower case as sinfo writes it: idle, mixed, allocated, down, future, … */
  readonly state: string;
  /** DRAIN, NOT_RESPONDING, CLOUD, POWERED_DOWN, … */
  readonly flags: readonly string[];
  readonly features: readonly string[];
  readonly cpus: number;
  readonly memoryMb: number;
  readonly tmpDiskMb: number;
  readonly allocCpus: number;
  readonly allocMemoryMb: number;
  readonly reason: string;
}

const squeueSchema = z.object({
  jobs: z.array(
    z.looseObject({
      job_id: z.number(),
      name: z.string().default(''),
      job_state: z.string(),
      state_reason: z.string().default(''),
      state_description: z.string().default(''),
      nodes: z.string().default(''),
      exit_code: z.number().optional(),
      comment: z.string().default(''),
      features: z.string().default(''),
      time_limit: z.number().nullish(),
      submit_time: z.number().default(0),
      start_time: z.number().default(0),
      end_time: z.number().default(0),
    }),
  ),
});

const sinfoSchema = z.object({
  nodes: z.array(
    z.looseObject({
      name: z.string(),
      address: z.string().default(''),
      hostname: z.string().default(''),
      state: z.string(),
      state_flags: z.array(z.string()).default([]),
      features: z.string().default(''),
      cpus: z.number().default(0),
      real_memory: z.number().default(0),
      temporary_disk: z.number().default(0),
      alloc_cpus: z.number().default(0),
      alloc_memory: z.number().default(0),
      reason: z.string().default(''),
    }),
  ),
});

/**
 * The errors Slurm's JSON reply carries. squeue and sinfo exit 0 with an empty list and an
 * error here when the controller does not answer (stopped, restarting, the network down).
 */
const replyErrorsSchema = z.object({
  errors: z
    .array(
      z.looseObject({
        description: z.string().optional(),
        error: z.string().optional(),
        source: z.string().optional(),
      }),
    )
    .catch([]),
});

function parse<T>(tool: string, text: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ToilError('SLURM_BAD_REPLY', `${tool} --json printed something that is not JSON`, { cause: e });
  }
  // Read as a list, that empty list said every job had left the queue (and every node the
  // cluster): two such polls reported each running job lost and ran it again beside itself.
  const errors = replyErrorsSchema.safeParse(raw).data?.errors ?? [];
  if (errors.length > 0) {
    const said = errors
      .map((e) => [e.source, e.description, e.error].filter((w) => w !== undefined && w !== '').join(': '))
      .join('; ');
    throw new ToilError(
      'SLURM_COMMAND_FAILED',
      `${tool} --json failed: Slurm reported ${said || 'an error'} (the controller may not be answering)`,
      { disposition: 'retry', details: { command: `${tool} --json` } },
    );
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    throw new ToilError(
      'SLURM_BAD_REPLY',
      `${tool} --json: unexpected shape: ${r.error.issues[0]?.message ?? ''}`,
    );
  }
  return r.data;
}

/** Slurm's exit_code is the wait status: exit status in bits 8–15, the signal in bits 0–6. */
function exitOf(status: number | undefined): { exitCode?: number; signal?: number } {
  if (status === undefined) return {};
  const signal = status & 0x7f;
  return signal !== 0 ? { signal } : { exitCode: (status >> 8) & 0xff };
}

export function parseSqueueJson(text: string): SlurmJob[] {
  return parse('squeue', text, squeueSchema).jobs.map((j) => ({
    jobId: j.job_id,
    name: j.name,
    state: j.job_state,
    reason: j.state_reason,
    reasonDescription: j.state_description,
    nodes: j.nodes,
    ...exitOf(j.exit_code),
    comment: j.comment,
    features: j.features,
    // Slurm's INFINITE (0xfffffffe) and NO_VAL (0xffffffff) are no limit.
    ...(typeof j.time_limit === 'number' && j.time_limit > 0 && j.time_limit < 0xfffffffe
      ? { timeLimitMinutes: j.time_limit }
      : {}),
    submitTime: j.submit_time,
    startTime: j.start_time,
    endTime: j.end_time,
  }));
}

function featureList(s: string): string[] {
  return s
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '' && f !== '(null)');
}

export function parseSinfoJson(text: string): SlurmNode[] {
  const seen = new Map<string, SlurmNode>();
  // sinfo lists a node once per partition it is in.
  for (const n of parse('sinfo', text, sinfoSchema).nodes) {
    if (seen.has(n.name)) continue;
    seen.set(n.name, {
      name: n.name,
      address: n.address,
      hostname: n.hostname,
      state: n.state.toLowerCase(),
      flags: n.state_flags.map((f) => f.toUpperCase()),
      features: featureList(n.features),
      cpus: n.cpus,
      memoryMb: n.real_memory,
      tmpDiskMb: n.temporary_disk,
      allocCpus: n.alloc_cpus,
      allocMemoryMb: n.alloc_memory,
      reason: n.reason,
    });
  }
  return [...seen.values()];
}
