import { randomBytes } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ssmSdk } from '../../common/awsSdkPackages.js';
import { ToilError, UserInputError } from '../../common/errors.js';
import { endpointFailure, type EndpointInUse } from '../../common/unansweredEndpoint.js';
import { ProvisionerError } from '../errors.js';
import { NO_CREDENTIALS_MESSAGE } from './ec2Errors.js';
import { notToilsRefusal, type NotToils } from './notToils.js';
import { TAG_CLUSTER, fromTagList, toTagList } from './tags.js';

/**
 * The munge key of a Slurm cluster (`launch-cluster --clusterType slurm`): the one secret its
 * nodes share, the proof slurmctld and slurmd give each other. It never goes in user data (anyone
 * with ec2:DescribeInstanceAttribute reads that, and so does every job on the node through the
 * metadata service). launch-cluster makes it and keeps it in SSM Parameter Store as a SecureString
 * (encrypted with the account's AWS-managed `aws/ssm` key); only this cluster's leader and worker
 * roles may read it (`ssm:GetParameter` on its one ARN, iamPolicies.ts); each node's boot fetches
 * it with its instance profile's credentials; destroy-cluster deletes it. The parameter is the
 * cluster's only with the cluster's clusterName tag, as its security group and roles are: one of
 * the name toil-ts did not make is neither taken over nor deleted.
 */
export function mungeKeyParameter(clusterName: string): string {
  return `/toil/${clusterName}/munge-key`;
}

/** The parameter's ARN for IAM policies (the account is the caller's own: `*`). */
export function mungeKeyParameterArn(clusterName: string, region: string): string {
  return `arn:aws:ssm:${region}:*:parameter${mungeKeyParameter(clusterName)}`;
}

/** munge's own key size (`mungekey` makes 1024 random bytes). */
const KEY_BYTES = 1024;

/** What the person running launch-cluster / destroy-cluster needs in SSM for a Slurm cluster. */
export const MUNGE_KEY_PERMISSIONS = [
  'ssm:PutParameter',
  'ssm:AddTagsToResource',
  'ssm:ListTagsForResource',
  'ssm:DeleteParameter',
];

/** Who holds the parameter's name: nobody, this cluster (its clusterName tag), or someone else. */
export type MungeKeyOwner = 'none' | 'cluster' | 'other';

/**
 * The SSM package loads with the first call, not with this module: the leader's provisioner loads
 * this module for the key's name alone (iamPolicies.ts).
 */
export class ClusterMungeKey {
  readonly parameter: string;
  private readonly ssm: SSMClient;
  private readonly clusterName: string;
  private readonly endpoint: EndpointInUse | undefined;

  constructor(options: {
    ssm: SSMClient;
    clusterName: string;
    /** Where the client sends, named when no answer comes from there. */
    endpoint?: EndpointInUse;
  }) {
    this.ssm = options.ssm;
    this.clusterName = options.clusterName;
    this.endpoint = options.endpoint;
    this.parameter = mungeKeyParameter(options.clusterName);
  }

