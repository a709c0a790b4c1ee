import type { Instance } from '@aws-sdk/client-ec2';
import type { ProvisionedNode } from '../../ports/provisioner.js';
import { fromTagList, TAG_NODE_TYPE } from './tags.js';

const STATES: ReadonlySet<string> = new Set([
  'pending',
  'running',
  'stopping',
  'stopped',
  'shutting-down',
  'terminated',
]);

/** An SDK Instance as the port's ProvisionedNode. */
export function toNode(i: Instance): ProvisionedNode {
  const tags = fromTagList(i.Tags);
  const state = i.State?.Name ?? 'pending';
  return {
    instanceId: i.InstanceId ?? '',
    role: tags[TAG_NODE_TYPE] === 'leader' ? 'leader' : 'worker',
    instanceType: i.InstanceType ?? '',
    zone: i.Placement?.AvailabilityZone ?? '',
    // Toil's rule: a spot instance is one with a lifecycle of 'spot' (or a spot request).
    market: i.InstanceLifecycle === 'spot' || i.SpotInstanceRequestId ? 'spot' : 'on-demand',
    state: STATES.has(state) ? state : 'pending',
    launchTime: i.LaunchTime ? i.LaunchTime.getTime() : 0,
    privateIp: i.PrivateIpAddress || undefined,
    publicIp: i.PublicIpAddress || undefined,
    tags,
    imdsV2Required: i.MetadataOptions?.HttpTokens === 'required',
    ...(i.StateReason?.Code ? { stateReason: i.StateReason.Code } : {}),
    ...(i.ClientToken ? { clientToken: i.ClientToken } : {}),
    ...(i.ImageId ? { imageId: i.ImageId } : {}),
  };
}

/** Instance ids named in an InvalidInstanceID.NotFound message ("The instance IDs 'i-1, i-2' do not exist"). */
export function idsInMessage(message: string): string[] {
  return [...message.matchAll(/i-[0-9a-f]{8,17}/g)].map((m) => m[0]);
}
