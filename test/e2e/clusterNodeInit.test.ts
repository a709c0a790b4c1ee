import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { splitCommandLine } from '../../src/localcloud/ec2/nodeUserData.js';
import { CUSTOM_INIT_UNIT, type IgnitionConfig } from '../../src/provisioner/aws/userData.js';
import { imdsRead, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import {
  FAST_SCALING,
  liveWorkers,
  sleep,
  startClusterCloud,
  startLocalCloud,
} from '../fixtures/leaderE2e.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, startToil } from '../fixtures/workflowCli.js';

const { DescribeInstancesCommand, ImportKeyPairCommand } = ec2Sdk();

/**
 * Toil's TOIL_CUSTOM_INIT_COMMAND (bash on the node before the appliance starts) and
 * TOIL_CUSTOM_DOCKER_INIT_COMMAND (bash in the appliance's container before its service), on the
 * leader launch-cluster boots and on the workers a leader launches, read from the user data each
 * instance reads from the local cloud's metadata service. They were ignored: a node whose
 * appliance is in a private registry these log in to could not pull it, and nothing said so.
 */
t.setTimeout(240_000);

// What systemd would otherwise expand ($X, ${X}, %h) and quotes of both kinds, kept as written.
const HOST_INIT = `aws ecr get-login-password --region us-west-2 | docker login --username AWS --password-stdin "$REGISTRY" && echo '%h \${HOME}' > /var/lib/toil/init`;
const DOCKER_INIT = `echo "in \${HOSTNAME:-?} 100%" >> /tmp/docker-init`;
const INIT_ENV = { TOIL_CUSTOM_INIT_COMMAND: HOST_INIT, TOIL_CUSTOM_DOCKER_INIT_COMMAND: DOCKER_INIT };
/**
 * Toil's S3-compatible store for aws: job stores, as its docs set it for MinIO: every container
 * gets it, since a worker's job opens the store itself (without them it looked in AWS's S3).
 */
const S3_ENV = { TOIL_S3_HOST: 'minio.internal', TOIL_S3_PORT: '9000', TOIL_S3_USE_SSL: 'False' };

/**
 * A word of a unit's command line as the program gets it: systemd makes `%%` and `$$` one
 * character, and replaces any other `%x` (a specifier) and `$X` or `${X}` (its environment).
 */
const asRun = (word: string): string =>
  word
    .replace(/%(.)/g, (_, c: string) => (c === '%' ? '%' : `<specifier %${c}>`))
    .replace(/\$(\$|\{\w+\}|\w+)/g, (_, v: string) => (v === '$' ? '$' : `<variable ${v}>`));

function unitOf(ignition: IgnitionConfig, name: string): string {
  const unit = ignition.systemd.units.find((u) => u.name === name);
  if (!unit) throw new Error(`no ${name} in the user data`);
  return unit.contents;
}

/** The unit's `ExecStart` as the program's argv. */
function execStart(ignition: IgnitionConfig, name: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unitOf(ignition, name))?.[1] ?? '';
  return splitCommandLine(line).map(asRun);
}

/** The `-e NAME=VALUE` of a unit's `docker run`: the environment of the container it starts. */
function containerEnv(ignition: IgnitionConfig, name: string): Record<string, string> {
  const words = execStart(ignition, name);
  const env: Record<string, string> = {};
  words.forEach((w, i) => {
    if (words[i - 1] !== '-e') return;
    const at = w.indexOf('=');
    env[w.slice(0, at)] = w.slice(at + 1);
  });
  return env;
}

/** The user data an instance reads from the local cloud's metadata service. */
async function userDataOf(ec2Url: string, instanceId: string): Promise<IgnitionConfig> {
  return JSON.parse(await imdsRead(ec2Url, instanceId, 'user-data')) as IgnitionConfig;
}