  /** Whether a parameter of the key's name exists, and whether it carries the cluster's tag. */
  async owner(who: string): Promise<MungeKeyOwner> {
    const { ListTagsForResourceCommand } = ssmSdk();
    try {
      const out = await this.ssm.send(
        new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: this.parameter }),
      );
      return fromTagList(out.TagList)[TAG_CLUSTER] === this.clusterName ? 'cluster' : 'other';
    } catch (e) {
      if ((e as { name?: string }).name === 'InvalidResourceId') return 'none';
      throw translateSsmError(e, 'ListTagsForResource', who, this.parameter, this.endpoint);
    }
  }

  /**
   * A parameter of the key's name toil-ts did not make (owner 'other'), as launch-cluster names it
   * when it refuses the name before anything is made: it would be overwritten (its value lost) and
   * destroy-cluster would leave it.
   */
  notToils(): NotToils {
    return {
      code: 'MUNGE_KEY_NOT_TOILS',
      named: `an SSM parameter named '${this.parameter}'`,
      tagOf: `cluster '${this.clusterName}'`,
    };
  }

  /** A fresh key, stored (replacing one a failed launch left); tagged with the cluster's tags. */
  async create(tags: Readonly<Record<string, string>>): Promise<void> {
    const { PutParameterCommand } = ssmSdk();
    const value = randomBytes(KEY_BYTES).toString('base64');
    const put = { Name: this.parameter, Value: value, Type: 'SecureString' as const };
    try {
      await this.ssm.send(new PutParameterCommand({ ...put, Tags: toTagList(tags) }));
    } catch (e) {
      if ((e as { name?: string }).name !== 'ParameterAlreadyExists')
        throw translateSsmError(e, 'PutParameter', 'launch-cluster', this.parameter, this.endpoint);
      // Made since the launch looked: replaced only when it is the cluster's.
      if ((await this.owner('launch-cluster')) !== 'cluster')
        throw notToilsRefusal(this.clusterName, [this.notToils()]);
      // SSM takes no tags with Overwrite; the first put tagged it.
      await this.ssm
        .send(new PutParameterCommand({ ...put, Overwrite: true }))
        .catch((err: unknown) =>
          Promise.reject(
            translateSsmError(err, 'PutParameter', 'launch-cluster', this.parameter, this.endpoint),
          ),
        );
    }
  }

  /** The key's bytes (a node's boot, with its instance profile's credentials). */
  async read(): Promise<Buffer> {
    const { GetParameterCommand } = ssmSdk();
    try {
      const out = await this.ssm.send(
        new GetParameterCommand({ Name: this.parameter, WithDecryption: true }),
      );
      return Buffer.from(out.Parameter?.Value ?? '', 'base64');
    } catch (e) {
      if ((e as { name?: string }).name === 'ParameterNotFound')
        throw new UserInputError(
          'NO_MUNGE_KEY',
          `the cluster's munge key ${this.parameter} is not in SSM (launch-cluster --clusterType slurm makes it; destroy-cluster deletes it)`,
        );
      throw translateSsmError(e, 'GetParameter', 'the node boot', this.parameter, this.endpoint);
    }
  }

  /**
   * Deletes the key when it is the cluster's: 'deleted'; 'none' when there was none (a Mesos
   * cluster, or destroyed already); 'left' for a parameter of its name toil-ts did not make.
   */
  async remove(): Promise<'deleted' | 'none' | 'left'> {
    const owner = await this.owner('destroy-cluster');
    if (owner === 'none') return 'none';
    if (owner === 'other') return 'left';
    const { DeleteParameterCommand } = ssmSdk();
    try {
      await this.ssm.send(new DeleteParameterCommand({ Name: this.parameter }));
      return 'deleted';
    } catch (e) {
      if ((e as { name?: string }).name === 'ParameterNotFound') return 'none';
      throw translateSsmError(e, 'DeleteParameter', 'destroy-cluster', this.parameter, this.endpoint);
    }
  }
}

/**
 * SSM's refusals of permission and missing credentials are the user's to fix (one line, exit 2);
 * any other answer of SSM's (a ValidationException, ParameterLimitExceeded, …) is AWS refusing the
 * call: one line naming the call, the parameter and AWS's message (SSM_REJECTED, exit 1; a launch
 * then removes what it made). No answer at all (refused, reset, timed out) is one line naming the
 * endpoint and the cause.
 */
function translateSsmError(
  thrown: unknown,
  action: string,
  who: string,
  parameter: string,
  endpoint: EndpointInUse | undefined,
): ToilError {
  const e = thrown as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const message = e.message ?? String(thrown);
  if (/AccessDenied|UnauthorizedOperation|InvalidClientTokenId/.test(name) || /not authorized/i.test(message))
    return new UserInputError(
      'SSM_NOT_AUTHORISED',
      `${who}: these credentials may not call ssm:${action} (${name}); a Slurm cluster's munge key needs ${MUNGE_KEY_PERMISSIONS.join(', ')}`,
      { action: `ssm:${action}` },
    );
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message))
    return new UserInputError('NO_CREDENTIALS', `SSM ${action}: ${NO_CREDENTIALS_MESSAGE}`);
  if (e.$metadata?.httpStatusCode !== undefined)
    return new ProvisionerError(
      'SSM_REJECTED',
      `${who}: SSM ${action} of ${parameter} failed: ${name}: ${message.replace(/\s+/g, ' ').trim()}`,
      { cause: thrown, cloudCode: name, details: { action: `ssm:${action}`, parameter } },
    );
  const unanswered =
    endpoint === undefined ? undefined : endpointFailure('SSM', endpoint.url, thrown, endpoint.setBy);
  if (unanswered !== undefined)
    return new ProvisionerError('SSM_UNREACHABLE', `${who}: SSM ${action}: ${unanswered}`, {
      cause: thrown,
      cloudCode: name,
      details: { action: `ssm:${action}` },
    });
  return new ToilError('SSM_REJECTED', `SSM ${action} of ${parameter}: ${name}: ${message}`, {
    cause: thrown,
  });
}
