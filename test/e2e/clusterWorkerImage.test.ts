import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { autoscaleStateDir } from '../../src/cli/autoscaleRunState.js';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { parseLeaderConfig } from '../../src/leader/leaderConfig.js';
import type { ClusterLeader } from '../../src/cli/leaderMesosMaster.js';
import { runNodeImage } from '../../src/cli/runNodeImage.js';
import { leaderNodeImage } from '../../src/main/leaderNodeImage.js';
import { leaderStateStores } from '../../src/main/leaderState.js';
import { AwsCluster } from '../../src/provisioner/aws/awsCluster.js';
import type { IgnitionConfig } from '../../src/provisioner/aws/userData.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { emptyTickState } from '../../src/scaler/tick/state.js';
import { motoForClusters, testCalls } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable } from '../fixtures/motoServer.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil as runWorkflow } from '../fixtures/workflowCli.js';

const {
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} = ec2Sdk();

/**
 * A cluster launched with TOIL_AWS_AMI boots its leader from that image, and the workers the
 * leader's daemon launches must boot the same one. The config launch-cluster wrote for the daemon
 * named no image, and the daemon's container has no TOIL_AWS_AMI, so its scaler launched workers
 * from the newest Flatcar stable (or, in a region without one, refused to start). On moto, whose
 * images are not Flatcar's: the image given is one of moto's, the daemon's is read back the way
 * the daemon resolves it, from the config and the environment the leader's user data gives it.
 */
t.setTimeout(300_000);

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

/** Cluster 'img' launched with the environment's TOIL_AWS_AMI: its leader, checked to boot that image. */
async function launchCluster(
  t: Test,
  ec2: EC2Client,
  env: Record<string, string>,
): Promise<Instance | undefined> {
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
  t.equal(leader?.ImageId, env.TOIL_AWS_AMI, 'the leader boots TOIL_AWS_AMI');
  return leader;
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

    const leader = await launchCluster(t, ec2, env);

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

/**
 * `toil run --provisioner aws` on the cluster's leader (ssh-cluster: its shell has no
 * TOIL_AWS_AMI) took the newest Flatcar stable for its workers, whatever image the cluster was
 * launched with; on moto, which has no Flatcar image, it was refused for the lack of one. Its
 * workers now boot the image of the cluster's running leader, as EC2 lists it, unless TOIL_AWS_AMI
 * names another. The image a run would launch is read from its root-volume check, which refuses
 * a --nodeStorage under the image's root snapshot naming the image it checked (the one the run's
 * leader is given), and from the image lookup itself, which also gives the line the run says.
 */
t.test(
  "toil run --provisioner aws launches its workers from the image of the cluster's leader when TOIL_AWS_AMI is unset",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { ec2, env } = await motoForClusters(t);
    const given = env.TOIL_AWS_AMI!;
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images ?? [];
    const rootGiB = (id: string): number =>
      images.find((i) => i.ImageId === id)?.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize ?? 0;
    const other = images.find((i) => i.ImageId !== given && rootGiB(i.ImageId!) >= 8)?.ImageId;
    if (!other) throw new Error('moto lists no second image with a root snapshot of 8 GiB or more');
    t.ok(rootGiB(given) >= 8, `the cluster's image has a root snapshot (${rootGiB(given)} GiB)`);

    const leaderId = (await launchCluster(t, ec2, env))!.InstanceId!;

    const dir = testDir(t, { work: {}, 'slurm.conf': 'ClusterName=img\n' });
    const { TOIL_AWS_AMI: _launchedWith, ...leaderShell } = env;
    // Slurm's run asks no master before the image is looked up; the cluster is looked for all the same.
    const run = (giB: number, more: Record<string, string>) =>
      runWorkflow(
        [
          ...['run', join(REPO_ROOT, 'test/fixtures/workflowDeclaresNothing.ts'), `file:${join(dir, 'js')}`],
          ...['--provisioner', 'aws', '--nodeTypes', 't2.medium', '--maxNodes', '1'],
          ...['--batchSystem', 'slurm', '--zone', 'us-west-2a', '--clusterName', 'img'],
          ...['--workDir', join(dir, 'work'), '--nodeStorage', String(giB), '--defaultDisk', '1M'],
        ],
        {
          cwd: dir,
          env: { ...leaderShell, SLURM_CONF: join(dir, 'slurm.conf'), TOIL_AWS_AMI: undefined, ...more },
        },
      );
    const checked = (image: string, giB: number) =>
      new RegExp(
        `^toil: --nodeStorage: ${giB} GiB is smaller than the root snapshot of image ${image} \\(${rootGiB(image)} GiB\\), which EC2 makes a node's root volume from: give at least ${rootGiB(image)}$`,
      );
    const under = rootGiB(given) - 1;
    oneLineRefusal(
      t,
      "no TOIL_AWS_AMI: the workers' image is the leader's",
      await run(under, {}),
      checked(given, under),
    );
    const underOther = rootGiB(other) - 1;
    oneLineRefusal(
      t,
      'TOIL_AWS_AMI set: it wins over the leader image',
      await run(underOther, { TOIL_AWS_AMI: other }),
      checked(other, underOther),
    );
    t.notOk(existsSync(join(dir, 'js')), 'no job store was made');

    // The lookup the run makes, read directly: the image, and the line the run then says.
    const saved = { ...process.env };
    t.teardown(() => {
      process.env = saved;
    });
    Object.assign(process.env, leaderShell);
    const lookup = (leaderOfRun: ClusterLeader | undefined, given?: string) =>
      runNodeImage({
        clusterName: 'img',
        given,
        leader: leaderOfRun,
        region: 'us-west-2',
        volumes: [{ flag: '--nodeStorage', giB: 50 }],
        clock: new RealClock(),
        log: silentLogger(),
      }).catch((e: unknown) => ({ imageId: `refused: ${(e as Error).message}`, line: undefined }));
    const theLeader = { instanceId: leaderId, imageId: given };
    t.same(
      await lookup(theLeader),
      {
        imageId: given,
        line: `toil: no TOIL_AWS_AMI set: workers boot ${given}, the image of cluster img's leader ${leaderId}, so they run what it runs (set TOIL_AWS_AMI for another image)`,
      },
      "the leader's image, and said why",
    );
    t.same(await lookup(theLeader, other), { imageId: other }, 'TOIL_AWS_AMI wins, and needs no line');
    t.equal(
      (await lookup(undefined)).imageId,
      'refused: no Flatcar stable image found in region us-west-2: import one and set TOIL_AWS_AMI',
      'no leader known (a --restart adopting what a killed run left): the newest Flatcar stable, as before',
    );

    // The leader's image deregistered since: refused, saying how to choose another.
    await ec2.send(new DeregisterImageCommand({ ImageId: given }));
    oneLineRefusal(
      t,
      "the leader's image is gone",
      await run(under, {}),
      new RegExp(
        `^toil: the image of cluster img's leader ${leaderId}: no image '${given}' in region us-west-2, which the workers would boot as the leader does: set TOIL_AWS_AMI to the image they are to boot$`,
      ),
    );
  },
);

