/**
 * The AWS SDK clients, built here and nowhere else: EC2 (the provisioner and the cluster
 * utilities), IAM (the cluster's roles), SSM (a Slurm cluster's munge key), with one way of
 * finding endpoints and credentials; S3's (the aws: job store) is in s3Client.ts, so that loading
 * this module loads no SDK client (each is imported where it is built). `AWS_ENDPOINT_URL_EC2`/`_S3`/`_IAM`/`_SSM` (the SDK's standard variables)
 * point them at local stand-ins (the local cloud, moto, s3rver).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { Ec2Calls } from '../provisioner/aws/ec2Calls.js';
import { ec2Sdk, iamSdk, smithyConfig, ssmSdk } from '../common/awsSdkPackages.js';
import { UserInputError } from '../common/errors.js';
import type { Env } from './env.js';

/**
 * Every AWS SDK client warns on Node 20 that later SDK releases will need Node 22. Users can do
 * nothing about it at run time, so it is silenced before any client is built (the SDK reads this
 * variable from process.env when a client is constructed). A user's explicit setting wins.
 */
export function silenceAwsSdkNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/**
 * How long a client waits for a TCP connection to an AWS endpoint before the attempt fails and is
 * retried on a fresh connection. Without it a dropped (black-holed) address waits out the
 * kernel's SYN retries, over two minutes, per attempt; S3 and EC2 names resolve to many
 * addresses, so the retry most likely reaches a live one. Only the connect is bounded: a request
 * that was sent is waited out (see jobstore/s3StallWatch.ts for why), and a connect that never
 * completed sent nothing, so retrying it is safe even for a conditional write.
 */
export const AWS_CONNECT_TIMEOUT_MS = 10_000;

/**
 * An EC2 client for `region`. `AWS_ENDPOINT_URL_EC2` (the SDK's standard variable) points it at
 * the local cloud or moto. Credentials come from the SDK's default chain; for an endpoint on this
 * machine without any, placeholder keys are used (the local endpoint checks no signature).
 */
export async function createEc2Client(
  region: string,
  env: Env = process.env,
  options: {
    readonly endpoint?: string;
    readonly maxAttempts?: number;
    readonly connectTimeoutMs?: number;
  } = {},
): Promise<EC2Client> {
  await checkToilAwsProfile(env);
  silenceAwsSdkNodeVersionWarning();
  const { EC2Client } = ec2Sdk();
  const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL_EC2?.trim() || undefined);
  return new EC2Client({
    region,
    ...(endpoint ? { endpoint } : {}),
    ...clientSigning(env, endpoint),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    requestHandler: { connectionTimeout: options.connectTimeoutMs ?? AWS_CONNECT_TIMEOUT_MS },
  });
}

/**
 * The region the SDK's own chain finds (AWS_REGION, else the `region` of the AWS profile in
 * ~/.aws/config, which `aws configure` writes; TOIL_AWS_PROFILE's when it names one), or undefined.
 */
