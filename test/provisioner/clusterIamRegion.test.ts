import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { ClusterIam } from '../../src/provisioner/aws/clusterIam.js';
import { destroyCluster } from '../../src/provisioner/cluster/destroyCluster.js';
import { startTestEndpoint, testCalls, testEc2Client } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable, motoWithIam } from '../fixtures/motoServer.js';

/**
 * IAM is global, EC2 regional. A destroy-cluster given the wrong --zone found nothing of the
 * cluster in that region, yet deleted its roles and profiles (global) and said "destroyed": the
 * cluster ran on without credentials. A launch of the same name in another region took over
 * (rewrote) the running cluster's roles. The roles' policy names their region: both now read it.
 * IAM on moto (an independent implementation), EC2 on the local endpoint (an empty region).
 */
t.test(
  "a cluster's IAM roles are left alone from another region: a destroy there keeps them, a launch there is refused",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { iam: iamClient } = await motoWithIam(t);
    const clock = new ManualClock(Date.now());
    const iam = new ClusterIam({ iam: iamClient, clusterName: 'c3', clock, log: silentLogger() });
    const lines: string[] = [];
    const progress = (l: string): void => void lines.push(l);
    await iam.ensure({
      region: 'us-west-2',
      tags: { clusterName: 'c3' },
      progress,
      timeoutMs: 10_000,
      pollMs: 50,
    });
    t.equal(await iam.policyRegion('test'), 'us-west-2', "the roles' policy names their region");

    // Same name, another region: refused before any role is touched.
    await t.rejects(
      iam.ensure({
        region: 'us-east-1',
        tags: { clusterName: 'c3' },
        progress,
        timeoutMs: 10_000,
        pollMs: 50,
      }),
      {
        code: 'CLUSTER_EXISTS',
        message:
          "a cluster named 'c3' has IAM roles (toil-c3-leader, toil-c3-worker) for region us-west-2, and IAM names are global: name this cluster otherwise, or destroy that one first (toil destroy-cluster c3 --zone <a zone of us-west-2>)",
      },
    );
    t.equal(await iam.policyRegion('test'), 'us-west-2', 'the policy was not rewritten');

    // A destroy in a region where nothing of it is: refused as not found, the roles kept.
    const endpoint = await startTestEndpoint();
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    t.teardown(() => ec2.destroy());
    const deps = { calls: testCalls(ec2), clock, log: silentLogger(), progress, iam };
    await t.rejects(destroyCluster('c3', deps, { timeoutMs: 5000, pollMs: 50, region: 'us-east-1' }), {
      code: 'CLUSTER_NOT_FOUND',
      message:
        /no cluster named 'c3' in region us-east-1 .*its IAM roles are for region us-west-2: give a --zone there$/,
    });
    t.match(lines.join('\n'), /left IAM roles toil-c3-leader, toil-c3-worker: they are for region us-west-2/);
    t.equal(await iam.policyRegion('test'), 'us-west-2', 'the roles are still there');

    // In its own region the destroy removes them.
    lines.length = 0;
    const done = await destroyCluster('c3', deps, { timeoutMs: 5000, pollMs: 50, region: 'us-west-2' });
    t.same(
      [...done.iamRemoved].sort(),
      [
        'instance-profile/toil-c3-leader',
        'instance-profile/toil-c3-worker',
        'role/toil-c3-leader',
        'role/toil-c3-worker',
      ],
      'its own region removes the roles and profiles',
    );
    t.equal(await iam.policyRegion('test'), undefined, 'none left');
  },
);
