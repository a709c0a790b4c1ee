/** Toil's variables that point `aws:` job stores at an S3-compatible store (MinIO and the like). */
const TOIL_S3_VARIABLES = ['TOIL_S3_HOST', 'TOIL_S3_PORT', 'TOIL_S3_USE_SSL'] as const;

/** The TOIL_S3_* variables a node's containers are given (those set and not blank). */
export type NodeS3Variables = Partial<Record<(typeof TOIL_S3_VARIABLES)[number], string>>;

/**
 * The TOIL_S3_* variables set in `env`, for every node the cluster boots: a worker opens the job
 * store itself, so without them a job would look for its `aws:` store in AWS's S3 of the region
 * while the leader used the store they name; and the leader's daemon reads them from its own
 * container to hand them on to the workers it launches. Their values are checked where the caller
 * reads them (s3EndpointFromEnv) before they get here.
 */
export function nodeS3Variables(env: Readonly<Record<string, string | undefined>>): NodeS3Variables {
  const out: NodeS3Variables = {};
  for (const name of TOIL_S3_VARIABLES) {
    const value = env[name]?.trim();
    if (value) out[name] = value;
  }
  return out;
}
