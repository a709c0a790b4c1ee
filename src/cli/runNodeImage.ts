import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import {
  checkRootVolumesFitImage,
  nodeImage,
  type RootVolumeAsked,
} from '../provisioner/cluster/nodeImage.js';
import type { ScalerConfig } from '../scaler/config.js';
import { rootVolumeOf } from '../scaler/tick/act.js';

/**
 * The root volume each worker type of an autoscaled run is launched with (an EBS-only type's
 * `--nodeStorage`, or its `--nodeStorageOverrides` entry), named by the flag that sized it.
 */
export function workerRootVolumes(
  scaler: ScalerConfig,
  /** The instance types `--nodeStorageOverrides` names. */
  overridden: readonly string[],
): RootVolumeAsked[] {
  return scaler.nodeTypes.flatMap((nt) =>
    nt.instanceTypes.flatMap((it) => {
      const giB = rootVolumeOf(scaler, it.name);
      if (giB === undefined) return [];
      return [
        { flag: overridden.includes(it.name) ? `--nodeStorageOverrides ${it.name}` : '--nodeStorage', giB },
      ];
    }),
  );
}

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