/** The node's appliance units start after the init unit has run, and the containers get both commands. */
function checkNode(t: Test, ignition: IgnitionConfig, what: string, serviceUnits: readonly string[]): void {
  t.same(
    execStart(ignition, CUSTOM_INIT_UNIT),
    ['/usr/bin/bash', '-c', HOST_INIT],
    `${what}: TOIL_CUSTOM_INIT_COMMAND runs on the node, as written`,
  );
  t.match(unitOf(ignition, CUSTOM_INIT_UNIT), /^Type=oneshot$/m);
  t.match(unitOf(ignition, CUSTOM_INIT_UNIT), /^After=docker\.service$/m, `${what}: once Docker is up`);
  const appliance = ignition.systemd.units.filter((u) => u.contents.includes('/usr/bin/docker run'));
  t.ok(appliance.length >= serviceUnits.length, `${what}: ${appliance.length} units run the appliance`);
  for (const u of appliance) {
    t.match(u.contents, new RegExp(`^After=${CUSTOM_INIT_UNIT}$`, 'm'), `${what}: ${u.name} starts after it`);
    t.match(u.contents, new RegExp(`^Wants=${CUSTOM_INIT_UNIT}$`, 'm'), `${what}: ${u.name} wants it`);
  }
  for (const name of serviceUnits)
    t.match(
      containerEnv(ignition, name),
      INIT_ENV,
      `${what}: ${name}'s container gets both (its entrypoint runs TOIL_CUSTOM_DOCKER_INIT_COMMAND)`,
    );
  for (const name of serviceUnits)
    t.match(containerEnv(ignition, name), S3_ENV, `${what}: ${name}'s container gets TOIL_S3_*`);
}

t.test('launch-cluster: the leader and its static workers run both commands as they boot', async (t) => {
  const cloud = await startLocalCloud();
  t.teardown(async () => {
    cloud.child.kill('SIGTERM');
    await cloud.done;
  });
  const ec2 = testEc2Client(cloud.ec2Url);
  t.teardown(() => ec2.destroy());
  await ec2.send(
    new ImportKeyPairCommand({
      KeyName: 'e2e',
      PublicKeyMaterial: Buffer.from(
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e',
      ),
    }),
  );
  const env = { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, ...INIT_ENV, ...S3_ENV };
  const launch = await runToil(
    [
      ...['launch-cluster', 'ini', '--nodeType', 't2.medium', '--keyPairName', 'e2e'],
      ...['-w', '1', '--zone', 'us-west-2a'],
    ],
    env,
  );
  t.equal(launch.code, 0, launch.stderr);
  const instances = (
    (
      await ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'tag:clusterName', Values: ['ini'] }] }),
      )
    ).Reservations ?? []
  ).flatMap((r) => r.Instances ?? []);
  const role = (i: (typeof instances)[number]): string | undefined =>
    i.Tags?.find((x) => x.Key === 'ToilNodeType')?.Value;
  const leader = instances.find((i) => role(i) === 'leader');
  const worker = instances.find((i) => role(i) === 'worker');
  t.ok(leader && worker, 'a leader and a worker');

  const leaderData = await userDataOf(cloud.ec2Url, leader!.InstanceId!);
  checkNode(t, leaderData, 'the leader', ['toil-leader.service', 'toil-leader-daemon.service']);
  checkNode(t, await userDataOf(cloud.ec2Url, worker!.InstanceId!), 'a static worker', [
    'toil-worker.service',
  ]);

  // What the leader's daemon passes on to the workers it launches: its container's environment.
  t.match(containerEnv(leaderData, 'toil-leader-daemon.service'), { ...INIT_ENV, ...S3_ENV });
});

t.test(
  "the workers a leader launches (toil run --provisioner aws) run both commands of the leader's environment",
  async (t) => {
    const dir = testDir(t, { tmp: {} });
    const cloud = await startClusterCloud(t, 'ini', { env: { TMPDIR: join(dir, 'tmp') } });
    const run = startToil(
      [
        ...['run', join(REPO_ROOT, 'test/fixtures/workflowTree.ts'), 'file:js', '--n', '2'],
        ...['--sleepMs', '4000', '--out', 'o', '--log', 'exec.log'],
        ...['--provisioner', 'aws', '--nodeType', 't2.micro', '--maxNodes', '1', ...FAST_SCALING],
        ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster, '--zone', 'us-west-2a'],
        ...['--clusterName', 'ini'],
      ],
      {
        cwd: dir,
        env: { TMPDIR: join(dir, 'tmp'), AWS_ENDPOINT_URL_EC2: cloud.ec2Url, ...INIT_ENV, ...S3_ENV },
      },
    );
    let ignition: IgnitionConfig | undefined;
    let ended = false;
    void run.done.then(() => (ended = true));
    while (!ignition && !ended) {
      const [worker] = await liveWorkers(cloud.ec2Url);
      if (worker) ignition = await userDataOf(cloud.ec2Url, worker.id).catch(() => undefined);
      else await sleep(200);
    }
    const r = await run.done;
    t.equal(r.code, 0, r.stderr.slice(-3000));
    t.ok(ignition, "a worker's user data was read while it ran");
    if (ignition) checkNode(t, ignition, 'a launched worker', ['toil-worker.service']);
  },
);

