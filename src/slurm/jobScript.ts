/**
 * One attempt as a Slurm batch job: the `sbatch` flags and the script (pure, no I/O).
 *
 * - One task on one node with `--cpus-per-task` = cores rounded up (Slurm allocates whole CPUs),
 *   `--mem` and `--tmp` in MiB rounded up, at least 1.
 * - `--time` from the job's declared walltime (minutes, rounded up): Slurm ends it at that limit
 *   (TIMEOUT, a failure), as Toil's Slurm batch system does. No walltime: --slurmTime, else the
 *   partition's limit. --slurmPartition, or --slurmPE for jobs of more than one core; --slurmQOS.
 * - `--output` /dev/null (the worker keeps a failed job's output in the job store), or with
 *   --batchLogsDir a file per job and stream there, named as Toil names them.
 * - The user's extra flags (TOIL_SLURM_ARGS, --slurmArgs) come last, so sbatch takes theirs over
 *   ours for any option given twice (`--time`, `--partition`), as Toil lets them; those toil-ts
 *   sets from each job (memory, CPUs, the comment, an array) are refused (`parseSlurmArgs`).
 * - A non-preemptable job is constrained to the on-demand feature, so it never runs on a spot node.
 *   A preemptable job has no constraint: it may run anywhere, and spot nodes come first because
 *   they are registered with a lower Weight (Slurm fills the lowest weight first).
 * - `--no-requeue`: when its node fails, Slurm ends it as NODE_FAIL instead of quietly running it
 *   again; the leader re-issues it as a lost job (no retry spent) and knows it did.
 * - `--exclude` names the nodes the user excluded in TOIL_SLURM_ARGS (`--exclude`/`-x`, taken out
 *   of the extra flags by `parseSlurmArgs`) and those the scaler's keep-off hints keep the job's
 *   request off when it is submitted (the batch system keeps a pending job's list up to date with
 *   `scontrol update`, always keeping the user's nodes in it).
 * - `--comment toil:<jobId>:<attempt>` ties the Slurm job to the attempt in Slurm's own records.
 * - The argv runs with `exec`, each word single-quoted, so no shell expansion touches it.
 */
import { UserInputError } from '../common/errors.js';
import { shellQuote } from '../common/shellQuote.js';
import { jobOwnSlurmOption, sbatchReadsAs } from '../common/slurmSyntax.js';
import type { IssuedJob } from '../ports/batchSystem.js';
import { expandHostlist, hostlistItems } from './hostlist.js';

export interface SlurmJobOptions {
  /** The feature of on-demand nodes; '' means the cluster has none (no constraint is added). */
  readonly onDemandFeature: string;
  readonly partition?: string;
  /** Where each job's stdout and stderr go (`%j` is the Slurm job id). */
  readonly outputPath: string;
  /** The directory jobs start in. */
  readonly workDir: string;
  /** More sbatch flags (TOIL_SLURM_ARGS without its `--exclude`), split on white space. */
  readonly extraArgs?: readonly string[];
  /** Toil's --slurmPE: the partition of jobs asking for more than one core. */
  readonly multiCorePartition?: string;
  /** Toil's --slurmTime ([DD-]HH:MM:SS): the time limit of jobs that declare no walltime. */
  readonly defaultTime?: string;
  /** Toil's --slurmQOS. */
  readonly qos?: string;
  /** Toil's --slurmAllocateMem False: no `--mem` (for clusters that refuse memory requests). */
  readonly allocateMem?: boolean;
  /**
   * Toil's --batchLogsDir: each job's stdout and stderr in files of this directory, named as
   * Toil names them (`toil_job_<job id>_batch_slurm_<Slurm job id>_std_output.log`, `…_std_error.log`).
   */
  readonly logsDir?: string;
}

const MIB = 2 ** 20;

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
  const cpus = Math.max(1, Math.ceil(r.cores - 1e-9));
  const args = [
    `--job-name=${slurmJobName(job.name)}`,
    `--comment=${attemptComment(job.jobId, job.attempt)}`,
    '--nodes=1',
    '--ntasks=1',
    `--cpus-per-task=${cpus}`,
    ...(o.allocateMem === false ? [] : [`--mem=${Math.max(1, Math.ceil(r.memory / MIB))}M`]),
    `--tmp=${Math.max(1, Math.ceil(r.disk / MIB))}M`,
    '--no-requeue',
    ...(o.logsDir
      ? [
          `--output=${o.logsDir}/toil_job_${job.jobId}_batch_slurm_%j_std_output.log`,
          `--error=${o.logsDir}/toil_job_${job.jobId}_batch_slurm_%j_std_error.log`,
        ]
      : [`--output=${o.outputPath}`]),
    `--chdir=${o.workDir}`,
  ];
  if (r.walltimeMs !== undefined && r.walltimeMs > 0) {
    args.push(`--time=${Math.max(1, Math.ceil(r.walltimeMs / 60_000))}`);
  } else if (o.defaultTime) args.push(`--time=${o.defaultTime}`);
  if (!r.preemptable && o.onDemandFeature !== '') args.push(`--constraint=${o.onDemandFeature}`);
  const partition = cpus > 1 && o.multiCorePartition ? o.multiCorePartition : o.partition;
  if (partition) args.push(`--partition=${partition}`);
  if (o.qos) args.push(`--qos=${o.qos}`);
  if (excludedNodes.length > 0) args.push(`--exclude=${excludedNodes.join(',')}`);
  args.push(...(o.extraArgs ?? []));
  return args;
}

