import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { parseLeaderConfig } from '../../src/leader/leaderConfig.js';
import { leaderNodeImage } from '../../src/main/leaderNodeImage.js';
import { AwsCluster } from '../../src/provisioner/aws/awsCluster.js';
import type { IgnitionConfig } from '../../src/provisioner/aws/userData.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { motoForClusters, testCalls } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';

const { DescribeImagesCommand, DescribeInstanceAttributeCommand, DescribeInstancesCommand } = ec2Sdk();

/**
 * A cluster launched with TOIL_AWS_AMI boots its leader from that image, and the workers the
 * leader's daemon launches must boot the same one. The config launch-cluster wrote for the daemon
 * named no image, and the daemon's container has no TOIL_AWS_AMI, so its scaler launched workers
 * from the newest Flatcar stable (or, in a region without one, refused to start). On moto, whose
 * images are not Flatcar's: the image given is one of moto's, the daemon's is read back the way
 * the daemon resolves it, from the config and the environment the leader's user data gives it.
 */
t.setTimeout(180_000);

/** A file the Ignition config writes, as the instance reads it. */
function ignitionFile(ignition: IgnitionConfig, path: string): string {
  const file = ignition.storage.files.find((f) => f.path === path);
  if (!file) throw new Error(`no ${path} in the user data`);
  return decodeURIComponent(file.contents.source.replace(/^data:,/, ''));
}

/** The `-e NAME=VALUE` of a unit's `docker run`: the environment of the process it starts. */
function containerEnv(ignition: IgnitionConfig, unitName: string): Record<string, string> {
  const unit = ignition.systemd.units.find((u) => u.name === unitName);
  if (!unit) throw new Error(`no ${unitName} in the user data`);
  const execStart = /^ExecStart=(.*)$/m.exec(unit.contents)?.[1] ?? '';
  const env: Record<string, string> = {};
  for (const m of execStart.matchAll(/ -e (?:"((?:[^"\\]|\\.)*)"|(\S+))/g)) {
    const pair = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!;
    const at = pair.indexOf('=');
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

t.test(
  "the leader's daemon launches its workers from the image launch-cluster booted the leader from (TOIL_AWS_AMI); TOIL_AWS_AMI in the daemon's environment still wins",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { ec2, env } = await motoForClusters(t);
    const given = env.TOIL_AWS_AMI!;
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images ?? [];
    const other = images.find((i) => i.ImageId !== given)?.ImageId;
    if (!other) throw new Error('moto lists one image only');

    const r = await runToil(
      [
        ...['launch-cluster', 'img', '--leaderNodeType', 't2.medium', '--nodeTypes', 't2.micro', '-w', '0'],
        ...['--zone', 'us-west-2a', '--keyPairName', 'k'],
      ],
      env,
    );
    t.equal(r.code, 0, `launched (stderr: ${r.stderr.slice(0, 2000)})`);
    const leader = ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [])
      .flatMap((res) => res.Instances ?? [])
      .find((i) => i.Tags?.some((tag) => tag.Key === 'ToilNodeType' && tag.Value === 'leader'));
    t.equal(leader?.ImageId, given, 'the leader boots TOIL_AWS_AMI');

    const attribute = await ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: leader!.InstanceId!, Attribute: 'userData' }),
    );
    const ignition = JSON.parse(
      Buffer.from(attribute.UserData?.Value ?? '', 'base64').toString('utf8'),
    ) as IgnitionConfig;
    const cfg = parseLeaderConfig(
      ignitionFile(ignition, '/etc/toil/leader.yaml'),
      await readCatalogue(),
      '/etc/toil/leader.yaml',
    );
    const p = cfg.provisioner;
    if (p.kind !== 'aws') throw new Error('the leader config is not of an aws provisioner');
    t.equal(p.imageId, given, "the daemon's config names the leader's image");
    const daemonEnv = containerEnv(ignition, 'toil-leader-daemon.service');
    t.equal(daemonEnv['TOIL_AWS_ZONE'], 'us-west-2a', "the daemon's environment is read from its unit");

    const cluster = new AwsCluster({
      calls: testCalls(ec2),
      clusterName: 'img',
      clock: new RealClock(),
      log: silentLogger(),
    });
    const workersImage = (daemonEnvironment: Record<string, string>): Promise<string> =>
      leaderNodeImage(cluster, cfg, p, daemonEnvironment, 'us-west-2').then(
        (image) => image.imageId,
        (e: unknown) => `refused: ${(e as Error).message}`,
      );
    t.equal(await workersImage(daemonEnv), given, 'the daemon launches its workers from the same image');
    t.equal(
      await workersImage({ ...daemonEnv, TOIL_AWS_AMI: other }),
      other,
      "TOIL_AWS_AMI set in the daemon's environment still wins, as Toil documents it",
    );
  },
);