export async function sdkConfiguredRegion(env: Env = process.env): Promise<string | undefined> {
  await checkToilAwsProfile(env);
  silenceAwsSdkNodeVersionWarning();
  const { EC2Client } = ec2Sdk();
  const profile = toilAwsProfile(env);
  const client = new EC2Client(profile ? { profile, logger: SILENT_SDK_LOGGER } : {});
  try {
    return (await client.config.region()).trim() || undefined;
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

/** An endpoint on this machine (the local cloud, moto), which checks no signature. */
export function isLocalEndpoint(endpoint: string | undefined): boolean {
  return (
    endpoint !== undefined && /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/.test(endpoint)
  );
}

/**
 * Toil's TOIL_AWS_PROFILE: the profile of the AWS config files every client signs with and takes
 * its region from. Toil makes its boto3 sessions with it as `profile_name`, so it wins over
 * AWS_PROFILE and over keys in the environment (botocore drops the environment's keys for a
 * profile named so; the SDK's chain does the same for a profile it is given). Ignored, a run
 * would sign with other credentials than the ones named: another account, another cluster.
 */
export function toilAwsProfile(env: Env): string | undefined {
  return env.TOIL_AWS_PROFILE?.trim() || undefined;
}

/**
 * Refuses a TOIL_AWS_PROFILE that names no profile of the AWS config files, in one line naming
 * the variable and the files, before any client is built. The SDK's chain fails on it only at
 * the first request, and its error, naming neither, ends as the generic 'no AWS credentials
 * found'. The files are those the SDK reads (AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE
 * over ~/.aws/credentials and ~/.aws/config), read by its own loader.
 */
export async function checkToilAwsProfile(env: Env): Promise<void> {
  const profile = toilAwsProfile(env);
  if (!profile) return;
  const credentials = env.AWS_SHARED_CREDENTIALS_FILE || '~/.aws/credentials';
  const config = env.AWS_CONFIG_FILE || '~/.aws/config';
  // The loader reads a file it cannot (none there) as empty: a profile in neither is refused.
  const files = await smithyConfig().loadSharedConfigFiles({
    filepath: credentials,
    configFilepath: config,
    ignoreCache: true,
  });
  if (Object.hasOwn(files.credentialsFile, profile) || Object.hasOwn(files.configFile, profile)) return;
  throw new UserInputError(
    'NO_SUCH_AWS_PROFILE',
    `TOIL_AWS_PROFILE=${profile}: no such profile in ${credentials} or ${config} ` +
      "(expected the name of a profile there; 'aws configure list-profiles' lists them)",
    { profile, credentials, config },
  );
}

/**
 * The SDK's logger for a client signing with TOIL_AWS_PROFILE: silent. With keys in the
 * environment too, the SDK's chain takes the profile (as Toil does) but prints eight lines on
 * stderr saying so, through console.warn unless its client has a logger of its own. The SDK logs
 * nothing else a command shows (toil-ts reports its errors itself).
 */
export const SILENT_SDK_LOGGER = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/**
 * How a client signs, spread into its config: TOIL_AWS_PROFILE's profile, else the keys of
 * `clientCredentials`, else nothing (the SDK's default chain).
 */
export function clientSigning(
  env: Env,
  endpoint: string | undefined,
):
  | { profile: string; logger: typeof SILENT_SDK_LOGGER }
  | { credentials: NonNullable<ReturnType<typeof clientCredentials>> }
  | object {
  const profile = toilAwsProfile(env);
  if (profile) return { profile, logger: SILENT_SDK_LOGGER };
  const keys = clientCredentials(env, endpoint);
  return keys ? { credentials: keys } : {};
}

/**
 * The keys a cluster utility's client signs with: the environment's, else placeholders for an
 * endpoint on this machine, else none (the SDK's default chain: profile, SSO, instance role).
 */
export function clientCredentials(
  env: Env,
  endpoint: string | undefined,
): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  return isLocalEndpoint(endpoint)
    ? { accessKeyId: 'AKIDLOCALCLOUD000000', secretAccessKey: 'local-cloud-not-a-secret' }
    : undefined;
}

/** The EC2 call layer (translation, retries) the cluster utilities use, for the zone's region. */
export async function createClusterCalls(options: {
  region: string;
  clock: Clock;
  log: Logger;
  env?: Env;
}): Promise<{ calls: Ec2Calls; readonly close: () => void }> {
  const { Ec2Calls, DEFAULT_RETRY } = await import('../provisioner/aws/ec2Calls.js');
  const env = options.env ?? process.env;
  const client = await createEc2Client(options.region, env);
  const calls = new Ec2Calls({
    client,
    clock: options.clock,
    log: options.log,
    retry: DEFAULT_RETRY,
    endpoint: ec2EndpointOf(options.region, env),
  });
  return { calls, close: () => client.destroy() };
}

/**
 * The regions of `region`'s partition as EC2 lists them, or undefined: the region then goes
 * unchecked, and the command's own calls there say what is wrong, with their retries. Each ask is
 * one attempt, not retried: it only decides whether to refuse at once. A region that does not
 * exist has no endpoint to answer (AWS: no such host; moto: a 500), so when the region's own EC2
 * does not answer, a region every account of the partition has is asked: its list is the answer
 * only if it lacks `region`.
 */
export async function partitionRegionNames(options: {
  region: string;
  clock: Clock;
  log: Logger;
  env?: Env;
}): Promise<string[] | undefined> {
  const [{ ec2RegionNames }, { Ec2Calls, SINGLE_ATTEMPT }] = await Promise.all([
    import('../provisioner/aws/awsCluster.js'),
    import('../provisioner/aws/ec2Calls.js'),
  ]);
  const env = options.env ?? process.env;
  const ask = async (region: string): Promise<string[] | undefined> => {
    const client = await createEc2Client(region, env, { maxAttempts: 1 });
    const calls = new Ec2Calls({
      client,
      clock: options.clock,
      log: options.log,
      retry: SINGLE_ATTEMPT,
      endpoint: ec2EndpointOf(region, env),
    });
    try {
      return await ec2RegionNames(calls);
    } finally {
      client.destroy();
    }
  };
  const { region } = options;
  const own = await ask(region).then(
    (names) => ({ names }),
    () => undefined,
  );
  if (own) return own.names;
  const home = region.startsWith('us-gov-')
    ? 'us-gov-west-1'
    : region.startsWith('cn-')
      ? 'cn-north-1'
      : 'us-east-1';
  const listed = await ask(home).catch(() => undefined);
  return listed && !listed.includes(region) ? listed : undefined;
}

/** The EC2 endpoint a client for `region` talks to, and what chose it: AWS_ENDPOINT_URL_EC2, else EC2's own. */
export function ec2EndpointOf(region: string, env: Env): { url: string; setBy: string } {
  return {
    url: env.AWS_ENDPOINT_URL_EC2?.trim() || `https://ec2.${region}.amazonaws.com`,
    setBy: 'AWS_ENDPOINT_URL_EC2',
  };
}

/** The IAM endpoint the client talks to, and what chose it: AWS_ENDPOINT_URL_IAM, else IAM's own (global). */
export function iamEndpointOf(env: Env): { url: string; setBy: string } {
  return {
    url: env.AWS_ENDPOINT_URL_IAM?.trim() || 'https://iam.amazonaws.com',
    setBy: 'AWS_ENDPOINT_URL_IAM',
  };
}

/** The SSM endpoint a client for `region` talks to, and what chose it: AWS_ENDPOINT_URL_SSM, else SSM's own. */
export function ssmEndpointOf(region: string, env: Env): { url: string; setBy: string } {
  return {
    url: env.AWS_ENDPOINT_URL_SSM?.trim() || `https://ssm.${region}.amazonaws.com`,
    setBy: 'AWS_ENDPOINT_URL_SSM',
  };
}

/**
 * An IAM client, or undefined when the cluster lives on the local cloud and no IAM endpoint was
 * named: the local EC2 endpoint has no IAM of its own, so its clusters then get no roles (and
 * their nodes no credentials), and nothing is sent to AWS. Credentials as for EC2.
 */
export async function createIamClient(env: Env): Promise<IAMClient | undefined> {
  const endpoint = env.AWS_ENDPOINT_URL_IAM?.trim() || undefined;
  if (!endpoint && isLocalEndpoint(env.AWS_ENDPOINT_URL_EC2?.trim() || undefined)) return undefined;
  await checkToilAwsProfile(env);
  silenceAwsSdkNodeVersionWarning();
  const { IAMClient } = iamSdk();
  // IAM is global: its API lives in us-east-1 whatever the cluster's region.
  return new IAMClient({
    region: 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...clientSigning(env, endpoint),
    requestHandler: { connectionTimeout: AWS_CONNECT_TIMEOUT_MS },
  });
}

/**
 * An SSM client for `region` (a Slurm cluster's munge key, Parameter Store), or undefined when the
 * cluster lives on the local cloud and no SSM endpoint was named (`AWS_ENDPOINT_URL_SSM`): its
 * Slurm runs with auth/none and nothing is sent to AWS. Credentials as for EC2; on a node, its
 * instance profile's (the SDK's default chain reads the metadata service).
 */
export async function createSsmClient(region: string, env: Env): Promise<SSMClient | undefined> {
  const endpoint = env.AWS_ENDPOINT_URL_SSM?.trim() || undefined;
  if (!endpoint && isLocalEndpoint(env.AWS_ENDPOINT_URL_EC2?.trim() || undefined)) return undefined;
  await checkToilAwsProfile(env);
  silenceAwsSdkNodeVersionWarning();
  const { SSMClient } = ssmSdk();
  return new SSMClient({
    region,
    ...(endpoint ? { endpoint } : {}),
    ...clientSigning(env, endpoint),
    requestHandler: { connectionTimeout: AWS_CONNECT_TIMEOUT_MS },
  });
}