/** TOIL_SLURM_ARGS split: the user's excluded nodes apart from the other sbatch flags. */
export interface SlurmUserArgs {
  /** The sbatch flags other than `--exclude`/`-x`, in their order. */
  readonly args: string[];
  /** The user's excluded nodes as they wrote them (Slurm host lists such as `n[1-3]` kept). */
  readonly excludedNodes: string[];
}

/**
 * Takes `--exclude=L`, `--exclude L`, `-x L` and `-xL` (and `--exclud`, which sbatch reads as
 * `--exclude`) out of TOIL_SLURM_ARGS's words, so the
 * batch system can send one `--exclude` (and every `ExcNodeList=` update) with the user's nodes
 * and the keep-off hints' together. Several occurrences add up. A file of node names (sbatch
 * takes one when the value has a `/`) is refused: its nodes could not be kept in the updates. An
 * option toil-ts sets for each job itself (jobOwnSlurmOption) is refused. `from` names where the
 * words came from (TOIL_SLURM_ARGS, --slurmArgs, a leader config's batchSystem.slurmArgs).
 */
export function parseSlurmArgs(words: readonly string[], from = 'TOIL_SLURM_ARGS'): SlurmUserArgs {
  const args: string[] = [];
  const excludedNodes: string[] = [];
  const bad = (what: string, why: string): UserInputError =>
    new UserInputError('BAD_SLURM_ARGS', `${from}: ${what}: ${why}`);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let value: string | undefined;
    const own = jobOwnSlurmOption(w);
    if (own !== undefined) throw bad(w, own);
    // sbatch reads an unambiguous abbreviation (`--exclud=n1`) as --exclude too.
    const readAs = sbatchReadsAs(w);
    const exclude = readAs.length === 1 && readAs[0] === '--exclude';
    if (exclude && w.includes('=')) value = w.slice(w.indexOf('=') + 1);
    else if (w.startsWith('-x') && w.length > 2) value = w.slice(2);
    else if (exclude || w === '-x') {
      value = words[i + 1];
      if (value === undefined || value.startsWith('-')) throw bad(w, 'no node list follows it');
      i++;
    } else {
      args.push(w);
      continue;
    }
    for (const item of splitHostlist(value, w, bad))
      if (!excludedNodes.includes(item)) excludedNodes.push(item);
  }
  return { args, excludedNodes };
}

const HOST_ITEM = /^[A-Za-z0-9._-]*(\[[0-9,-]+\][A-Za-z0-9._-]*)*$/;

/** The items of a host list (`a,n[1-3]` → `a`, `n[1-3]`), each checked to be one Slurm reads. */
function splitHostlist(
  value: string,
  flag: string,
  badExclude: (what: string, why: string) => UserInputError,
): string[] {
  if (value === '') throw badExclude(flag, 'the node list is empty');
  if (value.includes('/')) throw badExclude(`${flag} ${value}`, 'a file of node names is not supported');
  // Each `[` closes before the next opens: nothing bracketed is left once the ranges are taken out.
  if (/[[\]]/.test(value.replace(/\[[^[\]]*\]/g, ''))) {
    throw badExclude(`${flag} ${value}`, 'its brackets do not pair');
  }
  const items = hostlistItems(value);
  for (const item of items) {
    if (item === '' || !HOST_ITEM.test(item) || item.startsWith('[')) {
      throw badExclude(`${flag} ${value}`, `"${item}" is not a node name or range such as n[1-3]`);
    }
    for (const range of item.match(/\[([^\]]*)\]/g) ?? []) {
      for (const part of range.slice(1, -1).split(',')) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
          throw badExclude(`${flag} ${value}`, `"${part}" in "${item}" is not a range such as 1-3`);
        }
      }
    }
  }
  return items;
}

/**
 * The user's excluded nodes (host lists as given) followed by the hint's nodes they do not
 * already cover, sorted: what a job's `--exclude` and `ExcNodeList=` say.
 */
export function unionExcluded(user: readonly string[], hinted: readonly string[]): string[] {
  if (hinted.length === 0) return [...user];
  const covered = new Set(user.flatMap((item) => expandHostlist(item)));
  return [...user, ...hinted.filter((n) => !covered.has(n)).sort()];
}

export function batchScript(job: IssuedJob): string {
  const env = Object.entries(job.environment ?? {}).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  return ['#!/bin/sh', ...env, `exec ${job.command.map(shellQuote).join(' ')}`, ''].join('\n');
}
