import type { NodeRole } from '../../ports/provisioner.js';

/** Tag keys the cluster is recognised by (Toil's spellings). */
export const TAG_CLUSTER = 'clusterName';
export const TAG_NODE_TYPE = 'ToilNodeType';
export const TAG_OWNER = 'Owner';
export const TAG_NAME = 'Name';

/**
 * The tags every resource of the cluster carries, applied at launch (TagSpecifications), so no
 * instance is ever untagged: Name, Owner, clusterName, the user's extra tags, then ToilNodeType.
 * The cluster's own keys win over user tags of the same name.
 */
export function clusterTags(options: {
  clusterName: string;
  owner: string;
  extraTags: Readonly<Record<string, string>>;
}): Record<string, string> {
  return {
    ...options.extraTags,
    [TAG_NAME]: options.clusterName,
    [TAG_OWNER]: options.owner,
    [TAG_CLUSTER]: options.clusterName,
  };
}

export function nodeTags(base: Readonly<Record<string, string>>, role: NodeRole): Record<string, string> {
  return { ...base, [TAG_NODE_TYPE]: role };
}

export function toTagList(tags: Readonly<Record<string, string>>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function fromTagList(
  tags: readonly { Key?: string; Value?: string }[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}
