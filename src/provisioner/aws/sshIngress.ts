import type { IpPermission, SecurityGroup } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../common/awsSdkPackages.js';
import type { Ec2Calls } from './ec2Calls.js';

const { DescribeInstancesCommand, DescribeSecurityGroupsCommand } = ec2Sdk();

const SSH_PORT = 22;

/** Whether a rule lets TCP 22 in from somewhere other than the group's own members. */
function letsSshIn(p: IpPermission, groupId: string): boolean {
  const coversPort =
    p.IpProtocol === '-1' ||
    ((p.IpProtocol === 'tcp' || p.IpProtocol === '6') &&
      (p.FromPort ?? 0) <= SSH_PORT &&
      SSH_PORT <= (p.ToPort ?? 65535));
  if (!coversPort) return false;
  return (
    (p.IpRanges?.length ?? 0) > 0 ||
    (p.Ipv6Ranges?.length ?? 0) > 0 ||
    (p.PrefixListIds?.length ?? 0) > 0 ||
    (p.UserIdGroupPairs ?? []).some((pair) => pair.GroupId !== groupId)
  );
}

/**
 * The security groups of `instanceId` when none of them lets SSH in from outside the cluster
 * (the cluster's own group opens port 22 only to --sshCidr); undefined when one does, or when
 * EC2 will not say (a caller without the Describe permissions): ssh then tries as it would.
 */
export async function groupsClosedToSsh(calls: Ec2Calls, instanceId: string): Promise<string[] | undefined> {
  try {
    const described = await calls.call('DescribeInstances', (c) =>
      c.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })),
    );
    const instance = described.Reservations?.flatMap((r) => r.Instances ?? [])[0];
    const groupIds = (instance?.SecurityGroups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : []));
    if (groupIds.length === 0) return undefined;
    const out = await calls.call('DescribeSecurityGroups', (c) =>
      c.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds })),
    );
    const groups: SecurityGroup[] = out.SecurityGroups ?? [];
    const open = groups.some((g) => (g.IpPermissions ?? []).some((p) => letsSshIn(p, g.GroupId ?? '')));
    return open ? undefined : groupIds;
  } catch {
    return undefined;
  }
}
