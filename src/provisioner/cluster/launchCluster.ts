import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { ConfigError } from '../../common/configErrors.js';
import { UserInputError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { AwsCluster, foreignSecurityGroup } from '../aws/awsCluster.js';
import { AwsProvisioner, type AwsClusterSettings } from '../aws/awsProvisioner.js';
import type { NodeInitCommands } from '../nodeInit.js';
import type { NodeS3Variables } from '../nodeS3Endpoint.js';
import { applianceLeaderConfig, type ClusterType } from '../aws/userData.js';
import {
  estimatedPricesWarning,
  parseLeaderConfigObject,
  type LeaderConfig,
} from '../../leader/leaderConfig.js';
import type { ClusterIam } from '../aws/clusterIam.js';
import type { Ec2Calls } from '../aws/ec2Calls.js';
import type { ClusterMungeKey } from '../aws/mungeKey.js';
import { notToilsRefusal } from '../aws/notToils.js';
import { clusterTags } from '../aws/tags.js';
import { isProvisionerError } from '../errors.js';
import { LaunchMade, removalSummary, removeWhatLaunchMade } from './launchMade.js';
import type { ProvisionedNode } from '../../ports/provisioner.js';
import { checkRootVolumesFitImage, nodeImage } from './nodeImage.js';
import { checkClusterPlace, regionOfZone, type NodeTypeSpec } from './validate.js';

export interface LaunchClusterOptions {
  readonly clusterName: string;
  readonly zone: string;
  readonly zoneSource: string;
  readonly leaderNodeType: string;
  readonly nodeTypes: readonly NodeTypeSpec[];
  /** Static workers per entry of nodeTypes. */
  readonly workers: readonly number[];
  readonly keyPairName: string;
  readonly owner: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly leaderStorageGiB: number;
  readonly nodeStorageGiB: number;
  /** --nodeStorageOverrides: the root volume of the worker types it names, instead of nodeStorageGiB. */
  readonly nodeStorageOverridesGiB?: Readonly<Record<string, number>>;
  readonly sshCidr?: string;
  /** TOIL_AWS_AMI; else the newest Flatcar stable image. */
  readonly imageId?: string;
  readonly applianceImage: string;
  /** TOIL_CUSTOM_INIT_COMMAND and TOIL_CUSTOM_DOCKER_INIT_COMMAND: every node runs them as it boots. */
  readonly nodeInit?: NodeInitCommands;
  /** TOIL_S3_HOST, TOIL_S3_PORT, TOIL_S3_USE_SSL: every node's containers get them. */
  readonly s3Variables?: NodeS3Variables;
  /** --awsEc2ProfileArn: one existing profile for every node; no IAM is made. */
  readonly instanceProfileArn?: string;
  /** --vpcSubnet: the subnet the leader and the static workers go into; else the zone's default one. */
  readonly subnetId?: string;
  /** --awsEc2ExtraSecurityGroupId: groups of the cluster's VPC the nodes join besides its own. */
  readonly extraSecurityGroupIds?: readonly string[];
  /** --clusterType: the engine the leader's daemon drives (default mesos, as in Toil). */
  readonly clusterType?: ClusterType;
  readonly waitTimeoutMs: number;
  readonly pollMs: number;
}

export interface LaunchClusterDeps {
  readonly calls: Ec2Calls;
  readonly clock: Clock;
  readonly log: Logger;
  /** One line of progress for the person waiting. */
  readonly progress: (line: string) => void;
  /** Makes the cluster's roles and profiles; absent on the local cloud without an IAM endpoint. */
  readonly iam?: ClusterIam;
  /**
   * --awsEc2ProfileArn: whether the account has the profile (false: it has not; undefined: IAM
   * cannot say); absent where there is no IAM to ask (the local cloud without an IAM endpoint).
   */
  readonly profileExists?: (arn: string) => Promise<boolean | undefined>;
  /** Makes a Slurm cluster's munge key (SSM); absent on the local cloud without an SSM endpoint. */
  readonly mungeKey?: ClusterMungeKey;
  /** The regions EC2 lists (partitionRegionNames); absent or undefined: the zone's region goes unchecked. */
  readonly regionNames?: () => Promise<readonly string[] | undefined>;
  /** Ctrl-C: the launch stops at its next call or wait and removes what it made; rejects with the reason. */
  readonly signal?: AbortSignal;
  /** The instance catalogue the leader's daemon checks its config against (config/instances.json). */
  readonly catalogue?: Parameters<typeof parseLeaderConfigObject>[1];
}

export interface LaunchedCluster {
  readonly securityGroupId: string;
  /** The leader's and the workers' instance profiles (made, or the one given). */
  readonly instanceProfiles?: { readonly leader: string; readonly worker: string };
  readonly leader: ProvisionedNode;
  readonly workers: readonly ProvisionedNode[];
}

/** How far a launch got: what a failure or an interruption leaves to remove. */
interface LaunchStage {
  readonly made: LaunchMade;
  /** The leader runs: the cluster is kept whatever fails after. */
  leaderRunning: boolean;
  /** A concurrent launch of the name keeps it: its group and IAM, which this one may have made, are its own. */
  lostToRival: boolean;
}

/**
 * `toil launch-cluster`: checks every input against the cloud first (zone, key pair, instance
 * types, image), then makes the security group, the leader (waiting until it runs, showing
 * progress), and the static workers. Tokens are fresh per run, so a cluster re-made under an old
 * name never gets the old instances back. A launch interrupted (`deps.signal`) once it has begun
 * making things, or failing in any way before its leader runs (a refusal of the cloud's, a
 * permission the credentials lack, an endpoint that does not answer), removes what it made and
 * only that (LaunchMade), so no group, role or instance is left billing or blocking the name; the
 * error's one line then says what was removed, or what is left and the destroy-cluster command
 * that removes it. A cluster whose leader runs is kept when a worker launch fails.
 */
export async function launchCluster(
  o: LaunchClusterOptions,
  deps: LaunchClusterDeps,
): Promise<LaunchedCluster> {
  const stage: LaunchStage = { made: new LaunchMade(), leaderRunning: false, lostToRival: false };
  const { signal } = deps;
  const clock: Clock = signal
    ? {
        now: () => deps.clock.now(),
        sleep: (ms, s) => deps.clock.sleep(ms, s ? AbortSignal.any([s, signal]) : signal),
      }
    : deps.clock;
  try {
    return await makeCluster(o, { ...deps, clock }, stage);
  } catch (e) {
    const interrupted = signal?.aborted === true;
    if (stage.made.empty || stage.lostToRival || (!interrupted && stage.leaderRunning)) throw e;
    deps.progress(
      `${interrupted ? 'interrupted' : 'the launch failed'}: removing what was made of cluster '${o.clusterName}'`,
    );
    const removal = await removeWhatLaunchMade(
      stage.made,
      {
        cluster: new AwsCluster({
          calls: deps.calls,
          clusterName: o.clusterName,
          clock: deps.clock,
          log: deps.log,
        }),
        progress: deps.progress,
        ...(deps.iam ? { iam: deps.iam } : {}),
        ...(deps.mungeKey ? { mungeKey: deps.mungeKey } : {}),
      },
      { timeoutMs: o.waitTimeoutMs, pollMs: o.pollMs },
    );
    const summary = removalSummary(removal, o.clusterName, o.zone);
    if (summary === '') throw e;
    // An interrupted launch ends with its own line (the signal's); a failed one's is its error's.
    if (interrupted) deps.progress(summary);
    else if (e instanceof Error) {
      // The CLI prints the error's message as its one line, and its class and code decide the
      // exit: the outcome of the removal is added to that line, the error otherwise as it was.
      e.message = `${e.message}; ${summary}`;
    }
    throw e;
  }
}

/**
 * A key pair belongs to one region: the usual miss is one imported into another region than the
 * cluster's, or a name mistyped, so the refusal names the region, the key pairs it does have, and
 * how to import one there.
 */
function noKeyPair(name: string, region: string, here: readonly string[]): UserInputError {
  const keyName = /^[\w.@+=:,/-]+$/.test(name) ? name : `"${name.replace(/["\\$`]/g, '\\$&')}"`;
  const shown = here.length > 10 ? [...here.slice(0, 10), `and ${here.length - 10} more`] : here;
  return new UserInputError(
    'NO_KEY_PAIR',
    `--keyPairName: no key pair named '${name}' in region ${region} (key pairs here: ${shown.join(', ') || 'none'}); a key pair belongs to one region: import yours into ${region} with 'aws ec2 import-key-pair --region ${region} --key-name ${keyName} --public-key-material fileb://YOUR_KEY.pub', or give --zone where it is`,
    { keyPairName: name, region },
  );
}

