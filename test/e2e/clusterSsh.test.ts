import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { SSHD_MISSING_REASON, sshdAvailable, startSshd } from '../fixtures/sshd.js';

const { ImportKeyPairCommand } = ec2Sdk();

/**
 * ssh-cluster and rsync-cluster against a real sshd on 127.0.0.1: the leader's address comes from
 * the local EC2 endpoint (its instances report public address 127.0.0.1), the port and identity
 * from --sshOption, exactly as a user would reach a leader behind a non-standard port.
 */
t.test(
  'ssh-cluster and rsync-cluster reach the leader the EC2 endpoint names',
  { skip: sshdAvailable() ? false : SSHD_MISSING_REASON },
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 100 });
    t.teardown(() => endpoint.stop());
    const sshd = await startSshd();
    t.teardown(() => sshd.stop());
    const pub = readFileSync(`${sshd.identity}.pub`, 'utf8');
    await testEc2Client(endpoint.url).send(
      new ImportKeyPairCommand({ KeyName: 'ssh-test', PublicKeyMaterial: Buffer.from(pub) }),
    );
    const env = { AWS_ENDPOINT_URL_EC2: endpoint.url, TOIL_AWS_ZONE: 'us-west-2a' };
    const launched = await runToil(
      [
        'launch-cluster',
        'sshtest',
        '--nodeType',
        't2.medium',
        '--keyPairName',
        'ssh-test',
        '--sshCidr',
        '127.0.0.1/32',
      ],
      env,
    );
    t.equal(launched.code, 0, launched.stderr);
    t.match(launched.stdout, /leader i-[0-9a-f]+ running: private 10\.0\.\d+\.\d+, public 127\.0\.0\.1/);

    const opts = sshd.sshOptions.flatMap((o) => ['--sshOption', o]);
    const hello = await runToil(
      ['ssh-cluster', '--insecure', ...opts, 'sshtest', 'echo', 'hello-from-the-leader'],
      env,
    );
    t.equal(hello.code, 0, hello.stderr);
    t.equal(hello.stdout.trim(), 'hello-from-the-leader', 'the command ran in the leader container over ssh');

    const failing = await runToil(
      ['ssh-cluster', '--insecure', ...opts, 'sshtest', 'sh', '-c', 'exit 7'],
      env,
    );
    t.equal(failing.code, 7, 'the remote exit code comes back');

    const strictUnknown = await runToil(
      [
        'ssh-cluster',
        ...opts,
        '--sshOption',
        `-oUserKnownHostsFile=${join(sshd.dir, 'empty_known_hosts')}`,
        'sshtest',
        'true',
      ],
      env,
    );
    t.not(strictUnknown.code, 0, 'without --insecure an unknown host key is refused');
    t.match(strictUnknown.stderr, /Host key verification failed|No .* host key is known/);
    const strictKnown = await runToil(
      [
        'ssh-cluster',
        ...opts,
        '--sshOption',
        `-oUserKnownHostsFile=${sshd.knownHosts}`,
        'sshtest',
        'echo',
        'trusted',
      ],
      env,
    );
    t.equal(strictKnown.code, 0, strictKnown.stderr);
    t.equal(strictKnown.stdout.trim(), 'trusted', 'a known host key passes strict checking');

    const work = mkdtempSync(join(tmpdir(), 'rsync-cluster-'));
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    writeFileSync(join(work, 'sort.ts'), 'export default 42;\n');
    const up = await runToil(
      ['rsync-cluster', '--insecure', ...opts, 'sshtest', join(work, 'sort.ts'), `:${join(work, 'remote')}/`],
      env,
    );
    t.equal(up.code, 0, up.stderr);
    t.equal(
      readFileSync(join(work, 'remote', 'sort.ts'), 'utf8'),
      'export default 42;\n',
      'the file arrived on the leader side',
    );
    const down = await runToil(
      [
        'rsync-cluster',
        '--insecure',
        ...opts,
        'sshtest',
        `:${join(work, 'remote', 'sort.ts')}`,
        join(work, 'back.ts'),
      ],
      env,
    );
    t.equal(down.code, 0, down.stderr);
    t.ok(existsSync(join(work, 'back.ts')), 'and came back');

    const noRemote = await runToil(['rsync-cluster', 'sshtest', 'a', 'b'], env);
    t.equal(noRemote.code, 2);
    t.match(noRemote.stderr, /^toil: rsync-cluster: name the leader's side with a leading ':'/);
    const noCluster = await runToil(['ssh-cluster', '--insecure', ...opts, 'nosuchcluster', 'true'], env);
    t.equal(noCluster.code, 2);
    t.match(
      noCluster.stderr,
      /^toil: cluster 'nosuchcluster' has no leader in region us-west-2; clusters here: sshtest; check the name and --zone\n$/,
      'names the clusters that do exist, as destroy-cluster does',
    );
    const noClusterRsync = await runToil(
      ['rsync-cluster', '--insecure', ...opts, 'nosuchcluster', 'a', ':b'],
      env,
    );
    t.equal(noClusterRsync.code, 2);
    t.match(
      noClusterRsync.stderr,
      /^toil: cluster 'nosuchcluster' has no leader in region us-west-2; clusters here: sshtest; check the name and --zone\n$/,
      'rsync-cluster too',
    );

    const destroyed = await runToil(['destroy-cluster', 'sshtest'], env);
    t.equal(destroyed.code, 0, destroyed.stderr);
  },
);
