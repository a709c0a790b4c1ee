import t from 'tap';
import { UserInputError } from '../../src/common/errors.js';
import { notToilsRefusal, type NotToils } from '../../src/provisioner/aws/notToils.js';

/**
 * launch-cluster's refusal of a name others hold names all they hold in one line; its code is the
 * kind's when all are of one kind (as when one alone was named), else CLUSTER_NAME_NOT_TOILS.
 */
const group: NotToils = {
  code: 'SECURITY_GROUP_NOT_TOILS',
  named: "a security group named 'web' (sg-0123456789abcdef0)",
  tagOf: 'a toil-ts cluster',
};
const role: NotToils = {
  code: 'IAM_NOT_TOILS',
  named: "an IAM role named 'toil-web-leader'",
  tagOf: "cluster 'web'",
};
const profile: NotToils = {
  code: 'IAM_NOT_TOILS',
  named: "an instance profile named 'toil-web-worker'",
  tagOf: "cluster 'web'",
};

t.test('one thing: its own code and words', async (t) => {
  const e = notToilsRefusal('web', [group]);
  t.ok(e instanceof UserInputError, 'a user error: one line, exit 2');
  t.equal(e.code, 'SECURITY_GROUP_NOT_TOILS');
  t.equal(
    e.message,
    "a security group named 'web' (sg-0123456789abcdef0) exists that toil-ts did not make (it has no clusterName tag of a toil-ts cluster): pick another cluster name",
  );
});

t.test("several of one kind: the kind's code, each named", async (t) => {
  const e = notToilsRefusal('web', [role, profile]);
  t.equal(e.code, 'IAM_NOT_TOILS');
  t.equal(
    e.message,
    "an IAM role named 'toil-web-leader' and an instance profile named 'toil-web-worker' exist that toil-ts did not make (none has a clusterName tag of cluster 'web'): pick another cluster name",
  );
});

t.test('several kinds: CLUSTER_NAME_NOT_TOILS, each named', async (t) => {
  const e = notToilsRefusal('web', [group, role, profile]);
  t.equal(e.code, 'CLUSTER_NAME_NOT_TOILS');
  t.equal(
    e.message,
    "a security group named 'web' (sg-0123456789abcdef0), an IAM role named 'toil-web-leader' and an instance profile named 'toil-web-worker' exist that toil-ts did not make (none has a clusterName tag of cluster 'web'): pick another cluster name",
  );
  t.same(e.details['notToils'], [group.named, role.named, profile.named]);
});