async function makeCluster(
  o: LaunchClusterOptions,
  deps: LaunchClusterDeps,
  stage: LaunchStage,
): Promise<LaunchedCluster> {
  const { calls, clock, log, signal } = deps;
  // Every step of the launch is an AWS call or a wait: a Ctrl-C is taken before the next one.
  const progress = (line: string): void => {
    signal?.throwIfAborted();
    deps.progress(line);
  };
  const cluster = new AwsCluster({ calls, clusterName: o.clusterName, clock, log });

  const regionNames = deps.regionNames ?? (() => Promise.resolve(undefined));
  await checkClusterPlace(
    { regionNames, zoneNames: () => cluster.zoneNames() },
    {
      region: regionOfZone(o.zone, o.zoneSource),
      zone: o.zone,
      source: o.zoneSource,
    },
  );
  if (!(await cluster.keyPairExists(o.keyPairName)))
    throw noKeyPair(o.keyPairName, regionOfZone(o.zone, o.zoneSource), await cluster.keyPairNames());
  if (o.instanceProfileArn && (await deps.profileExists?.(o.instanceProfileArn)) === false)
    throw new UserInputError(
      'NO_INSTANCE_PROFILE',
      `--awsEc2ProfileArn ${o.instanceProfileArn}: IAM has no instance profile of that name in this account`,
      { arn: o.instanceProfileArn },
    );
  const image = await nodeImage(cluster, o.imageId, regionOfZone(o.zone, o.zoneSource), 'NO_IMAGE');
  // --nodeStorage sizes the static workers and, in the leader's config, every worker its scaler launches.
  checkRootVolumesFitImage(
    [
      { flag: '--leaderStorage', giB: o.leaderStorageGiB },
      { flag: '--nodeStorage', giB: o.nodeStorageGiB },
      ...Object.entries(o.nodeStorageOverridesGiB ?? {}).map(([type, giB]) => ({
        flag: `--nodeStorageOverrides ${type}`,
        giB,
      })),
    ],
    image,
  );
  const { imageId } = image;
  const { subnetId, vpcId, mapPublicIpOnLaunch } = await clusterSubnet(cluster, o);
  const extraSecurityGroupIds = await checkExtraSecurityGroups(cluster, o, vpcId);
  const base = clusterTags({ clusterName: o.clusterName, owner: o.owner, extraTags: o.tags });
  const settings: AwsClusterSettings = {
    clusterName: o.clusterName,
    zone: o.zone,
    imageId,
    keyName: o.keyPairName,
    applianceImage: o.applianceImage,
    ...(o.nodeInit ? { nodeInit: o.nodeInit } : {}),
    ...(o.s3Variables ? { s3Variables: o.s3Variables } : {}),
    owner: o.owner,
    extraTags: o.tags,
    nodeStorageGiB: o.nodeStorageGiB,
    ...(o.nodeStorageOverridesGiB ? { nodeStorageOverridesGiB: o.nodeStorageOverridesGiB } : {}),
    leaderStorageGiB: o.leaderStorageGiB,
    ...(o.instanceProfileArn ? { instanceProfileArn: o.instanceProfileArn } : {}),
    // The daemon's bearer token, on the leader only: `toil run --leader` there finds it.
    leaderToken: randomBytes(32).toString('base64url'),
    // The leader's daemon scales the worker types launch-cluster was given.
    ...(o.nodeTypes.length > 0 ? { workerNodeTypes: o.nodeTypes } : {}),
    ...(o.clusterType ? { clusterType: o.clusterType } : {}),
    subnetId,
    vpcId,
    ...(extraSecurityGroupIds.length > 0 ? { extraSecurityGroupIds } : {}),
  };
  let provisioner = new AwsProvisioner({ calls, clock, log, settings });
  // Instance types are checked through the port, so a typo gets a "did you mean" before anything is made.
  const typeInfos = await provisioner.instanceTypes([
    ...new Set([o.leaderNodeType, ...o.nodeTypes.map((t) => t.instanceType)]),
  ]);
  // The nodes boot an x86_64 image, and Toil refuses other architectures for a Mesos cluster
  // (ClusterCombinationNotSupportedException); EC2 would refuse the image on a Graviton type only
  // once the group and the IAM were made, or launch a leader whose workers never come.
  for (const info of typeInfos)
    if (info.architectures.length > 0 && !info.architectures.includes('x86_64'))
      throw new UserInputError(
        'BAD_NODE_TYPES',
        `${info.name === o.leaderNodeType ? '--leaderNodeType' : '--nodeTypes'}: ${info.name} is an ${info.architectures.join('/')} instance type: the nodes boot an x86_64 image and a Mesos cluster runs on amd64 only, as in Toil; choose an x86_64 type (c5, m5, r5, t3 …)`,
        { instanceType: info.name, architectures: [...info.architectures] },
      );

  if (deps.catalogue) {
    const priceWarning = estimatedPricesWarning(checkLeaderBootConfig(o, imageId, deps.catalogue).scaler);
    if (priceWarning) log.warn({ zone: o.zone }, priceWarning);
  }

  // A group, IAM role or profile, or munge key parameter of the cluster's name toil-ts did not make
  // is someone else's: the name is not free, and destroy-cluster (the usual advice) leaves them, so
  // only another name will do. All are named at once, so the next name is picked knowing them all.
  const keyOwner = o.clusterType === 'slurm' ? await deps.mungeKey?.owner('launch-cluster') : undefined;
  // Read once: ensure() below is given what was read here rather than reading each name again.
  const iamHeld = deps.iam && !o.instanceProfileArn ? await deps.iam.namesHeld() : undefined;
  const notToils = [
    ...(await cluster.securityGroupsNamedAfterCluster(vpcId))
      .filter((g) => !g.madeByToil)
      .map((g) => foreignSecurityGroup(o.clusterName, g.groupId)),
    ...(iamHeld?.others ?? []),
    ...(keyOwner === 'other' && deps.mungeKey ? [deps.mungeKey.notToils()] : []),
  ];
  if (notToils.length > 0) throw notToilsRefusal(o.clusterName, notToils);
  const existing = await cluster.liveInstances();
  if (existing.length > 0)
    throw new UserInputError(
      'CLUSTER_EXISTS',
      `cluster '${o.clusterName}' already exists (${existing.length} instance(s)); destroy it first with: toil destroy-cluster ${o.clusterName}`,
    );

  // The first thing made: the cluster's IAM, so a caller who may not create it is told before
  // anything else exists.
  signal?.throwIfAborted();
  const { made } = stage;
  let instanceProfiles: { leader: string; worker: string } | undefined;
  if (o.instanceProfileArn)
    progress(`every node gets instance profile ${o.instanceProfileArn} (--awsEc2ProfileArn); no IAM is made`);
  else if (deps.iam) {
    const profiles = await deps.iam.ensure({
      region: o.zone.slice(0, -1),
      tags: base,
      progress,
      timeoutMs: o.waitTimeoutMs,
      pollMs: o.pollMs,
      made: made.iam,
      ...(iamHeld ? { held: iamHeld } : {}),
    });
    instanceProfiles = { leader: profiles.leaderProfileArn, worker: profiles.workerProfileArn };
    provisioner = new AwsProvisioner({ calls, clock, log, settings: { ...settings, instanceProfiles } });
  } else
    progress(
      'no IAM endpoint for the local cloud (AWS_ENDPOINT_URL_IAM): the nodes get no instance profile, so no AWS credentials',
    );

  if (o.clusterType === 'slurm') {
    // Before any node boots: the leader's and the workers' boot read it (never from user data).
    if (deps.mungeKey) {
      // A key the cluster had (a failed launch's) is replaced, not made; any there now is this launch's.
      made.mungeKey = keyOwner === 'none';
      await deps.mungeKey.create(base).catch((e: unknown) => {
        // Refused: nothing was stored. No answer: it may have been.
        if (!isProvisionerError(e, 'SSM_UNREACHABLE')) made.mungeKey = false;
        throw e;
      });
      progress(
        `munge key stored as SSM SecureString ${deps.mungeKey.parameter} (${
          o.instanceProfileArn
            ? `the nodes read it through ${o.instanceProfileArn}, which must allow ssm:GetParameter on it`
            : "only this cluster's roles may read it"
        })`,
      );
    } else
      progress(
        "no SSM endpoint for the local cloud (AWS_ENDPOINT_URL_SSM): no munge key is made; the local cloud's Slurm runs with auth/none",
      );
  }

  if (o.subnetId)
    progress(
      `leader and workers go into subnet ${subnetId} (VPC ${vpcId})${mapPublicIpOnLaunch ? '' : ': it gives instances no public address, so the cluster is reachable only from inside the VPC'}`,
    );
  if (!o.sshCidr)
    progress('no --sshCidr given: SSH to the cluster stays closed (pass --sshCidr YOUR.IP/32 to open it)');
  const group = await cluster.ensureSecurityGroup({
    vpcId,
    tags: base,
    ...(o.sshCidr ? { sshCidr: o.sshCidr } : {}),
    made,
  });
  progress(`security group ${group.groupId} (${o.clusterName}) ${group.created ? 'created' : 'reused'}`);
  if (extraSecurityGroupIds.length > 0)
    progress(
      `the nodes also join ${extraSecurityGroupIds.join(', ')} (--awsEc2ExtraSecurityGroupId); destroy-cluster leaves them`,
    );

  const run = randomUUID().slice(0, 8);
  const leaderToken = `${o.clusterName}-leader-${run}`.slice(0, 64);
  const launchLeader = () => {
    made.leaderToken = leaderToken;
    return provisioner.launch({
      offering: { instanceType: o.leaderNodeType, zone: o.zone, market: 'on-demand' },
      count: 1,
      clientToken: leaderToken,
      role: 'leader',
    });
  };
  // Only a profile made just now may be unseen by EC2 for a while: one the caller named that EC2
  // refuses is refused at once rather than after the whole wait.
  const launched = instanceProfiles
    ? await untilProfileVisible(launchLeader, {
        clock,
        progress,
        timeoutMs: o.waitTimeoutMs,
        pollMs: o.pollMs,
      })
    : await launchLeader();
  const leaderId = launched.nodes[0]!.instanceId;
  progress(`leader ${leaderId} (${o.leaderNodeType}) launched; waiting for it to run`);
  let lastState = '';
  const [leader] = await cluster.waitFor([leaderId], ['running'], {
    timeoutMs: o.waitTimeoutMs,
    pollMs: o.pollMs,
    onProgress: (nodes) => {
      const state = nodes[0]?.state ?? 'pending';
      if (state !== lastState) progress(`leader ${leaderId}: ${state}`);
      lastState = state;
    },
  });
  if (!leader) throw new Error(`leader ${leaderId} vanished while starting`);
  // Two launches of one name at once both found it free above. The one whose leader was launched
  // first (by launch time, then instance id: an order both see) keeps the name; a later one
  // removes its own leader (not the group or the IAM, which the first uses too) and is refused as
  // a second launch of the name is. Checked once the leader runs: by then EC2 lists any leader
  // launched before it.
  const rival = (await cluster.liveInstances()).find(
    (n) =>
      n.role === 'leader' &&
      n.instanceId !== leaderId &&
      (n.launchTime < leader.launchTime || (n.launchTime === leader.launchTime && n.instanceId < leaderId)),
  );
  if (rival) {
    stage.lostToRival = true;
    await cluster.terminate([leaderId]);
    throw new UserInputError(
      'CLUSTER_EXISTS',
      `cluster '${o.clusterName}' was launched at the same time by another launch-cluster, whose leader ${rival.instanceId} came first and keeps it; this launch terminated its own leader ${leaderId}`,
      { clusterName: o.clusterName, leader: rival.instanceId, terminated: leaderId },
    );
  }
  stage.leaderRunning = true;
  progress(
    `leader ${leaderId} running: private ${leader.privateIp ?? '-'}, public ${leader.publicIp ?? '-'}`,
  );

  const workerIds: string[] = [];
  for (const [i, spec] of o.nodeTypes.entries()) {
    const wanted = o.workers[i] ?? 0;
    // A type given for the leader's daemon to scale, with no static workers: nothing to say.
    if (wanted === 0) continue;
    let got = 0;
    // A request may launch fewer than it asks for without an error (RunInstances with MinCount 1
    // launches what capacity allows): ask again for the rest while requests launch some. Each
    // launches at least one (the port's contract), so this ends within `wanted` requests.
    for (let attempt = 0; got < wanted && attempt < wanted; attempt++) {
      try {
        const r = await provisioner.launch({
          offering: {
            instanceType: spec.instanceType,
            zone: o.zone,
            market: spec.market,
            ...(spec.bid !== undefined ? { maxPrice: spec.bid } : {}),
            ...(o.nodeStorageOverridesGiB?.[spec.instanceType] !== undefined
              ? { rootVolumeGiB: o.nodeStorageOverridesGiB[spec.instanceType] }
              : {}),
          },
          count: wanted - got,
          clientToken: `${o.clusterName}-w${i}-${attempt}-${run}`.slice(0, 64),
          staticWorker: true,
        });
        got += r.nodes.length;
        workerIds.push(...r.nodes.map((n) => n.instanceId));
        if (r.nodes.length < r.requested && got < wanted)
          progress(
            `${spec.market} ${spec.instanceType} in ${o.zone}: EC2 launched ${r.nodes.length} of the ${r.requested} asked for in one request (as many as it had capacity for); asking again for the other ${wanted - got}`,
          );
      } catch (e) {
        if (isProvisionerError(e) && e.code === 'SPOT_PRICE_TOO_LOW') {
          // Not a shortage: the bid is what keeps these workers out, and the user can change it.
          progress(
            `spot ${spec.instanceType} in ${o.zone}: the bid $${spec.bid ?? '?'}/h is below the spot price (${e.message}): ${got} of ${wanted} launched; raise the bid (--nodeTypes ${spec.instanceType}:BID) or drop it for on-demand`,
          );
          break;
        }
        if (isProvisionerError(e) && e.disposition === 'unavailable') {
          progress(
            `no ${spec.market} capacity for ${spec.instanceType} in ${o.zone}: ${got} of ${wanted} launched`,
          );
          break;
        }
        // Any other refusal (an account limit, a permission): the leader runs, so the cluster is
        // kept with what it got, which the caller reports, instead of failing with it unmentioned.
        if (isProvisionerError(e)) {
          progress(
            `${spec.market} ${spec.instanceType} workers refused: ${e.message}: ${got} of ${wanted} launched`,
          );
          break;
        }
        throw e;
      }
    }
    progress(`${got} ${spec.market} ${spec.instanceType} worker(s) launched`);
  }
  const workers =
    workerIds.length > 0
      ? await cluster.waitFor(workerIds, ['running'], { timeoutMs: o.waitTimeoutMs, pollMs: o.pollMs })
      : [];
  if (workers.length > 0) progress(`${workers.length} worker(s) running`);
  return {
    securityGroupId: group.groupId,
    ...(instanceProfiles ? { instanceProfiles } : {}),
    leader,
    workers,
  };
}

