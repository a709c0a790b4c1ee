import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { UserInputError } from '../common/errors.js';
import { makeDirsSync } from '../common/makeDirs.js';
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

/** Slurm's time formats Toil documents for --slurmTime: [DD-]HH:MM:SS (and MM:SS, HH:MM:SS). */
const SLURM_TIME = /^(\d+-)?(\d{1,2}:)?\d{1,2}:\d{2}$/;

/**
 * Toil's --slurmArgs, --slurmTime, --slurmQOS, --slurmPE, --slurmAllocateMem and --batchLogsDir,
 * checked once. The logs directory is made here (absolute, so every node writes to the same
 * place when it is on a shared file system, as Toil's docs ask).
 */
export function parseSlurmFlags(
  f: SlurmRunFlags,
  env: Readonly<Record<string, string | undefined>>,
  parseBool: (flag: string, v: string | boolean) => boolean,
): SlurmRunSettings {
  const words = (f.slurmArgs ?? env.TOIL_SLURM_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  if (f.slurmTime !== undefined && !SLURM_TIME.test(f.slurmTime))
    throw new UserInputError(
      'BAD_FLAG',
      `--slurmTime ${f.slurmTime}: expected a Slurm time limit as [DD-]HH:MM:SS (e.g. 4:00:00 or 1-12:00:00)`,
    );
  for (const [flag, v] of [
    ['--slurmQOS', f.slurmQOS],
    ['--slurmPE', f.slurmPE],
  ] as const)
    if (v !== undefined && !/^[A-Za-z0-9_.-]+$/.test(v))
      throw new UserInputError(
        'BAD_FLAG',
        `${flag} ${v}: expected a Slurm ${flag === '--slurmQOS' ? 'QOS' : 'partition'} name`,
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
        `--batchLogsDir ${f.batchLogsDir}: cannot make or write the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
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
        ? { allocateMem: parseBool('--slurmAllocateMem', f.slurmAllocateMem) }
        : {}),
      ...(logsDir !== undefined ? { logsDir } : {}),
    },
  };
}
