import { LOCAL_IMAGE } from './catalogue.js';
import { Ec2ApiError } from './ec2Cloud.js';

/**
 * The image a RunInstances or DescribeImages names, answered as EC2 answers it: an ID not of EC2's
 * form (`ami-` and 8 or 17 lowercase hex digits) is InvalidAMIID.Malformed, any other than the
 * region's one image InvalidAMIID.NotFound.
 */
export function checkImageId(imageId: string): void {
  if (!/^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(imageId))
    throw new Ec2ApiError('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  if (imageId !== LOCAL_IMAGE.imageId)
    throw new Ec2ApiError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
}