/**
 * The leader's daemon boots with the config launch-cluster writes for it and refuses one naming a
 * node type its scaler cannot price (one EC2 has but the catalogue lacks, m1.large say): checked
 * here, before anything is made, instead of a cluster that comes up with a leader that never starts.
 */
function checkLeaderBootConfig(
  o: LaunchClusterOptions,
  imageId: string,
  catalogue: NonNullable<LaunchClusterDeps['catalogue']>,
): LeaderConfig {
  const config = applianceLeaderConfig({
    role: 'leader',
    clusterName: o.clusterName,
    applianceImage: o.applianceImage,
    zone: o.zone,
    preemptable: false,
    tags: {},
    instanceType: o.leaderNodeType,
    ...(o.nodeTypes.length > 0 ? { workerNodeTypes: o.nodeTypes } : {}),
    nodeStorageGiB: o.nodeStorageGiB,
    ...(o.nodeStorageOverridesGiB ? { nodeStorageOverridesGiB: o.nodeStorageOverridesGiB } : {}),
    imageId,
    ...(o.clusterType ? { clusterType: o.clusterType } : {}),
  });
  try {
    return parseLeaderConfigObject(config, catalogue, "the leader's config");
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const flag =
      o.nodeTypes.length > 0 ? '--nodeTypes' : "--leaderNodeType (the workers' type without --nodeTypes)";
    throw new UserInputError(
      'BAD_NODE_TYPES',
      `${flag}: the leader's daemon would refuse the config it boots with (${e.problems.join('; ')}): its scaler knows the instance types of config/instances.json; choose one of those`,
      { problems: [...e.problems] },
    );
  }
}

