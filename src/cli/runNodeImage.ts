import type { Clock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import {
  checkRootVolumesFitImage,
  nodeImage,
  type RootVolumeAsked,
} from '../provisioner/cluster/nodeImage.js';
import type { AwsCluster } from '../provisioner/aws/awsCluster.js';
import { TAG_CLUSTER } from '../provisioner/aws/tags.js';
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
 * of another image than its leader), else, no leader being known, the image of the nodes a killed
 * run left that this one adopts (a --restart with --mesosMaster or on Slurm looks up no leader:
 * its new workers booted the newest Flatcar beside adopted ones of another image), else the
 * newest Flatcar stable, as Toil picks it. A worker root volume smaller than its root snapshot is
 * refused here in one line, where EC2 refused every launch the scaler made of it. The leader is
 * given this image, so the one checked is the one launched.
 */
export async function runNodeImage(options: {
  readonly clusterName: string;
  readonly given: string | undefined;
  /** The cluster's leader, when the run looked it up. */
  readonly leader: ClusterLeader | undefined;
  /** The instances a killed run on this job store left, which this run adopts. */
  readonly adopted?: readonly string[];
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
  const { calls, close } = await createClusterCalls({ region, clock, log });
  try {
    const cluster = new AwsCluster({ calls, clusterName, clock, log });
    const source =
      options.given !== undefined
        ? undefined
        : leader?.imageId !== undefined
          ? {
              imageId: leader.imageId,
              what: `the image of cluster ${clusterName}'s leader ${leader.instanceId}`,
              why: 'so they run what it runs',
              bootsAs: 'the leader does',
            }
          : await adoptedNodesImage(cluster, options.adopted ?? []);
    const image = await (source === undefined
      ? nodeImage(cluster, options.given, region, 'NO_NODE_IMAGE')
      : nodeImage(cluster, source.imageId, region, 'NO_NODE_IMAGE', source.what).catch((e: unknown) => {
          if (!(e instanceof UserInputError) || e.code !== 'NO_NODE_IMAGE') throw e;
          throw new UserInputError(
            e.code,
            `${e.message}, which the workers would boot as ${source.bootsAs}: set TOIL_AWS_AMI to the image they are to boot`,
            e.details,
          );
        }));
    checkRootVolumesFitImage(options.volumes, image);
    if (source === undefined) return { imageId: image.imageId };
    return {
      imageId: image.imageId,
      line: `toil: no TOIL_AWS_AMI set: workers boot ${image.imageId}, ${source.what}, ${source.why} (set TOIL_AWS_AMI for another image)`,
    };
  } finally {
    close();
  }
}

/** Where the workers' image comes from when no one named it, and how the run says so. */
interface ImageSource {
  readonly imageId: string;
  /** What the image is, as the line and a refusal name it. */
  readonly what: string;
  /** Why the workers boot it. */
  readonly why: string;
  /** Whose image the workers would boot, as a refusal of a missing one says. */
  readonly bootsAs: string;
}

/**
 * The image of the adopted instances that are still this cluster's and not ended, as EC2
 * describes them (the newest launched, should they differ): the killed run launched them from
 * it, and new workers beside them are to run what they run. Undefined when none is left.
 */
async function adoptedNodesImage(
  cluster: AwsCluster,
  adopted: readonly string[],
): Promise<ImageSource | undefined> {
  const nodes = (await cluster.describeIds(adopted))
    .filter(
      (n) =>
        n.tags[TAG_CLUSTER] === cluster.clusterName &&
        n.state !== 'shutting-down' &&
        n.state !== 'terminated' &&
        n.imageId !== undefined,
    )
    .sort((a, b) => b.launchTime - a.launchTime);
  const imageId = nodes[0]?.imageId;
  if (imageId === undefined) return undefined;
  const ids = nodes.filter((n) => n.imageId === imageId).map((n) => n.instanceId);
  return {
    imageId,
    what: `the image of the killed run's node${ids.length > 1 ? 's' : ''} this run adopts (${ids.join(', ')})`,
    why: 'so new workers match them',
    bootsAs: 'the adopted nodes do',
  };
}
