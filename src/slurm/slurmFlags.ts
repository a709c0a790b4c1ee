import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { UserInputError } from '../common/errors.js';
import { makeDirsSync } from '../common/makeDirs.js';
import { SLURM_NAME, SLURM_TIME, SLURM_TIME_EXPECTED } from '../common/slurmSyntax.js';
import { parseSlurmArgs, type SlurmJobOptions } from './jobScript.js';

/** Toil's Slurm flags of `toil run`, as commander gives them. */
export interface SlurmRunFlags {
  slurmArgs?: string;
  slurmTime?: string;
  slurmQOS?: string;
  slurmPE?: string;
  slurmAllocateMem?: string | boolean;
  batchLogsDir?: string;
  /** Toil's --noStdOutErr: the jobs' output goes to /dev/null, --batchLogsDir or not. */
  noStdOutErr?: boolean;
}

export interface SlurmRunSettings {
  /** The extra sbatch flags: --slurmArgs, else TOIL_SLURM_ARGS (Toil's default for it). */
  readonly extraArgs: readonly string[];
  readonly jobFlags: Pick<
    SlurmJobOptions,
    'multiCorePartition' | 'defaultTime' | 'qos' | 'allocateMem' | 'logsDir'
  >;
}

/**
 * Toil's environment variables for these flags (its options' `env_var`): one set in the shell
 * holds where the flag (or the leader config's key) is not given, as in Toil.
 */
export const SLURM_FLAG_ENV = {
  slurmTime: 'TOIL_SLURM_TIME',
  slurmQOS: 'TOIL_SLURM_QOS',
  slurmPE: 'TOIL_SLURM_PE',
  slurmAllocateMem: 'TOIL_SLURM_ALLOCATE_MEM',
  batchLogsDir: 'TOIL_BATCH_LOGS_DIR',
} as const;

/** The partition jobs go to: the flag (or config key), else TOIL_SLURM_PARTITION, as in Toil. */
export function slurmPartitionOf(
  given: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  return given ?? (env.TOIL_SLURM_PARTITION?.trim() || undefined);
}

/**
 * Toil's --slurmArgs, --slurmTime, --slurmQOS, --slurmPE, --slurmAllocateMem and --batchLogsDir,
 * each else its environment variable (SLURM_FLAG_ENV), checked once (the extra flags as the batch
 * system will read them, so a mistake there stops the run before it starts). The logs directory is made
 * here (absolute, so every node writes to the same place when it is on a shared file system, as
 * Toil's docs ask).
 */
export function parseSlurmFlags(
  given: SlurmRunFlags,
  env: Readonly<Record<string, string | undefined>>,
  /** How an error names the setting (a leader config says `batchSystem.slurmTime`). */
  nameOfSetting: (flag: string) => string = (flag) => flag,
): SlurmRunSettings {
  const f: SlurmRunFlags = { ...given };
  const fromEnv = new Set<string>();
  for (const [key, variable] of Object.entries(SLURM_FLAG_ENV) as [keyof typeof SLURM_FLAG_ENV, string][]) {
    const v = env[variable]?.trim();
    if (f[key] === undefined && v) {
      f[key] = v;
      fromEnv.add(`--${key}`);
    }
  }
  const nameOf = (flag: string): string =>
    fromEnv.has(flag) ? SLURM_FLAG_ENV[flag.slice(2) as keyof typeof SLURM_FLAG_ENV] : nameOfSetting(flag);
  const allocateMem =
    f.slurmAllocateMem === undefined
      ? undefined
      : slurmBool(nameOf('--slurmAllocateMem'), f.slurmAllocateMem);
  const words = (f.slurmArgs ?? env.TOIL_SLURM_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  // Checked now, before anything is made, and named as the user gave the flags.
  parseSlurmArgs(words, f.slurmArgs !== undefined ? nameOfSetting('--slurmArgs') : 'TOIL_SLURM_ARGS');
  if (f.slurmTime !== undefined && !SLURM_TIME.test(f.slurmTime))
    throw new UserInputError('BAD_FLAG', `${nameOf('--slurmTime')} ${f.slurmTime}: ${SLURM_TIME_EXPECTED}`);
  for (const [flag, v] of [
    ['--slurmQOS', f.slurmQOS],
    ['--slurmPE', f.slurmPE],
  ] as const)
    if (v !== undefined && !SLURM_NAME.test(v))
      throw new UserInputError(
        'BAD_FLAG',
        `${nameOf(flag)} ${v}: expected a Slurm ${flag === '--slurmQOS' ? 'QOS' : 'partition'} name`,
      );
  let logsDir: string | undefined;
  // As Toil's batch systems do (format_std_out_err_path): --noStdOutErr wins over the logs dir.
  if (f.batchLogsDir !== undefined && f.noStdOutErr !== true) {
    logsDir = resolve(f.batchLogsDir);
    try {
      makeDirsSync(logsDir);
      accessSync(logsDir, constants.W_OK);
    } catch (e) {
      throw new UserInputError(
        'BAD_FLAG',
        `${nameOf('--batchLogsDir')} ${f.batchLogsDir}: cannot make or write the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
  }
  return {
    extraArgs: words,
    jobFlags: {
      ...(f.slurmTime !== undefined ? { defaultTime: f.slurmTime } : {}),
      ...(f.slurmQOS !== undefined ? { qos: f.slurmQOS } : {}),
      ...(f.slurmPE !== undefined ? { multiCorePartition: f.slurmPE } : {}),
      ...(allocateMem !== undefined ? { allocateMem } : {}),
      ...(logsDir !== undefined ? { logsDir } : {}),
    },
  };
}

/** A boolean setting: a config's boolean, or a flag's or variable's text as Toil reads it. */
function slurmBool(name: string, v: string | boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (/^(true|yes|1)$/i.test(v)) return true;
  if (/^(false|no|0)$/i.test(v)) return false;
  throw new UserInputError('BAD_FLAG', `${name} ${v}: expected true or false`);
}
