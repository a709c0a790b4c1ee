import t from 'tap';
import { localCloudWithMotoIam } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable, profileNamesIn, roleNamesIn } from '../fixtures/motoServer.js';
import { recordingProxy } from '../fixtures/recordingProxy.js';

/**
 * launch-cluster reads the cluster's four IAM names (two roles, two instance profiles) before it
 * makes anything, to name every foreign thing holding the cluster's name at once; making the IAM
 * then read each of them again, four more IAM calls per launch that could say nothing new. Each
 * is read once before the first create now. EC2 on the local cloud, IAM on moto behind a proxy
 * that keeps every request as it was sent.
 */
t.setTimeout(180_000);

const READS = new Set(['GetRole', 'GetInstanceProfile']);

t.test(
  "launch-cluster reads each of the cluster's IAM names once before it makes them",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { moto, iam, env: cloudEnv } = await localCloudWithMotoIam(t);
    const proxy = await recordingProxy(t, moto.endpoint);
    const env = { ...cloudEnv, AWS_ENDPOINT_URL_IAM: proxy.endpoint };
    const r = await runToil(
      ['launch-cluster', 'once', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'us-west-2a'],
      env,
    );
    t.equal(r.code, 0, `launched (stderr: ${r.stderr.slice(0, 2000)})`);
    t.same(await roleNamesIn(iam), ['toil-once-leader', 'toil-once-worker'], 'the roles were made');
    t.same(await profileNamesIn(iam), ['toil-once-leader', 'toil-once-worker'], 'the profiles were made');

    const calls = proxy.bodies().map((body) => {
      const form = new URLSearchParams(body);
      return {
        action: form.get('Action') ?? '',
        name: form.get('RoleName') ?? form.get('InstanceProfileName') ?? '',
      };
    });
    const firstCreate = calls.findIndex((c) => c.action.startsWith('Create'));
    t.ok(firstCreate > 0, 'IAM was read, then asked to create');
    const readsBefore = calls
      .slice(0, firstCreate)
      .filter((c) => READS.has(c.action))
      .map((c) => `${c.action} ${c.name}`);
    t.same(
      readsBefore.sort(),
      [
        'GetInstanceProfile toil-once-leader',
        'GetInstanceProfile toil-once-worker',
        'GetRole toil-once-leader',
        'GetRole toil-once-worker',
      ],
      'each of the four names was read once before anything was made',
    );
    t.equal(
      calls.filter((c) => c.action === 'GetRole').length,
      2,
      'a role is read once per launch (nothing reads it once it is made)',
    );
  },
);
