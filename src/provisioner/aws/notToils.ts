import { UserInputError } from '../../common/errors.js';

/**
 * Something bearing the cluster's name (its security group, IAM role or instance profile, munge
 * key parameter) that toil-ts did not make: it has no clusterName tag of the cluster. Its name is
 * someone else's: launch-cluster neither takes it over nor could destroy-cluster remove it.
 */
export interface NotToils {
  /** The code of a refusal naming this alone. */
  readonly code: 'SECURITY_GROUP_NOT_TOILS' | 'IAM_NOT_TOILS' | 'MUNGE_KEY_NOT_TOILS';
  /** As the refusal names it: `a security group named 'web' (sg-…)`. */
  readonly named: string;
  /** Whose clusterName tag it lacks, said of it alone: `a toil-ts cluster`, `cluster 'web'`. */
  readonly tagOf: string;
}

/**
 * launch-cluster's refusal of a name others hold, naming everything of theirs it found in one line:
 * another name is then picked knowing all of it, not one refusal after another. Its code is the
 * kind's when all are of one kind, else CLUSTER_NAME_NOT_TOILS.
 */
export function notToilsRefusal(clusterName: string, found: readonly NotToils[]): UserInputError {
  const [first] = found;
  if (first === undefined) throw new RangeError('notToilsRefusal: nothing found');
  const one = found.length === 1;
  const code = found.every((f) => f.code === first.code) ? first.code : 'CLUSTER_NAME_NOT_TOILS';
  const named = found.map((f) => f.named);
  const list = one ? first.named : `${named.slice(0, -1).join(', ')} and ${named.at(-1)!}`;
  return new UserInputError(
    code,
    `${list} ${one ? 'exists' : 'exist'} that toil-ts did not make (${
      one
        ? `it has no clusterName tag of ${first.tagOf}`
        : `none has a clusterName tag of cluster '${clusterName}'`
    }): pick another cluster name`,
    { clusterName, notToils: named },
  );
}
