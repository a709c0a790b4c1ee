import type { LeaderConfig } from '../leader/leaderConfig.js';
import type { AwsCluster, NodeImage } from '../provisioner/aws/awsCluster.js';
import { checkRootVolumesFitImage, nodeImage } from '../provisioner/cluster/nodeImage.js';
import { rootVolumeConfigKeys } from '../leader/scalerSettingNames.js';
import { workerRootVolumes } from '../scaler/rootVolumes.js';
import type { Env } from './env.js';

type AwsProvisionerConfig = Extract<LeaderConfig['provisioner'], { kind: 'aws' }>;

/**
 * Refuses (ROOT_VOLUME_BELOW_IMAGE) a config whose scaler would launch a worker root volume, of
 * any type, instance store or not, smaller than the image's root snapshot: EC2 refuses each such
 * launch (InvalidBlockDeviceMapping; the embedded local cloud refuses it the same way), and the
 * scaler launched again every tick while the jobs waited. Checked at start and on each reload,
 * against the image the daemon started with, of AWS or of the embedded local cloud.
 */
export function checkLeaderRootVolumes(cfg: LeaderConfig, image: NodeImage): void {
  checkRootVolumesFitImage(workerRootVolumes(cfg.scaler, rootVolumeConfigKeys(cfg.provisioner)), image);
}

/**
 * The image the daemon's workers boot (TOIL_AWS_AMI, which Toil documents as the nodes' image,
 * else `provisioner.imageId`, what launch-cluster booted the leader from, else the newest Flatcar
 * stable, as Toil), with the config's root volumes checked against it: one the region lacks
 * (NO_NODE_IMAGE) or a root volume below its snapshot stops the start in one line.
 */
export async function leaderNodeImage(
  cluster: AwsCluster,
  cfg: LeaderConfig,
  p: AwsProvisionerConfig,
  env: Env,
  region: string,
): Promise<NodeImage> {
  const fromEnv = env.TOIL_AWS_AMI?.trim() || undefined;
  const given = fromEnv ?? p.imageId;
  const givenBy = fromEnv === undefined && p.imageId !== undefined ? 'provisioner.imageId' : 'TOIL_AWS_AMI';
  const image = await nodeImage(cluster, given, region, 'NO_NODE_IMAGE', givenBy);
  checkLeaderRootVolumes(cfg, image);
  return image;
}
