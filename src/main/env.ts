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
  };
}