/**
 * The subnet the cluster goes into: --vpcSubnet, which must exist and lie in the cluster's zone,
 * else the zone's default subnet (an account without a default VPC has none: --vpcSubnet is then
 * the way in).
 */
async function clusterSubnet(
  cluster: AwsCluster,
  o: LaunchClusterOptions,
): Promise<{ subnetId: string; vpcId: string; mapPublicIpOnLaunch: boolean }> {
  if (o.subnetId) {
    const s = await cluster.subnet(o.subnetId);
    if (!s)
      throw new UserInputError(
        'NO_SUBNET',
        `--vpcSubnet ${o.subnetId}: no such subnet in region ${o.zone.slice(0, -1)}`,
        { subnetId: o.subnetId },
      );
    if (s.zone !== o.zone)
      throw new UserInputError(
        'SUBNET_ZONE_MISMATCH',
        `--vpcSubnet ${o.subnetId} is in zone ${s.zone}, but the cluster's zone is ${o.zone} (${o.zoneSource}): give --zone ${s.zone}, or a subnet in ${o.zone}`,
        { subnetId: o.subnetId, subnetZone: s.zone, zone: o.zone },
      );
    return s;
  }
  try {
    return { ...(await cluster.defaultSubnet(o.zone)), mapPublicIpOnLaunch: true };
  } catch (e) {
    if (!isProvisionerError(e, 'NOT_FOUND')) throw e;
    throw new UserInputError(
      'NO_SUBNET',
      `the account has no default subnet in zone ${o.zone} (no default VPC?): name one with --vpcSubnet SUBNET_ID`,
      { zone: o.zone },
    );
  }
}

