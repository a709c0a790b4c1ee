import t from 'tap';
import { ssmSdk } from '../../src/common/awsSdkPackages.js';
import { localEc2WithMotoSsm } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';

const { GetParameterCommand, ListTagsForResourceCommand, PutParameterCommand, SSMClient } = ssmSdk();

/**
 * An SSM parameter at a Slurm cluster's munge key name (/toil/NAME/munge-key) that toil-ts did not
 * make (no clusterName tag of the cluster) is someone else's, as a security group or a role of the
 * name is: launch-cluster refuses the name before making anything instead of overwriting it, and
 * destroy-cluster leaves it, saying so (and, when it is all there is of the name, refuses the name
 * as another's: CLUSTER_NOT_FOUND, exit 2). The cluster's own key (tagged) is still made and deleted.
 * Before, both went by the name alone: the launch overwrote the value and the destroy deleted it.
 */
t.setTimeout(180_000);

t.test(
  "a munge key parameter toil-ts did not make survives launch- and destroy-cluster; the cluster's own goes",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { endpoint, moto, env: cloudEnv } = await localEc2WithMotoSsm(t);
    const ssm = new SSMClient({
      region: 'us-west-2',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    t.teardown(() => ssm.destroy());
    const env = { ...cloudEnv, TOIL_AWS_ZONE: 'us-west-2a' };
    const value = async (name: string): Promise<string | undefined> =>
      (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })).catch(() => undefined))
        ?.Parameter?.Value;
    const launch = (name: string) =>
      runToil(['launch-cluster', name, '-T', 'slurm', '--nodeType', 't2.medium', '--keyPairName', 'k'], env);

    // Someone's own parameter under the name, untagged.
    await ssm.send(
      new PutParameterCommand({ Name: '/toil/web/munge-key', Value: 'theirs', Type: 'SecureString' }),
    );
    const refused = await launch('web');
    t.equal(refused.code, 2, refused.stderr);
    t.equal(
      refused.stderr,
      "toil: an SSM parameter named '/toil/web/munge-key' exists that toil-ts did not make (it has no clusterName tag of cluster 'web'): pick another cluster name\n",
    );
    t.equal(await value('/toil/web/munge-key'), 'theirs', 'the launch left its value');
    t.same(
      [...endpoint.cloud.securityGroups.values()].filter((g) => g.name === 'web').map((g) => g.id),
      [],
      'nothing was made: no security group',
    );
    t.equal(endpoint.cloud.instances.size, 0, 'nothing was made: no instance');

    // That parameter is all there is of the name: the name is another's, refused as a foreign
    // security group or IAM role alone is, not 'nothing to destroy'.
    const destroy = await runToil(['destroy-cluster', 'web'], env);
    t.equal(destroy.code, 2, 'exit 2: the name is not a toil-ts cluster');
    t.equal(
      destroy.stderr,
      "toil: no toil-ts cluster named 'web' in region us-west-2; SSM parameter /toil/web/munge-key exists but toil-ts did not make it (no clusterName tag): left alone\n",
    );
    t.notMatch(destroy.stdout, /nothing to destroy/);
    t.match(
      destroy.stdout,
      /^SSM parameter \/toil\/web\/munge-key exists but toil-ts did not make it for cluster 'web' \(no clusterName tag of it\): left alone$/m,
    );
    t.notMatch(destroy.stdout, /deleted the cluster's munge key/);
    t.equal(await value('/toil/web/munge-key'), 'theirs', 'the destroy left it');

    // The cluster's own key is tagged with it, and destroyed with it.
    const own = await launch('mine');
    t.equal(own.code, 0, own.stderr);
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/toil/mine/munge-key' }),
    );
    t.equal(
      tags.TagList?.find((tag) => tag.Key === 'clusterName')?.Value,
      'mine',
      'the key carries the cluster tag',
    );
    const gone = await runToil(['destroy-cluster', 'mine'], env);
    t.equal(gone.code, 0, gone.stderr);
    t.match(gone.stdout, /^deleted the cluster's munge key \/toil\/mine\/munge-key \(SSM\)$/m);
    t.equal(await value('/toil/mine/munge-key'), undefined, "the cluster's key is gone");
  },
);
