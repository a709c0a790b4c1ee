import t from 'tap';
import {
  APPLIANCE_LEADER_STATE,
  APPLIANCE_LEADER_TOKEN,
  buildIgnition,
  type UserDataInput,
} from '../../src/provisioner/aws/userData.js';
import { defaultTokenFile } from '../../src/leader/auth.js';

/** The daemon's bearer token is in the leader's user data (mode 0600) and nowhere in a worker's. */
const base: UserDataInput = {
  role: 'leader',
  clusterName: 'c',
  applianceImage: 'img',
  zone: 'us-west-2a',
  preemptable: false,
  tags: {},
  leaderToken: 'secret-token-0123456789',
};

t.test('the leader gets the token file where its daemon looks, and the env var naming it', async (t) => {
  const ign = buildIgnition(base);
  const file = ign.storage.files.find((f) => f.path === APPLIANCE_LEADER_TOKEN);
  t.equal(file?.mode, 0o600);
  t.equal(
    decodeURIComponent(file?.contents.source.replace(/^data:,/, '') ?? ''),
    'secret-token-0123456789\n',
  );
  t.equal(defaultTokenFile(APPLIANCE_LEADER_STATE), APPLIANCE_LEADER_TOKEN, 'the daemon finds it by default');
  const daemon = ign.systemd.units.find((u) => u.name === 'toil-leader-daemon.service');
  t.match(daemon?.contents, new RegExp(`-e TOIL_LEADER_TOKEN_FILE=${APPLIANCE_LEADER_TOKEN}`));
});

t.test('a worker never sees it', async (t) => {
  const ign = buildIgnition({ ...base, role: 'worker', leaderPrivateIp: '10.0.0.1' });
  t.notMatch(JSON.stringify(ign), /secret-token|TOIL_LEADER_TOKEN/);
});
