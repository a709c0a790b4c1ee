import { UserInputError } from '../../common/errors.js';
import { LEADER_HEARTBEAT_TAG, LEADER_TAG } from '../../ports/leaderHeartbeat.js';
import { REBALANCE_RECOMMENDED_TAG, STATIC_WORKER_TAG } from '../../ports/provisioner.js';
import { TAG_CLUSTER, TAG_NAME, TAG_NODE_TYPE, TAG_OWNER } from '../aws/tags.js';

/**
 * The rules every AWS service the cluster's tags reach holds them to: EC2 (instances, volumes,
 * spot requests, the group), IAM (the roles and profiles) and S3 (job-store buckets the leader
 * tags with TOIL_AWS_TAGS). EC2 takes any character, IAM and S3 only these; a tag one of them
 * refuses would otherwise be met half-way through a launch, with part of the cluster made.
 */
const MAX_KEY = 128;
const MAX_VALUE = 256;
const MAX_TAGS_PER_RESOURCE = 50;
const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const ALLOWED_IN_WORDS = 'letters, digits, spaces and _ . : / = + - @';

/** The keys toil itself may put on one instance in the cluster's life, besides the user's. */
const TOIL_INSTANCE_KEYS: readonly string[] = [
  TAG_NAME,
  TAG_OWNER,
  TAG_CLUSTER,
  TAG_NODE_TYPE,
  STATIC_WORKER_TAG,
  LEADER_TAG,
  LEADER_HEARTBEAT_TAG,
  REBALANCE_RECOMMENDED_TAG,
];

/** The user's tags (`-t`, else TOIL_AWS_TAGS, named by `source`) as AWS will take them, or one line saying why not. */
export function checkTagsAwsTakes(tags: Readonly<Record<string, string>>, source: string): void {
  for (const [key, value] of Object.entries(tags)) {
    if (/^aws:/i.test(key))
      throw new UserInputError(
        'BAD_TAG',
        `${source}: tag key '${key}' begins with 'aws:', which AWS keeps for its own tags; use another key`,
      );
    checkPart(`tag key '${clip(key)}'`, key, MAX_KEY, source);
    checkPart(`the value of tag '${clip(key)}'`, value, MAX_VALUE, source);
  }
  const own = Object.keys(tags).filter((k) => !TOIL_INSTANCE_KEYS.includes(k)).length;
  const room = MAX_TAGS_PER_RESOURCE - TOIL_INSTANCE_KEYS.length;
  if (own > room)
    throw new UserInputError(
      'BAD_TAG',
      `${source}: ${own} tags given; at most ${room} fit besides Name and Owner (EC2 takes ${MAX_TAGS_PER_RESOURCE} tags per instance and toil sets up to ${TOIL_INSTANCE_KEYS.length - 2} of its own)`,
    );
}

/**
 * The Owner tag's value, from `source` (--owner, TOIL_OWNER_TAG, or the key pair name it defaults
 * to, which EC2 allows characters IAM does not: `fix` then says to give --owner).
 */
export function checkOwnerTag(owner: string, source: string, fix = ''): void {
  checkPart(`the Owner tag '${clip(owner)}'`, owner, MAX_VALUE, source, fix);
}

function checkPart(what: string, text: string, max: number, source: string, fix = ''): void {
  const length = [...text].length;
  if (length > max)
    throw new UserInputError(
      'BAD_TAG',
      `${source}: ${what} is ${length} characters long; AWS takes at most ${max}${fix}`,
    );
  if (!ALLOWED.test(text)) {
    const bad = [...text].find((c) => !ALLOWED.test(c))!;
    throw new UserInputError(
      'BAD_TAG',
      `${source}: ${what} has '${bad}' in it; IAM and S3 take tags of ${ALLOWED_IN_WORDS} only${fix}`,
    );
  }
}

/** Long keys and values are named by their start, so the line stays one line. */
function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
