import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../common/awsSdkPackages.js';
import {
  AWS_CONNECT_TIMEOUT_MS,
  isLocalEndpoint,
  silenceAwsSdkNodeVersionWarning,
  SILENT_SDK_LOGGER,
  toilAwsProfile,
} from './awsClients.js';
import type { Env } from './env.js';
import { s3EndpointFromEnv } from './s3Endpoint.js';

/**
 * An S3 client for `region`. `AWS_ENDPOINT_URL_S3` (the SDK's standard variable), or Toil's
 * `TOIL_S3_HOST` (with `TOIL_S3_PORT`, `TOIL_S3_USE_SSL`), points it at an S3-compatible server
 * such as MinIO, moto or s3rver, which only speak path-style addressing (s3Endpoint.ts).
 * Credentials: Toil's TOIL_AWS_PROFILE's profile when it names one (see toilAwsProfile), else
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from `env` when set there, else the SDK's default chain
 * (profile, SSO, instance role, ...).
 */
export function createS3Client(
  region: string,
  env: Env,
  onRequest?: (operation: string) => void,
  connectTimeoutMs: number = AWS_CONNECT_TIMEOUT_MS,
  /** Reach a bucket of another region through the client's (S3's 301 followed). */
  anyRegion = false,
): S3Client {
  silenceAwsSdkNodeVersionWarning();
  const { S3Client } = s3Sdk();
  const endpoint = s3EndpointFromEnv(env)?.url;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const profile = toilAwsProfile(env);
  const client = new S3Client({
    region,
    ...(endpoint !== undefined && { endpoint, forcePathStyle: true }),
    ...(profile
      ? { profile, logger: SILENT_SDK_LOGGER }
      : accessKeyId &&
        secretAccessKey && {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }),
          },
        }),
    // Checksums only where S3 demands them: s3rver stores the aws-chunked framing of streamed
    // bodies as the object's bytes otherwise. S3 still verifies Content-MD5/TLS integrity.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: connectTimeoutMs },
    ...(anyRegion && { followRegionRedirects: true }),
  });
  if (onRequest) {
    // The deserialize step sits inside the retry loop, so this runs once per HTTP attempt.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        onRequest(context.commandName?.replace(/Command$/, '') ?? 'unknown');
        return next(args);
      },
      { step: 'deserialize', name: 'toilCountS3Requests', priority: 'low' },
    );
  }
  return client;
}

/**
 * An S3 client for a cluster utility, for buckets of any region, or undefined when the cluster
 * lives on the local cloud and no S3 endpoint was named (nothing is sent to AWS).
 */
export function createClusterS3Client(region: string, env: Env): S3Client | undefined {
  if (!s3EndpointFromEnv(env) && isLocalEndpoint(env.AWS_ENDPOINT_URL_EC2?.trim() || undefined))
    return undefined;
  return createS3Client(region, env, undefined, AWS_CONNECT_TIMEOUT_MS, true);
}
