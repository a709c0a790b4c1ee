/**
 * One attempt as a Slurm batch job: the `sbatch` flags and the script (pure, no I/O).
 *
 * - One task on one node with `--cpus-per-task` = cores rounded up (Slurm allocates whole CPUs),
 *   `--mem` and `--tmp` in MiB rounded up, at least 1.
 * - `--time` from the job's declared walltime (minutes, rounded up): Slurm ends it at that limit
 *   (TIMEOUT, a failure), as Toil's Slurm batch system does. No walltime: the partition's limit.
 * - A non-preemptable job is constrained to the on-demand feature, so it never runs on a spot node.
 *   A preemptable job has no constraint: it may run anywhere, and spot nodes come first because
 *   they are registered with a lower Weight (Slurm fills the lowest weight first).
 * - `--no-requeue`: when its node fails, Slurm ends it as NODE_FAIL instead of quietly running it
 *   again; the leader re-issues it as a lost job (no retry spent) and knows it did.
 * - `--exclude` names the nodes the scaler's keep-off hints keep the job's request off when it is
 *   submitted (the batch system keeps a pending job's list up to date with `scontrol update`).
 * - `--comment toil:<jobId>:<attempt>` ties the Slurm job to the attempt in Slurm's own records.
 * - The argv runs with `exec`, each word single-quoted, so no shell expansion touches it.
 */
import type { IssuedJob } from '../ports/batchSystem.js';

export interface SlurmJobOptions {
  /** The feature of on-demand nodes; '' means the cluster has none (no constraint is added). */
  readonly onDemandFeature: string;
  readonly partition?: string;
  /** Where each job's stdout and stderr go (`%j` is the Slurm job id). */
  readonly outputPath: string;
  /** The directory jobs start in. */
  readonly workDir: string;
  /** More sbatch flags (TOIL_SLURM_ARGS), split on white space. */
  readonly extraArgs?: readonly string[];
}

const MIB = 2 ** 20;

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Slurm's job name: the job's name, with what Slurm's tools would mangle replaced. */
export function slurmJobName(name: string): string {
  return `toil.${name.replace(/[^A-Za-z0-9._-]/g, '_')}`.slice(0, 100);
}

export function attemptComment(jobId: string, attempt: number): string {
  return `toil:${jobId}:${attempt}`;
}

/** The (jobId, attempt) a comment names, if it is one of ours. */
export function parseAttemptComment(comment: string): { jobId: string; attempt: number } | undefined {
  const m = /^toil:(.+):(\d+)$/.exec(comment);
  return m ? { jobId: m[1]!, attempt: Number(m[2]) } : undefined;
}

export function sbatchArgs(
  job: IssuedJob,
  o: SlurmJobOptions,
  excludedNodes: readonly string[] = [],
): string[] {
  const r = job.requirements;
  const args = [
    `--job-name=${slurmJobName(job.name)}`,
    `--comment=${attemptComment(job.jobId, job.attempt)}`,
    '--nodes=1',
    '--ntasks=1',
    `--cpus-per-task=${Math.max(1, Math.ceil(r.cores - 1e-9))}`,
    `--mem=${Math.max(1, Math.ceil(r.memory / MIB))}M`,
    `--tmp=${Math.max(1, Math.ceil(r.disk / MIB))}M`,
    '--no-requeue',
    `--output=${o.outputPath}`,
    `--chdir=${o.workDir}`,
  ];
  if (r.walltimeMs !== undefined && r.walltimeMs > 0) {
    args.push(`--time=${Math.max(1, Math.ceil(r.walltimeMs / 60_000))}`);
  }
  if (!r.preemptable && o.onDemandFeature !== '') args.push(`--constraint=${o.onDemandFeature}`);
  if (o.partition) args.push(`--partition=${o.partition}`);
  if (excludedNodes.length > 0) args.push(`--exclude=${excludedNodes.join(',')}`);
  args.push(...(o.extraArgs ?? []));
  return args;
}

export function batchScript(job: IssuedJob): string {
  const env = Object.entries(job.environment ?? {}).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  return ['#!/bin/sh', ...env, `exec ${job.command.map(shellQuote).join(' ')}`, ''].join('\n');
}
