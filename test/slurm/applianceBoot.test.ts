import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ssmSdk } from '../../src/common/awsSdkPackages.js';
import { freeLoopbackPort, waitForNodeState } from '../../src/localcloud/slurm/cluster.js';
import { slurmNodeSize } from '../../src/main/slurmBoot.js';
import { ClusterMungeKey } from '../../src/provisioner/aws/mungeKey.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { diskOverheadBytes, packableResources } from '../../src/scaler/overhead.js';
import { SlurmCli } from '../../src/slurm/cli.js';
import { MOTO_MISSING_REASON, motoAvailable, startMoto } from '../fixtures/motoServer.js';
import { needsSlurm } from '../fixtures/slurmCluster.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

const { SSMClient } = ssmSdk();

/**
 * The appliance's Slurm boot, for real: launch-cluster's munge key in SSM (moto), the leader's
 * `toil slurm-controller` (munged + slurmctld from the slurm.conf it renders) and a worker's
 * `toil slurm-node` (munged + `slurmd -Z`, its conf fetched from the controller), each in a mount
 * namespace of its own whose /run/munge is its own folder (a machine of its own, as far as munge
 * is concerned). Only the ports, the address and the state folders differ from the appliance's.
 * The node joins with its feature and runs a job; a node fetching another cluster's key is refused.
 */
const run = promisify(execFile);
const MiB = 2 ** 20;

/** What the scaler packs onto a node of this type (its own function, from the shipped catalogue). */
function plannedMiB(name: string): number {
  const entry = catalogue.types.get(name)!;
  const type = { ...entry, diskBytes: 0, instanceStore: false, onDemandPrice: 0 };
  return Math.floor(packableResources(type, false).memoryBytes / MiB);
}
const catalogue = await readCatalogue();
t.setTimeout(120_000);

const why =
  needsSlurm() ||
  (motoAvailable() ? undefined : MOTO_MISSING_REASON) ||
  (spawnSync('sh', ['-c', 'command -v munged']).status === 0
    ? undefined
    : 'munged is not installed (apt-get install munge)');

/** `toil ARGS` as root in its own mount and PID namespace, /run/munge bound to `mungeDir`. */
function bootInNamespace(
  mungeDir: string,
  args: string[],
  env: Record<string, string>,
  log: string,
): ChildProcess {
  const toil = [process.execPath, path.join(REPO_ROOT, 'bin/toil.js'), ...args]
    .map((w) => `'${w}'`)
    .join(' ');
  const out = fs.openSync(log, 'a');
  try {
    return spawn(
      'setpriv',
      [
        '--pdeathsig',
        'KILL',
        'unshare',
        '--mount',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '--propagation',
        'private',
        'sh',
        '-c',
        // A tmpfs over /run (this namespace only): no folder is made on the host.
        `mount -t tmpfs toil-boot /run && mkdir /run/munge && mount --bind '${mungeDir}' /run/munge && exec ${toil}`,
      ],
      { env: { ...process.env, ...env }, stdio: ['ignore', out, out] },
    );
  } finally {
    fs.closeSync(out);
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // unshare --kill-child: everything in the namespace dies with it.
    child.kill('SIGKILL');
  });
}

