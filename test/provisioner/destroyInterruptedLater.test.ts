import t from 'tap';
import { interruptedDestroyLine, newDestroyProgress } from '../../src/provisioner/cluster/destroyProgress.js';

/**
 * A destroy-cluster stopped past its first steps names only what is not yet removed: what it had
 * found and removed is said as done, not as what may still exist, and the steps behind it are not
 * said again.
 */
t.test(
  'stopped while removing IAM: only the roles and profiles not yet removed, and the munge key',
  async (t) => {
    const p = newDestroyProgress();
    p.iamNames.push(
      'role/toil-c-leader',
      'role/toil-c-worker',
      'instance-profile/toil-c-leader',
      'instance-profile/toil-c-worker',
    );
    p.parameters.push('/toil/c/munge-key');
    p.found = { instances: ['i-1', 'i-2'], securityGroups: ['sg-1'] };
    p.spotRequestsFound = ['sir-1'];
    p.terminating.push('i-1', 'i-2');
    p.spotRequestsCancelled.push('sir-1');
    p.securityGroupsDeleted.push('sg-1');
    p.step = 'IAM';
    p.iamRemoved.push('instance-profile/toil-c-leader', 'role/toil-c-leader');
    t.equal(
      interruptedDestroyLine('c', 'SIGTERM', p),
      'destroy-cluster c interrupted by SIGTERM: it had asked EC2 to terminate 2 instance(s) (i-1, i-2), cancelled 1 spot request(s), ' +
        'deleted security group sg-1, removed instance-profile/toil-c-leader, role/toil-c-leader; ' +
        "may still exist: IAM role toil-c-worker, instance profile toil-c-worker, SSM parameter /toil/c/munge-key: run 'toil destroy-cluster c' again to finish",
    );

    p.step = 'done';
    p.iamRemoved.push('instance-profile/toil-c-worker', 'role/toil-c-worker');
    p.parametersDeleted.push('/toil/c/munge-key');
    t.match(interruptedDestroyLine('c', 'SIGTERM', p), /; nothing of it should be left: run /);
  },
);

t.test('stopped before the first look-up: the kinds, for nothing is known yet but the names', async (t) => {
  const p = newDestroyProgress();
  p.iamNames.push('role/toil-c-leader', 'role/toil-c-worker');
  t.equal(
    interruptedDestroyLine('c', 'SIGINT', p),
    'destroy-cluster c interrupted by SIGINT: nothing was removed yet; may still exist: the instances of the cluster (not looked up yet), ' +
      "its open spot requests (not looked up yet), its security group (not looked up yet), IAM roles (toil-c-leader, toil-c-worker): run 'toil destroy-cluster c' again to finish",
  );
});

t.test('stopped after many instances were asked to end: five of them, then how many more', async (t) => {
  const p = newDestroyProgress();
  const instances = Array.from({ length: 12 }, (_, i) => `i-${i + 1}`);
  p.found = { instances, securityGroups: ['sg-1'] };
  p.spotRequestsFound = [];
  p.terminating.push(...instances);
  t.equal(
    interruptedDestroyLine('c', 'SIGINT', p),
    'destroy-cluster c interrupted by SIGINT: it had asked EC2 to terminate 12 instance(s) (i-1, i-2, i-3, i-4, i-5 and 7 more); ' +
      "may still exist: security group sg-1: run 'toil destroy-cluster c' again to finish",
  );
});
