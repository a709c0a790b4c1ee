import { UserInputError } from '../../common/errors.js';
import type { AwsCluster, NodeImage } from '../aws/awsCluster.js';
import { validateImageId } from './validate.js';

/** A root volume toil-ts is to ask RunInstances for, and the flag that sized it. */
export interface RootVolumeAsked {
  /** As the user typed it: `--leaderStorage`, `--nodeStorageOverrides r5.xlarge`. */
  readonly flag: string;
  readonly giB: number;
}

/**
 * The image the nodes boot: the one given (TOIL_AWS_AMI's, or what `givenBy` names), else the
 * newest Flatcar stable, as Toil boots. Refused (`code`) when there is none, and an ID not of EC2's
 * form before EC2 is asked (BAD_IMAGE_ID), before anything is made.
 */
export async function nodeImage(
  cluster: AwsCluster,
  given: string | undefined,
  region: string,
  code: 'NO_IMAGE' | 'NO_NODE_IMAGE',
  givenBy = 'TOIL_AWS_AMI',
): Promise<NodeImage> {
  if (given !== undefined) {
    const image = await cluster.image(validateImageId(given, givenBy));
    if (!image)
      throw new UserInputError(code, `${givenBy}: no image '${given}' in region ${region}`, {
        imageId: given,
        region,
      });
    return image;
  }
  const image = await cluster.flatcarImage();
  if (!image)
    throw new UserInputError(
      code,
      `no Flatcar stable image found in region ${region}: import one and set TOIL_AWS_AMI`,
      { region },
    );
  return image;
}

/**
 * Refuses a root volume smaller than the image's root snapshot, which EC2 makes it from: EC2
 * refuses it at RunInstances (InvalidBlockDeviceMapping), for a worker at every launch the scaler
 * makes, so it is said once, before anything is made.
 */
export function checkRootVolumesFitImage(asked: readonly RootVolumeAsked[], image: NodeImage): void {
  const least = image.rootSnapshotGiB;
  if (least === undefined) return;
  const small = asked.find((a) => a.giB < least);
  if (small)
    throw new UserInputError(
      'ROOT_VOLUME_BELOW_IMAGE',
      `${small.flag}: ${small.giB} GiB is smaller than the root snapshot of image ${image.imageId} (${least} GiB), which EC2 makes a node's root volume from: give at least ${least}`,
      { flag: small.flag, giB: small.giB, imageId: image.imageId, rootSnapshotGiB: least },
    );
}
