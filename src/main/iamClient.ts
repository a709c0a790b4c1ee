/**
 * The IAM client of the cluster utilities, built here (the composition root) and nowhere else.
 * `AWS_ENDPOINT_URL_IAM` (the SDK's standard variable) points it at an IAM stand-in such as moto.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import { clientCredentials, isLocalEndpoint, silenceAwsSdkNodeVersionWarning, type Env } from '../main.js';

/**
 * An IAM client, or undefined when the cluster lives on the local cloud and no IAM endpoint was
 * named: the local EC2 endpoint has no IAM of its own, so its clusters then get no roles (and
 * their nodes no credentials), and nothing is sent to AWS. Credentials as for EC2.
 */
export async function createIamClient(env: Env): Promise<IAMClient | undefined> {
  const endpoint = env.AWS_ENDPOINT_URL_IAM?.trim() || undefined;
  if (!endpoint && isLocalEndpoint(env.AWS_ENDPOINT_URL_EC2?.trim() || undefined)) return undefined;
  silenceAwsSdkNodeVersionWarning();
  const { IAMClient } = await import('@aws-sdk/client-iam');
  const keys = clientCredentials(env, endpoint);
  // IAM is global: its API lives in us-east-1 whatever the cluster's region.
  return new IAMClient({
    region: 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(keys ? { credentials: keys } : {}),
  });
}
