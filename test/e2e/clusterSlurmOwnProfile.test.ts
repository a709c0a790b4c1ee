import t from 'tap';
import { localEc2WithMotoSsm } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';

/**
 * A Slurm cluster launched with a profile of the user's own (--awsEc2ProfileArn) gets no roles of
 * its own: the line about its munge key says the nodes read it through that profile, which must
 * allow it, instead of claiming only the cluster's roles may.
 */
t.setTimeout(180_000);

t.test(
  'launch-cluster -T slurm --awsEc2ProfileArn names the profile that must read the munge key',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { env } = await localEc2WithMotoSsm(t);
    const profile = 'arn:aws:iam::123456789012:instance-profile/mine';
    const r = await runToil(
      [
        'launch-cluster',
        'own',
        ...['-T', 'slurm', '--nodeType', 't2.medium', '--awsEc2ProfileArn', profile],
        ...['--zone', 'us-west-2a', '--keyPairName', 'k'],
      ],
      env,
    );
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stdout,
      `munge key stored as SSM SecureString /toil/own/munge-key (the nodes read it through ${profile}, which must allow ssm:GetParameter on it)`,
    );
    t.notMatch(r.stdout, /only this cluster's roles/);
  },
);
