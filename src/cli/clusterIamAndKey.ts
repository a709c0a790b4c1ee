import type { IAMClient } from '@aws-sdk/client-iam';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { iamEndpointOf, ssmEndpointOf } from '../main/awsClients.js';
import type { Env } from '../main/env.js';
import { ClusterIam } from '../provisioner/aws/clusterIam.js';
import { ClusterMungeKey } from '../provisioner/aws/mungeKey.js';

/**
 * The cluster's IAM and munge key as launch- and destroy-cluster use them, for the clients they
 * have (none on the local cloud without those endpoints), each knowing its endpoint and what set
 * it, to name when no answer comes from there.
 */
export function clusterIamAndKey(o: {
  iamClient: IAMClient | undefined;
  ssmClient: SSMClient | undefined;
  clusterName: string;
  region: string;
  clock: Clock;
  log: Logger;
  env: Env;
}): { iam?: ClusterIam; mungeKey?: ClusterMungeKey } {
  const { clusterName } = o;
  return {
    ...(o.iamClient
      ? {
          iam: new ClusterIam({
            iam: o.iamClient,
            clusterName,
            clock: o.clock,
            log: o.log,
            endpoint: iamEndpointOf(o.env),
          }),
        }
      : {}),
    ...(o.ssmClient
      ? {
          mungeKey: new ClusterMungeKey({
            ssm: o.ssmClient,
            clusterName,
            endpoint: ssmEndpointOf(o.region, o.env),
          }),
        }
      : {}),
  };
}