/**
 * `toil run --provisioner aws --restart` adopting the nodes a killed run left looks up no leader
 * with --mesosMaster given (or on Slurm): the cluster may be gone, and the run starts to release
 * them all the same. Its new workers then booted the newest Flatcar stable beside adopted ones of
 * the image the killed run launched (on moto, which has no Flatcar image, the run was refused for
 * the lack of one). They now boot the image EC2 describes the adopted nodes with: those still
 * this cluster's and not ended (one of another cluster, or terminated, is no node it adopts).
 */
t.test(
  "toil run --restart adopting a killed run's nodes, with --mesosMaster or on Slurm, launches its workers from their image",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { ec2, env } = await motoForClusters(t);
    const { TOIL_AWS_AMI: given = '', ...shell } = env;
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images ?? [];
    const rootGiB = (id: string): number =>
      images.find((i) => i.ImageId === id)?.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize ?? 0;
    const adoptedImage = images.find((i) => i.ImageId !== given && rootGiB(i.ImageId!) >= 8)?.ImageId;
    if (!adoptedImage) throw new Error('moto lists no second image with a root snapshot of 8 GiB or more');

    /** A worker of `cluster` booted from `image`: its id. */
    const worker = async (cluster: string, image: string): Promise<string> => {
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: image,
          InstanceType: 't2.medium',
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                { Key: 'clusterName', Value: cluster },
                { Key: 'ToilNodeType', Value: 'worker' },
              ],
            },
          ],
        }),
      );
      return out.Instances![0]!.InstanceId!;
    };
    const kept = await worker('img', adoptedImage);
    // Launched after it, of another image: taken, they would win as the newest.
    const elsewhere = await worker('elsewhere', given);
    const ended = await worker('img', given);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [ended] }));

    const dir = testDir(t, { work: {}, 'slurm.conf': 'ClusterName=img\n' });
    const stateDir = autoscaleStateDir(join(dir, 'work'), `file:${join(dir, 'js')}`);
    const state = new FileObjectStore(stateDir);
    await state.create();
    const owned = { launchedAt: Date.now(), pricePerHour: 0.0464 };
    await leaderStateStores(state).tickStore.save({
      ...emptyTickState(),
      owned: { [kept]: owned, [elsewhere]: owned, [ended]: owned },
    });

    const under = rootGiB(adoptedImage) - 1;
    const restart = (engine: readonly string[]) =>
      runWorkflow(
        [
          ...['run', join(REPO_ROOT, 'test/fixtures/workflowDeclaresNothing.ts'), `file:${join(dir, 'js')}`],
          ...['--restart', '--provisioner', 'aws', '--nodeTypes', 't2.medium', '--maxNodes', '1'],
          ...engine,
          ...['--zone', 'us-west-2a', '--clusterName', 'img', '--workDir', join(dir, 'work')],
          ...['--nodeStorage', String(under), '--defaultDisk', '1M'],
        ],
        { cwd: dir, env: { ...shell, SLURM_CONF: join(dir, 'slurm.conf'), TOIL_AWS_AMI: undefined } },
      );
    // Read from the root-volume check, which names the image it checked (the one launched).
    const checked = new RegExp(
      `^toil: --nodeStorage: ${under} GiB is smaller than the root snapshot of image ${adoptedImage} \\(${rootGiB(adoptedImage)} GiB\\), which EC2 makes a node's root volume from: give at least ${rootGiB(adoptedImage)}$`,
    );
    oneLineRefusal(
      t,
      '--mesosMaster: the adopted nodes’ image',
      await restart(['--batchSystem', 'mesos', '--mesosMaster', '127.0.0.1:1']),
      checked,
    );
    oneLineRefusal(t, 'Slurm: the adopted nodes’ image', await restart(['--batchSystem', 'slurm']), checked);

    // The lookup the run makes, read directly: the image, and the line the run then says.
    const saved = { ...process.env };
    t.teardown(() => {
      process.env = saved;
    });
    Object.assign(process.env, shell);
    delete process.env.TOIL_AWS_AMI;
    const lookup = (adopted: readonly string[], givenImage?: string) =>
      runNodeImage({
        clusterName: 'img',
        given: givenImage,
        leader: undefined,
        adopted,
        region: 'us-west-2',
        volumes: [{ flag: '--nodeStorage', giB: 50 }],
        clock: new RealClock(),
        log: silentLogger(),
      }).catch((e: unknown) => ({ imageId: `refused: ${(e as Error).message}`, line: undefined }));
    t.same(
      await lookup([kept, elsewhere, ended]),
      {
        imageId: adoptedImage,
        line: `toil: no TOIL_AWS_AMI set: workers boot ${adoptedImage}, the image of the killed run's node this run adopts (${kept}), so new workers match them (set TOIL_AWS_AMI for another image)`,
      },
      'the image of the node it adopts, and said why',
    );
    t.same(await lookup([kept], given), { imageId: given }, 'TOIL_AWS_AMI wins, and needs no line');
    t.equal(
      (await lookup([elsewhere, ended])).imageId,
      'refused: no Flatcar stable image found in region us-west-2: import one and set TOIL_AWS_AMI',
      'no node of its own left to match: the newest Flatcar stable, as before',
    );

    // The adopted nodes' image deregistered since: refused, saying how to choose another.
    await ec2.send(new DeregisterImageCommand({ ImageId: adoptedImage }));
    oneLineRefusal(
      t,
      "the adopted nodes' image is gone",
      await restart(['--batchSystem', 'mesos', '--mesosMaster', '127.0.0.1:1']),
      new RegExp(
        `^toil: the image of the killed run's node this run adopts \\(${kept}\\): no image '${adoptedImage}' in region us-west-2, which the workers would boot as the adopted nodes do: set TOIL_AWS_AMI to the image they are to boot$`,
      ),
    );
  },
);
