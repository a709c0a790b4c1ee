import type { NodeRole } from '../../ports/provisioner.js';

/** Tag keys the cluster is recognised by (Toil's spellings). */
export const TAG_CLUSTER = 'clusterName';
export const TAG_NODE_TYPE = 'ToilNodeType';
export const TAG_OWNER = 'Owner';
export const TAG_NAME = 'Name';

/**
 * The tags every resource of the cluster carries, applied at launch (TagSpecifications), so no
 * instance is ever untagged: Name and Owner, which the user's extra tags replace as in Toil
 * (`-t Name=…`, `-t Owner=…`), then clusterName, which nothing replaces (it is how the cluster is
 * found), then ToilNodeType (nodeTags).
 */
export function clusterTags(options: {
  clusterName: string;
  owner: string;
  extraTags: Readonly<Record<string, string>>;
}): Record<string, string> {
  return {
    [TAG_NAME]: options.clusterName,
    [TAG_OWNER]: options.owner,
    ...options.extraTags,
    [TAG_CLUSTER]: options.clusterName,
  };
}

/** Tag keys toil sets itself and a user tag may not: the cluster's identity and each node's role. */
export const RESERVED_TAG_KEYS: readonly string[] = [TAG_CLUSTER, TAG_NODE_TYPE];

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
