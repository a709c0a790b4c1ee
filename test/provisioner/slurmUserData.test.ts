import t from 'tap';
import { parseNodeUserData, splitCommandLine } from '../../src/localcloud/ec2/nodeUserData.js';
import {
  APPLIANCE_SLURM_CONF,
  buildIgnition,
  buildUserData,
  USER_DATA_LIMIT_BYTES,
  type UserDataInput,
} from '../../src/provisioner/aws/userData.js';

/**
 * `launch-cluster --clusterType slurm`'s user data, read as a booting node reads it: the leader
 * runs `toil slurm-controller` (munged + slurmctld) where a Mesos cluster runs the Mesos master,
 * its daemon drives Slurm through the conf that command writes; a worker runs `toil slurm-node`
 * (munged + `slurmd -Z`) against the leader's private address with its market's feature. No key
 * or token is in a worker's, and the whole stays under EC2's limit.
 */
const leaderInput: UserDataInput = {
  role: 'leader',
  clusterName: 'lab',
  applianceImage: 'quay.io/ucsc_cgl/toil:9.1.0',
  zone: 'us-west-2a',
  preemptable: false,
  tags: { clusterName: 'lab', Owner: 'me' },
  leaderToken: 'secret-token-0123456789',
  clusterType: 'slurm',
};
const worker = (preemptable: boolean): UserDataInput => ({
  ...leaderInput,
  role: 'worker',
  leaderPrivateIp: '10.0.3.7',
  preemptable,
  leaderToken: undefined,
});

function execStart(ign: ReturnType<typeof buildIgnition>, unit: string): string[] {
  const contents = ign.systemd.units.find((u) => u.name === unit)?.contents ?? '';
  const line = contents.split('\n').find((l) => l.startsWith('ExecStart=')) ?? '';
  return splitCommandLine(line.slice('ExecStart='.length));
}

t.test('the leader runs munged + slurmctld, not the Mesos master; its daemon reads that conf', async (t) => {
  const ign = buildIgnition(leaderInput);
  const controller = execStart(ign, 'toil-leader.service');
  t.notOk(
    controller.some((w) => w.startsWith('mesos')),
    'no Mesos master',
  );
  const at = controller.indexOf('slurm-controller');
  t.same(controller.slice(at - 2, at + 5), [
    'quay.io/ucsc_cgl/toil:9.1.0',
    'toil',
    'slurm-controller',
    '--clusterName=lab',
    '--region=us-west-2',
    '--port=6817',
    `--conf=${APPLIANCE_SLURM_CONF}`,
  ]);
  for (const unit of ['toil-leader.service', 'toil-leader-daemon.service']) {
    const words = execStart(ign, unit);
    t.ok(words.includes('--user=0'), `${unit}: root in its container (scontrol, munged)`);
    t.ok(words.includes('TOIL_SERVICE_USER=root'), `${unit}: its service runs as root, not node`);
    for (const v of ['/etc/slurm', '/run/munge'])
      t.ok(words.includes(`${v}:${v}`), `${unit} shares ${v} with the host`);
  }
  const yaml = decodeURIComponent(
    ign.storage.files.find((f) => f.path === '/etc/toil/leader.yaml')!.contents.source.slice('data:,'.length),
  );
  t.match(yaml, /kind: slurm/);
  t.match(yaml, new RegExp(`slurmConf: ${APPLIANCE_SLURM_CONF}`));
  t.same(parseNodeUserData(buildUserData(leaderInput))?.engine, 'slurm', 'the local cloud reads it as Slurm');
});

t.test('a worker runs munged + slurmd -Z against the leader, featured by its market', async (t) => {
  for (const [preemptable, feature] of [
    [true, 'spot'],
    [false, 'ondemand'],
  ] as const) {
    const ign = buildIgnition(worker(preemptable));
    const words = execStart(ign, 'toil-worker.service');
    t.notOk(
      words.some((w) => w.startsWith('mesos')),
      'no Mesos agent',
    );
    t.ok(words.includes('--user=0'));
    t.ok(words.includes('TOIL_SERVICE_USER=root'), 'slurmd runs as root, not node');
    const at = words.indexOf('slurm-node');
    t.same(words.slice(at, at + 5), [
      'slurm-node',
      '--clusterName=lab',
      '--region=us-west-2',
      '--conf-server=10.0.3.7:6817',
      `--feature=${feature}`,
    ]);
    const spec = parseNodeUserData(buildUserData(worker(preemptable)));
    t.match(spec, { role: 'worker', engine: 'slurm', master: '10.0.3.7:6817', features: [feature] });
  }
});

t.test('nothing secret in a worker’s user data; a big cluster’s stays under 16 KiB', async (t) => {
  const ign = buildIgnition(worker(true));
  t.same(
    ign.storage.files.map((f) => f.path),
    ['/etc/coreos/update.conf'],
    'no file but the update policy (no key, no token)',
  );
  t.notMatch(JSON.stringify(ign), /secret-token|TOKEN|munge\.key|SecureString|BEGIN/);
  const tags = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`tag${i}`, 'v'.repeat(100)]));
  const keys = Array.from({ length: 10 }, (_, i) => `ssh-ed25519 ${'A'.repeat(68)} key${i}`);
  for (const input of [leaderInput, worker(true)]) {
    const b64 = buildUserData({ ...input, tags, sshAuthorizedKeys: keys });
    t.ok(Buffer.from(b64, 'base64').length <= USER_DATA_LIMIT_BYTES, `${input.role}: within EC2's limit`);
  }
});
