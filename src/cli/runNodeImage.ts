import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import {
  checkRootVolumesFitImage,
  nodeImage,
  type RootVolumeAsked,
} from '../provisioner/cluster/nodeImage.js';

/**
 * The image an autoscaled run's workers boot (TOIL_AWS_AMI, else the newest Flatcar stable, as the
 * leader would pick it), looked up before the leader starts: a worker root volume smaller than its
 * root snapshot is refused here in one line, where EC2 refused every launch the scaler made of it.
 * The leader is given this image, so the one checked is the one launched.
 */
export async function runNodeImage(options: {
  readonly clusterName: string;
  readonly given: string | undefined;
  readonly region: string;
  readonly volumes: readonly RootVolumeAsked[];
  readonly clock: Clock;
  readonly log: Logger;
}): Promise<string> {
  const [{ createClusterCalls }, { AwsCluster }] = await Promise.all([
    import('../main/awsClients.js'),
    import('../provisioner/aws/awsCluster.js'),
  ]);
  const { clusterName, region, clock, log } = options;
  const { calls, close } = await createClusterCalls({ region, clock, log });
  try {
    const cluster = new AwsCluster({ calls, clusterName, clock, log });
    const image = await nodeImage(cluster, options.given, region, 'NO_NODE_IMAGE');
    checkRootVolumesFitImage(options.volumes, image);
    return image.imageId;
  } finally {
    close();
  }
}
