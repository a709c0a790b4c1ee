import { randomBytes } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ssmSdk } from '../../common/awsSdkPackages.js';
import { ToilError, UserInputError } from '../../common/errors.js';
import { NO_CREDENTIALS_MESSAGE } from './ec2Errors.js';
import { toTagList } from './tags.js';

/**
 * The munge key of a Slurm cluster (`launch-cluster --clusterType slurm`): the one secret its
 * nodes share, the proof slurmctld and slurmd give each other. It never goes in user data (anyone
 * with ec2:DescribeInstanceAttribute reads that, and so does every job on the node through the
 * metadata service). launch-cluster makes it and keeps it in SSM Parameter Store as a SecureString
 * (encrypted with the account's AWS-managed `aws/ssm` key); only this cluster's leader and worker
 * roles may read it (`ssm:GetParameter` on its one ARN, iamPolicies.ts); each node's boot fetches
 * it with its instance profile's credentials; destroy-cluster deletes it.
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
export const MUNGE_KEY_PERMISSIONS = ['ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:DeleteParameter'];

/**
 * The SSM package loads with the first call, not with this module: the leader's provisioner loads
 * this module for the key's name alone (iamPolicies.ts).
 */
export class ClusterMungeKey {
  readonly parameter: string;
  private readonly ssm: SSMClient;

  constructor(options: { ssm: SSMClient; clusterName: string }) {
    this.ssm = options.ssm;
    this.parameter = mungeKeyParameter(options.clusterName);
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
        throw translateSsmError(e, 'PutParameter', 'launch-cluster');
      // SSM takes no tags with Overwrite; the first put tagged it.
      await this.ssm
        .send(new PutParameterCommand({ ...put, Overwrite: true }))
        .catch((err: unknown) => Promise.reject(translateSsmError(err, 'PutParameter', 'launch-cluster')));
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
      throw translateSsmError(e, 'GetParameter', 'the node boot');
    }
  }

  /** Deletes the key; false when there was none (a Mesos cluster, or destroyed already). */
  async remove(): Promise<boolean> {
    const { DeleteParameterCommand } = ssmSdk();
    try {
      await this.ssm.send(new DeleteParameterCommand({ Name: this.parameter }));
      return true;
    } catch (e) {
      if ((e as { name?: string }).name === 'ParameterNotFound') return false;
      throw translateSsmError(e, 'DeleteParameter', 'destroy-cluster');
    }
  }
}

/** SSM's refusals and missing credentials are the user's to fix (one line, exit 2); the rest fatal. */
function translateSsmError(thrown: unknown, action: string, who: string): ToilError {
  const e = thrown as { name?: string; message?: string };
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
  return new ToilError('SSM_REJECTED', `SSM ${action}: ${name}: ${message}`, { cause: thrown });
}
