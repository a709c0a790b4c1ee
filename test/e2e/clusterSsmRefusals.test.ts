import t from 'tap';
import { ssmSdk } from '../../src/common/awsSdkPackages.js';
import { localCloudWithMotoIam } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import {
  MOTO_MISSING_REASON,
  motoAvailable,
  motoSsmClient,
  profileNamesIn,
  roleNamesIn,
} from '../fixtures/motoServer.js';
import { refusingProxy, type Refusal } from '../fixtures/refusingProxy.js';

const { GetParameterCommand } = ssmSdk();

/**
 * SSM refusing a call on a Slurm cluster's munge key with an answer other than a permission's (a
 * limit, a validation, concurrent updates) came out of launch- and destroy-cluster as `toil:
 * internal error:` and a stack trace. It is now one line naming the call, the parameter and AWS's
 * message, exit 1 as IAM's refusals; the launch still removes what it had made. EC2 on the local
 * cloud, IAM on moto, SSM on moto behind a proxy that answers the refusals named.
 */
t.setTimeout(240_000);

const LIMIT: Refusal = {
  code: 'ParameterLimitExceeded',
  message:
    'You have exceeded the number of parameters for this AWS account. Delete unnecessary parameters and try again.',
};
const CONCURRENT: Refusal = {
  code: 'TooManyUpdates',
  message: 'There are concurrent updates for the resource that you are trying to update. Please try again.',
};

t.test(
  "launch- and destroy-cluster refused by SSM: one line naming the call, the parameter and AWS's message; the launch removes what it made",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { moto, endpoint, iam, env: cloudEnv } = await localCloudWithMotoIam(t);
    const answers = new Map<string, Refusal>();
    const proxy = await refusingProxy(t, moto.endpoint, new Set(), answers);
    const env = { ...cloudEnv, AWS_ENDPOINT_URL_SSM: proxy.endpoint, TOIL_AWS_ZONE: 'us-west-2a' };
    const ssm = motoSsmClient(moto);
    t.teardown(() => ssm.destroy());
    const parameterExists = (name: string): Promise<boolean> =>
      ssm.send(new GetParameterCommand({ Name: name })).then(
        () => true,
        () => false,
      );
    const launch = (name: string) =>
      runToil(['launch-cluster', name, '-T', 'slurm', '--nodeType', 't2.medium', '--keyPairName', 'k'], env);

    answers.set('PutParameter', LIMIT);
    const refused = await launch('lim');
    t.equal(refused.code, 1, `SSM's refusal: exit 1, as IAM's (stderr: ${refused.stderr.slice(0, 800)})`);
    t.equal(
      refused.stderr,
      `toil: launch-cluster: SSM PutParameter of /toil/lim/munge-key failed: ${LIMIT.code}: ${LIMIT.message}; ` +
        'removed what the launch made: instance profile toil-lim-leader, instance profile toil-lim-worker, IAM role toil-lim-leader, IAM role toil-lim-worker\n',
      'one line naming the call, the parameter, AWS message and what was removed; no internal error, no stack',
    );
    t.match(refused.stdout, /the launch failed: removing what was made of cluster 'lim'/);
    t.same(await roleNamesIn(iam), [], "the cluster's roles are removed");
    t.same(await profileNamesIn(iam), [], "the cluster's instance profiles are removed");
    t.notOk(await parameterExists('/toil/lim/munge-key'), 'no munge key stored');
    t.equal(endpoint.cloud.instances.size, 0, 'no instance launched');
    t.same(
      [...endpoint.cloud.securityGroups.values()].map((g) => g.name),
      ['default'],
      'no security group made',
    );

    answers.clear();
    const made = await launch('dk');
    t.equal(made.code, 0, `launched (stderr: ${made.stderr.slice(0, 800)})`);
    t.ok(await parameterExists('/toil/dk/munge-key'), 'the munge key is stored');
    answers.set('DeleteParameter', CONCURRENT);
    const destroy = await runToil(['destroy-cluster', 'dk'], env);
    t.equal(destroy.code, 1, `exit 1 (stderr: ${destroy.stderr.slice(0, 800)})`);
    t.equal(
      destroy.stderr,
      `toil: destroy-cluster: SSM DeleteParameter of /toil/dk/munge-key failed: ${CONCURRENT.code}: ${CONCURRENT.message}\n`,
      'one line naming the call, the parameter and AWS message; no internal error, no stack',
    );
    t.ok(await parameterExists('/toil/dk/munge-key'), 'the munge key is still there, as said');
    answers.clear();
    const again = await runToil(['destroy-cluster', 'dk'], env);
    t.equal(again.code, 0, `destroy-cluster run again finishes it (stderr: ${again.stderr})`);
    t.match(again.stdout, /^deleted the cluster's munge key \/toil\/dk\/munge-key \(SSM\)$/m);
    t.notOk(await parameterExists('/toil/dk/munge-key'), 'the munge key is gone');
  },
);
