import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { UserInputError } from '../common/errors.js';
import { makeDirsSync } from '../common/makeDirs.js';
import { SLURM_NAME, SLURM_TIME, SLURM_TIME_EXPECTED } from '../common/slurmSyntax.js';
import type { SlurmJobOptions } from './jobScript.js';

/** Toil's Slurm flags of `toil run`, as commander gives them. */
export interface SlurmRunFlags {
  slurmArgs?: string;
  slurmTime?: string;
  slurmQOS?: string;
  slurmPE?: string;
  slurmAllocateMem?: string | boolean;
  batchLogsDir?: string;
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
 * Toil's --slurmArgs, --slurmTime, --slurmQOS, --slurmPE, --slurmAllocateMem and --batchLogsDir,
 * checked once. The logs directory is made here (absolute, so every node writes to the same
 * place when it is on a shared file system, as Toil's docs ask).
 */
export function parseSlurmFlags(
  f: SlurmRunFlags,
  env: Readonly<Record<string, string | undefined>>,
  parseBool: (flag: string, v: string | boolean) => boolean,
  /** How an error names the setting (a leader config says `batchSystem.slurmTime`). */
  nameOf: (flag: string) => string = (flag) => flag,
): SlurmRunSettings {
  const words = (f.slurmArgs ?? env.TOIL_SLURM_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
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
  if (f.batchLogsDir !== undefined) {
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
      ...(f.slurmAllocateMem !== undefined
        ? { allocateMem: parseBool(nameOf('--slurmAllocateMem'), f.slurmAllocateMem) }
        : {}),
      ...(logsDir !== undefined ? { logsDir } : {}),
    },
  };
}