t.test(
  'a command of more than one line is refused before anything is launched, naming its variable',
  async (t) => {
    for (const [name, value, what] of [
      ['TOIL_CUSTOM_INIT_COMMAND', 'docker login a\ndocker login b', 'newline'],
      ['TOIL_CUSTOM_DOCKER_INIT_COMMAND', 'echo a\techo b', 'tab'],
    ] as const) {
      const r = await runToil(
        [
          ...['launch-cluster', 'ini', '--nodeType', 't2.medium', '--keyPairName', 'e2e'],
          ...['--zone', 'us-west-2a'],
        ],
        // Nothing answers here: a launch that went on would fail on its first call instead.
        { AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9', [name]: value },
      );
      oneLineRefusal(
        t,
        name,
        r,
        new RegExp(
          `^toil: ${name}: ${JSON.stringify(value).replace(/\\/g, '\\\\')} contains a ${what}: expected one line of bash \\(join commands with ; or &&\\)$`,
        ),
      );
    }
    const r = await runToil(
      [
        ...['launch-cluster', 'ini', '--nodeType', 't2.medium', '--keyPairName', 'e2e'],
        ...['--zone', 'us-west-2a'],
      ],
      { AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9', ...S3_ENV, TOIL_S3_PORT: 'nine' },
    );
    oneLineRefusal(
      t,
      'TOIL_S3_PORT',
      r,
      /^toil: TOIL_S3_PORT: 'nine' is not a port \(expected a whole number from 1 to 65535\)$/,
    );
  },
);

t.test("the appliance's entrypoint runs TOIL_CUSTOM_DOCKER_INIT_COMMAND before the service", async (t) => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
  t.equal(entrypoint[0], '/bin/sh', 'an entrypoint through sh');
  const dir = testDir(t, {});
  const trace = join(dir, 'trace');
  // A program of the image, as the units run mesos-agent: the entrypoint execs it.
  const service = ['sh', '-c', `echo service >> ${trace}`];
  const boot = (env: Record<string, string>): string => {
    spawnSync(entrypoint[0]!, [...entrypoint.slice(1), ...service], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    });
    const out = ((): string => {
      try {
        return readFileSync(trace, 'utf8');
      } catch {
        return '';
      }
    })();
    spawnSync('rm', ['-f', trace]);
    return out;
  };
  t.equal(
    boot({ TOIL_CUSTOM_DOCKER_INIT_COMMAND: `echo "init \${BASH_VERSION:+in bash}" >> ${trace}` }),
    'init in bash\nservice\n',
    'the command, in bash, then the service',
  );
  t.equal(
    boot({ TOIL_CUSTOM_DOCKER_INIT_COMMAND: `echo init >> ${trace}; exit 3` }),
    'init\nservice\n',
    'the service starts even if the command fails, as in Toil',
  );
  t.equal(boot({}), 'service\n', 'unset: the service alone');
});

t.test(
  "the appliance's entrypoint runs TOIL_CUSTOM_DOCKER_INIT_COMMAND as root, then the service as TOIL_SERVICE_USER",
  { skip: process.getuid?.() === 0 ? false : 'needs root, as the container starts' },
  async (t) => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime'));
    t.notMatch(runtime, /^USER (?!root\b|0\b)/m, 'the container starts as root');
    t.match(runtime, /^ENV TOIL_SERVICE_USER=node$/m, "the service's user is node");
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    // A user this machine has (the image's `node` is not one here).
    const other = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim();
    t.match(other, /^[1-9]\d*$/, 'a user nobody to run the service as');
    const boot = (env: Record<string, string>): { pid: number | undefined; lines: string[] } => {
      const r = spawnSync(
        entrypoint[0]!,
        [...entrypoint.slice(1), 'sh', '-c', 'echo "service $(id -u) $(id -g) $HOME $$"'],
        {
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: '/root',
            TOIL_CUSTOM_DOCKER_INIT_COMMAND: 'echo "init $(id -u)"',
            ...env,
          },
        },
      );
      return { pid: r.pid, lines: r.stdout.trim().split('\n') };
    };
    const home = spawnSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).stdout.split(':')[5];
    const gid = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim();
    const dropped = boot({ TOIL_SERVICE_USER: 'nobody' });
    t.same(
      dropped.lines,
      ['init 0', `service ${other} ${gid} ${home} ${dropped.pid}`],
      "the command as root; the service as the user, with its home, in the entrypoint's own process (SIGTERM reaches it)",
    );
    const root = boot({ TOIL_SERVICE_USER: 'root' });
    t.same(root.lines, ['init 0', `service 0 0 /root ${root.pid}`], 'TOIL_SERVICE_USER=root (Slurm): root');
  },
);
