import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { checkWorkDir } from '../leader/runScratch.js';
import { UserInputError } from '../common/errors.js';

/** The environment a factory reads; `process.env` unless a caller (a test) passes its own. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What the cluster utilities take from the environment, read here and nowhere else. */
export interface ClusterEnvironment {
  readonly zone: string | undefined;
  /** A region the user configured explicitly (a zone outside it is an error). */
  readonly configuredRegion: { region: string; source: string } | undefined;
  readonly ownerTag: string | undefined;
  readonly tagsJson: string | undefined;
  readonly imageId: string | undefined;
  readonly appliance: {
    TOIL_APPLIANCE_SELF: string | undefined;
    TOIL_DOCKER_REGISTRY: string | undefined;
    TOIL_DOCKER_NAME: string | undefined;
  };
  /** What every node runs as it boots (checked by `nodeInitCommands`). */
  readonly nodeInit: {
    TOIL_CUSTOM_INIT_COMMAND: string | undefined;
    TOIL_CUSTOM_DOCKER_INIT_COMMAND: string | undefined;
  };
}

export function clusterEnvironment(env: Env = process.env): ClusterEnvironment {
  const regionVar = (['TOIL_AWS_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'] as const).find((k) =>
    env[k]?.trim(),
  );
  return {
    zone: env.TOIL_AWS_ZONE?.trim() || undefined,
    configuredRegion: regionVar ? { region: env[regionVar]!.trim(), source: regionVar } : undefined,
    ownerTag: env.TOIL_OWNER_TAG?.trim() || undefined,
    tagsJson: env.TOIL_AWS_TAGS,
    imageId: env.TOIL_AWS_AMI?.trim() || undefined,
    appliance: {
      TOIL_APPLIANCE_SELF: env.TOIL_APPLIANCE_SELF,
      TOIL_DOCKER_REGISTRY: env.TOIL_DOCKER_REGISTRY,
      TOIL_DOCKER_NAME: env.TOIL_DOCKER_NAME,
    },
    nodeInit: {
      TOIL_CUSTOM_INIT_COMMAND: env.TOIL_CUSTOM_INIT_COMMAND,
      TOIL_CUSTOM_DOCKER_INIT_COMMAND: env.TOIL_CUSTOM_DOCKER_INIT_COMMAND,
    },
  };
}

/**
 * Toil's TOIL_AWS_NODE_DEBUG (on when `True`, `TRUE` or `true`, as Toil reads it) keeps the EC2
 * instances that fail their status checks for the user to examine, and leaves them out of the
 * cluster its scaler sees. toil-ts's scaler and provisioner have no such keeping: a command that
 * launches or scales workers refuses it, in one line, rather than terminate what the user asked
 * to keep. Toil's `False` (its Makefile's default) is the default here too.
 */
export function refuseNodeDebug(env: Env = process.env): void {
  const value = env.TOIL_AWS_NODE_DEBUG?.trim();
  if (value === 'True' || value === 'TRUE' || value === 'true')
    throw new UserInputError(
      'UNSUPPORTED_TOIL_OPTION',
      `TOIL_AWS_NODE_DEBUG=${value}: toil-ts does not keep EC2 instances that fail to boot for debugging (its scaler terminates and replaces them, and destroy-cluster removes them all): unset it, or set it to False`,
    );
}

/**
 * The local scratch directory, as Toil picks it: `TOIL_WORKDIR_OVERRIDE`, else `--workDir`, else
 * `TOIL_WORKDIR`, else the OS temp dir; absolute. Each process (leader, worker, debug-job) reads its
 * own environment, so a node's `TOIL_WORKDIR` applies to the jobs that run there.
 */
export function workDirOf(flag: string | undefined, env: Env = process.env): string {
  const chosen = nonEmpty(env.TOIL_WORKDIR_OVERRIDE) ?? nonEmpty(flag) ?? nonEmpty(env.TOIL_WORKDIR);
  return resolve(chosen ?? tmpdir());
}

/**
 * The work directory (`workDirOf`), checked before anything starts (it exists, and this user may
 * write in it, or only look in it for `read`), so a wrong one is one line naming where it came
 * from (exit 2), not a failure halfway through, nor a directory made where a path was mistyped.
 */
export async function prepareWorkDir(
  flag: string | undefined,
  env: Env = process.env,
  use: 'write' | 'read' = 'write',
): Promise<string> {
  const dir = workDirOf(flag, env);
  const source = nonEmpty(env.TOIL_WORKDIR_OVERRIDE)
    ? 'TOIL_WORKDIR_OVERRIDE'
    : nonEmpty(flag)
      ? '--workDir'
      : nonEmpty(env.TOIL_WORKDIR)
        ? 'TOIL_WORKDIR'
        : 'the OS temp dir';
  await checkWorkDir(dir, source, use);
  return dir;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
}