t.test(
  'toil slurm-controller + toil slurm-node with the munge key from SSM: the node joins with its feature and runs a job; another cluster’s key is refused',
  { skip: why },
  async (t) => {
    // Short: a UNIX socket's path has at most 107 bytes, and the test's fixture folder is long.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'toil-boot-'));
    t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
    for (const d of ['ctl-munge', 'node-munge', 'stranger-munge', 'state']) fs.mkdirSync(path.join(root, d));
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const ssm = new SSMClient({
      region: 'us-west-2',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    t.teardown(() => ssm.destroy());
    await new ClusterMungeKey({ ssm, clusterName: 'boot' }).create({ clusterName: 'boot' });
    await new ClusterMungeKey({ ssm, clusterName: 'stranger' }).create({ clusterName: 'stranger' });
    const env = {
      AWS_ENDPOINT_URL_SSM: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const dir = path.join(root, 'state');
    const conf = path.join(root, 'slurm.conf');
    const common = ['--region', 'us-west-2', '--dir', dir];
    // The test's own client reaches the controller's munged (the conf names none: the default socket).
    const clientConf = path.join(root, 'client.conf');
    const cli = new SlurmCli({ conf: clientConf });
    const controllerOut = path.join(root, 'controller.out');
    let port: number;
    // A port found free can be taken by another process before slurmctld binds it (other test
    // files run beside this one): then slurmctld exits at once, and is started again on others.
    for (let start = 1; ; start++) {
      port = await freeLoopbackPort();
      const slurmdPort = await freeLoopbackPort();
      const child = bootInNamespace(
        path.join(root, 'ctl-munge'),
        [
          'slurm-controller',
          '--clusterName',
          'boot',
          ...common,
          ...['--conf', conf, '--port', String(port), '--slurmd-port', String(slurmdPort)],
          ...['--address', '127.0.0.1', '--munge-dir', path.join(root, 'ctl-key')],
          '--conf-line',
          'CommunicationParameters=NoCtldInAddrAny,NoInAddrAny',
        ],
        env,
        controllerOut,
      );
      t.teardown(() => stop(child));
      const outBefore = fs.existsSync(controllerOut) ? fs.statSync(controllerOut).size : 0;
      let answered = false;
      for (let waited = 0; ; waited += 200) {
        if (fs.existsSync(conf) && fs.readFileSync(conf, 'utf8').includes(`SlurmctldPort=${port}`)) {
          fs.writeFileSync(
            clientConf,
            `${fs.readFileSync(conf, 'utf8')}AuthInfo=socket=${path.join(root, 'ctl-munge', 'munge.socket.2')}\n`,
          );
          answered = await cli.ping().then(
            () => true,
            () => false,
          );
          if (answered) break;
        }
        if (child.exitCode !== null || waited > 15_000) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (answered) break;
      const said = fs.readFileSync(controllerOut, 'utf8').slice(outBefore);
      await stop(child);
      if (start < 3 && /Address already in use/.test(said)) continue;
      t.fail(`slurmctld did not answer: ${said.slice(-2000)}`);
      return;
    }
    const rendered = fs.readFileSync(conf, 'utf8');
    t.match(rendered, /^AuthType=auth\/munge$/m, 'munge authentication');
    t.match(rendered, /^SlurmctldParameters=enable_configless$/m, 'configless');
    t.notMatch(rendered, /cloud_dns/);

    const node = bootInNamespace(
      path.join(root, 'node-munge'),
      [
        'slurm-node',
        '--clusterName',
        'boot',
        ...common,
        ...['--conf-server', `127.0.0.1:${port}`, '--feature', 'spot', '--node-name', 'i-0b00700000000001'],
        ...['--instance-type', 't2.medium'],
        ...['--munge-dir', path.join(root, 'node-key')],
      ],
      env,
      path.join(root, 'node.out'),
    );
    t.teardown(() => stop(node));
    await waitForNodeState(cli, 'i-0b00700000000001', (s) => s === 'idle', 40_000).catch((e: Error) =>
      t.fail(`${e.message}\n${fs.readFileSync(path.join(root, 'node.out'), 'utf8').slice(-2000)}`),
    );
    const joined = (await cli.nodes()).find((n) => n.name === 'i-0b00700000000001');
    t.match(
      joined,
      { features: ['spot'], address: '127.0.0.1' },
      'joined as a dynamic node with its feature',
    );
    const tmp = fs.statfsSync('/tmp');
    const tmpBytes = tmp.blocks * tmp.bsize;
    t.match(
      joined,
      {
        cpus: 2,
        memoryMb: plannedMiB('t2.medium'),
        tmpDiskMb: Math.floor((tmpBytes - diskOverheadBytes(tmpBytes)) / MiB),
      },
      'sized as the scaler packs a t2.medium; its /tmp less the disk reserve',
    );

    const out = path.join(root, 'job.out');
    await run(
      'sbatch',
      ['--constraint=spot', '--mem=64', '-o', out, '--wrap', 'echo ran on $SLURMD_NODENAME'],
      {
        env: { ...process.env, SLURM_CONF: clientConf },
      },
    );
    for (
      let waited = 0;
      !(fs.existsSync(out) && fs.readFileSync(out, 'utf8').includes('\n'));
      waited += 200
    ) {
      if (waited > 30_000) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    t.equal(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '(no output)', 'ran on i-0b00700000000001\n');

    // A cluster without a key (never launched, or destroyed): one line, exit 2.
    const nokey = await runToil(
      [
        'slurm-node',
        ...['--clusterName', 'nokey', ...common, '--conf-server', `127.0.0.1:${port}`, '--feature', 'spot'],
        ...['--node-name', 'i-0000000000000003', '--instance-type', 't2.medium'],
      ],
      { env },
    );
    t.equal(nokey.code, 2, 'no key: exit 2');
    t.match(nokey.stderr, /^toil: the cluster's munge key \/toil\/nokey\/munge-key is not in SSM/m);
    t.notMatch(nokey.stderr, /\n\s+at /, 'no stack trace');

    // Another cluster's key: its munge credentials mean nothing to this controller.
    const stranger = bootInNamespace(
      path.join(root, 'stranger-munge'),
      [
        'slurm-node',
        '--clusterName',
        'stranger',
        ...common,
        ...['--conf-server', `127.0.0.1:${port}`, '--feature', 'spot', '--node-name', 'i-0bad000000000002'],
        ...['--instance-type', 't2.medium'],
        ...['--munge-dir', path.join(root, 'stranger-key')],
      ],
      env,
      path.join(root, 'stranger.out'),
    );
    t.teardown(() => stop(stranger));
    const strangerCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 30_000);
      stranger.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    t.equal(strangerCode, 1, 'its boot fails (slurmd cannot fetch its conf) and exits 1');
    t.match(
      fs.readFileSync(path.join(dir, 'log', 'slurmctld.log'), 'utf8'),
      /Munge decode failed: Invalid credential/,
      'the controller refused its credential',
    );
    t.notOk(
      (await cli.nodes()).some((n) => n.name === 'i-0bad000000000002'),
      'a node with another cluster’s key never joins',
    );
  },
);

t.test(
  'a node offers what the scaler packs onto its type, never more memory than its machine has',
  async (t) => {
    const machine = { cpus: 8, memoryBytes: 64 * 1024 * MiB, tmpBytes: 50 * 1024 * MiB };
    for (const name of ['t2.medium', 'r5.large', 'c5.xlarge'])
      t.same(
        slurmNodeSize(machine, catalogue.types.get(name)),
        // 50 GiB less 5 GB (Toil's decimal "5G") and 5 %.
        { cpus: catalogue.types.get(name)!.cores, memoryMiB: plannedMiB(name), tmpDiskMiB: 43871 },
        name,
      );
    const small = { cpus: 2, memoryBytes: 1000 * MiB, tmpBytes: 50 * 1024 * MiB };
    t.same(
      slurmNodeSize(small, catalogue.types.get('r5.large')),
      { cpus: 2, memoryMiB: 1000, tmpDiskMiB: 43871 },
      'capped by the machine',
    );
    t.equal(
      slurmNodeSize(small, undefined).memoryMiB,
      1000 - 255,
      'unknown type: the machine less its reserve',
    );
  },
);