/**
 * --awsEc2ExtraSecurityGroupId, checked before anything is made: each group exists in the
 * cluster's VPC (EC2 refuses a group of another network only at RunInstances, after the IAM and
 * the cluster's group were made), and none is named after the cluster (Toil's docs give the same
 * warning): the cluster's own group takes that name, so one toil-ts made for the name would be
 * reused as the cluster's own and deleted by destroy-cluster, and one it did not make keeps the
 * cluster's group from being made (destroy-cluster leaves such a group).
 */
async function checkExtraSecurityGroups(
  cluster: AwsCluster,
  o: LaunchClusterOptions,
  vpcId: string,
): Promise<string[]> {
  const ids = [...new Set(o.extraSecurityGroupIds ?? [])];
  for (const id of ids) {
    const g = await cluster.securityGroup(id);
    if (!g)
      throw new UserInputError(
        'NO_SECURITY_GROUP',
        `--awsEc2ExtraSecurityGroupId ${id}: no such security group in region ${o.zone.slice(0, -1)}`,
        { groupId: id },
      );
    if (g.vpcId !== vpcId)
      throw new UserInputError(
        'NO_SECURITY_GROUP',
        `--awsEc2ExtraSecurityGroupId ${id} is in VPC ${g.vpcId}, but the cluster's nodes go into VPC ${vpcId}${o.subnetId ? ` (--vpcSubnet ${o.subnetId})` : ` (the default subnet of ${o.zone})`}: give a group of that VPC`,
        { groupId: id, groupVpcId: g.vpcId, vpcId },
      );
    if (g.name === o.clusterName)
      throw new UserInputError(
        'NO_SECURITY_GROUP',
        g.taggedWithCluster
          ? `--awsEc2ExtraSecurityGroupId ${id} is '${g.name}', the group toil-ts made for a cluster of this name (its clusterName tag): launch-cluster reuses it as the cluster's own group and destroy-cluster deletes it with the cluster; give a group of another name`
          : `--awsEc2ExtraSecurityGroupId ${id} is named '${g.name}', the cluster's name, which the cluster's own group takes (a VPC holds one group of a name): give a group of another name, or pick another cluster name`,
        { groupId: id },
      );
  }
  return ids;
}

/**
 * EC2 may not see a new instance profile for some seconds after IAM shows it ("Invalid IAM
 * Instance Profile"): the launch is tried again until it does (Toil's wait, made explicit).
 */
async function untilProfileVisible<T>(
  launch: () => Promise<T>,
  o: { clock: Clock; progress: (line: string) => void; timeoutMs: number; pollMs: number },
): Promise<T> {
  const deadline = o.clock.now() + o.timeoutMs;
  for (;;) {
    try {
      return await launch();
    } catch (e) {
      const notYet =
        isProvisionerError(e) &&
        e.cloudCode === 'InvalidParameterValue' &&
        /instance ?profile/i.test(e.message);
      if (!notYet || o.clock.now() >= deadline) throw e;
      o.progress('EC2 does not see the new instance profile yet; trying again');
      await o.clock.sleep(Math.max(o.pollMs, 2000));
    }
  }
}
