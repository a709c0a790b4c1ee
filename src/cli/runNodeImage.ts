import type { Clock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import {
  checkRootVolumesFitImage,
  nodeImage,
  type RootVolumeAsked,
} from '../provisioner/cluster/nodeImage.js';
import type { ClusterLeader } from './leaderMesosMaster.js';

export interface RunNodeImage {
  readonly imageId: string;
  /** The line the run says when the image is its leader's, which no one typed. */
  readonly line?: string;
}

/**
 * The image an autoscaled run's workers boot, looked up before the leader starts: TOIL_AWS_AMI,
 * else the image the cluster's running leader booted (the run's shell on the leader has no
 * TOIL_AWS_AMI, so a cluster launched with one, or before a newer Flatcar came out, got workers
 * of another image than its leader), else, no leader being known, the newest Flatcar stable, as
 * Toil picks it. A worker root volume smaller than its root snapshot is refused here in one line,
 * where EC2 refused every launch the scaler made of it. The leader is given this image, so the
 * one checked is the one launched.
 */
export async function runNodeImage(options: {
  readonly clusterName: string;
  readonly given: string | undefined;
  /** The cluster's leader, when the run looked it up. */
  readonly leader: ClusterLeader | undefined;
  readonly region: string;
  readonly volumes: readonly RootVolumeAsked[];
  readonly clock: Clock;
  readonly log: Logger;
}): Promise<RunNodeImage> {
  const [{ createClusterCalls }, { AwsCluster }] = await Promise.all([
    import('../main/awsClients.js'),
    import('../provisioner/aws/awsCluster.js'),
  ]);
  const { clusterName, region, clock, log, leader } = options;
  const fromLeader = options.given === undefined ? leader?.imageId : undefined;
  const leaderImage = `the image of cluster ${clusterName}'s leader ${leader?.instanceId ?? ''}`;
  const { calls, close } = await createClusterCalls({ region, clock, log });
  try {
    const cluster = new AwsCluster({ calls, clusterName, clock, log });
    const image = await (fromLeader === undefined
      ? nodeImage(cluster, options.given, region, 'NO_NODE_IMAGE')
      : nodeImage(cluster, fromLeader, region, 'NO_NODE_IMAGE', leaderImage).catch((e: unknown) => {
          if (!(e instanceof UserInputError) || e.code !== 'NO_NODE_IMAGE') throw e;
          throw new UserInputError(
            e.code,
            `${e.message}, which the workers would boot as the leader does: set TOIL_AWS_AMI to the image they are to boot`,
            e.details,
          );
        }));
    checkRootVolumesFitImage(options.volumes, image);
    if (fromLeader === undefined) return { imageId: image.imageId };
    return {
      imageId: image.imageId,
      line: `toil: no TOIL_AWS_AMI set: workers boot ${image.imageId}, ${leaderImage}, so they run what it runs (set TOIL_AWS_AMI for another image)`,
    };
  } finally {
    close();
  }
}
