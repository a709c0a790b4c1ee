import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { VERSION } from '../common/version.js';
import { clusterEnvironment, refuseNodeDebug } from '../main/env.js';
import { applianceImage } from '../provisioner/appliance.js';
import { s3EndpointFromEnv } from '../main/s3Endpoint.js';
import { nodeInitCommands } from '../provisioner/nodeInit.js';
import { nodeS3Variables } from '../provisioner/nodeS3Endpoint.js';
import { TAG_OWNER } from '../provisioner/aws/tags.js';
import { checkOwnerTag, checkTagsAwsTakes } from '../provisioner/cluster/awsTagRules.js';
import { checkProvisioner, collect, extendCommaList, progressTo } from '../provisioner/cluster/cliSupport.js';
import { addClusterLoggingOptions, clusterLogger, type ClusterLoggingFlags } from './clusterLogging.js';
import {
  checkZoneTakesClusterIam,
  parseNodeStorageOverrides,
  parseNodeTypes,
  parseTags,
  parseTagsJson,
  parseWorkerCounts,
  regionOfZone,
  resolveZone,
  rootVolumeGiB,
  validateCidr,
  validateClusterName,
  validateInstanceProfileArn,
  validateSecurityGroupId,
  validateSubnetId,
} from '../provisioner/cluster/validate.js';
import type { SubCommand } from './main.js';
import { onStopSignals, signalExitCode } from './untilSignal.js';
import {
  addForeignOptions,
  checkForeignOptions,
  ignored,
  refused,
  type ForeignOption,
} from './foreignOptions.js';

interface Flags extends ClusterLoggingFlags {
  provisioner?: string;
  zone?: string;
  nodeType?: string;
  leaderNodeType?: string;
  nodeTypes?: string[];
  workers?: string[];
  keyPairName?: string;
  owner?: string;
  tag?: string[];
  leaderStorage: string;
  nodeStorage: string;
  nodeStorageOverrides?: string;
  sshCidr?: string;
  awsEc2ProfileArn?: string;
  awsEc2ExtraSecurityGroupId: string[];
  vpcSubnet?: string;
  clusterType: string;
}

/** Toil's launch-cluster options toil-ts has no counterpart for (src/cli/foreignOptions.ts). */
const FOREIGN: readonly ForeignOption[] = [
  ...ignored(
    'none',
    'launch-cluster does not connect to the nodes; it waits for them through EC2',
    '--use_private_ip',
  ),
  ...ignored('bool', "toil-ts's nodes run no Singularity", '--allowFuse'),
  ...ignored(
    'none',
    'each node pulls the appliance image as it boots; nothing is looked up beforehand',
    '--forceDockerAppliance',
  ),
  ...ignored('value', "it is Google Cloud's network; toil-ts runs on AWS", '--network'),
  ...refused(
    'value',
    "toil-ts never copies credentials to nodes: each gets its role's credentials from instance metadata; run without --boto",
    '--boto',
  ),
];

export const command: SubCommand = {
  register(program, setExitCode) {
    const cmd = program
      .command('launch-cluster')
      .description('Launch a cluster: its security group, a leader, and static workers (-w).')
      .argument('<clusterName>', 'lowercase letters, digits and -')
      .option('-p, --provisioner <name>', 'the cloud (aws)', 'aws')
      .option('-z, --zone <zone>', 'availability zone (default: TOIL_AWS_ZONE)')
      .option('--nodeType <type>', 'instance type of the leader and of the workers, unless given apart')
      .option('--leaderNodeType <type>', 'instance type of the leader')
      // Given again, the last one counts, as in Toil (argparse's plain store); every value is kept
      // so that one replacing another is said (lastGiven), not dropped without a word.
      .option('--nodeTypes <list>', "workers' instance types, comma-separated; TYPE:BID for spot", collect)
      .option(
        '-w, --workers <counts>',
        'static workers: a count, or one count per --nodeTypes entry',
        collect,
      )
      .option('--keyPairName <name>', 'EC2 key pair for SSH to the nodes')
      .option('--owner <name>', 'Owner tag (default: TOIL_OWNER_TAG, else the key pair name)')
      .option(
        '-t, --tag <NAME=VALUE>',
        'tag for every resource (repeatable; default: TOIL_AWS_TAGS)',
        collect,
        [],
      )
      .option('--leaderStorage <GiB>', "leader's root volume", '50')
      .option('--nodeStorage <GiB>', "workers' root volume", '50')
      .option(
        '--nodeStorageOverrides <type:GiB,...>',
        "workers' root volume per type, instead of --nodeStorage, e.g. 'r5.xlarge:200,c5.large:80' (static workers and the ones the leader's daemon launches); repeatable",
        extendCommaList,
      )
      .option('--sshCidr <cidr>', 'where SSH may come from (nothing is open to 0.0.0.0/0 unless named here)')
      .option(
        '--awsEc2ProfileArn <arn>',
        "an existing instance profile for every node, instead of the cluster's own roles",
      )
      .option(
        '--awsEc2ExtraSecurityGroupId <id>',
        "a security group of the cluster's VPC every node joins besides the cluster's own (repeatable; destroy-cluster leaves it)",
        collect,
        [],
      )
      .option(
        '--vpcSubnet <id>',
        "the subnet the leader and its workers in the leader's zone go into (default: the zone's default subnet); it must be in --zone",
      )
      .option(
        '-T, --clusterType <type>',
        "the engine the workers run: mesos (Toil's default) or slurm (the leader's daemon drives Slurm; docs/slurm.md)",
        'mesos',
      );
    addForeignOptions(addClusterLoggingOptions(cmd), FOREIGN).action(async (name: string, flags: Flags) => {
      for (const notice of checkForeignOptions(flags, FOREIGN)) process.stderr.write(`${notice}\n`);
      setExitCode(await run(name, flags));
    });
  },
};

/**
 * The last value of a flag given more than once, as Toil's argparse keeps it. Toil's docs write
 * `--nodeTypes t2.medium -w 1 --nodeTypes t2.large:0.20 -w 1`, which launches only the last kind:
 * a value replaced by a different one is said, with the form that keeps both.
 */
function lastGiven(values: readonly string[] | undefined, flag: string): string | undefined {
  const last = values?.at(-1);
  if (values && new Set(values).size > 1)
    process.stderr.write(
      `toil: ${flag} given ${values.length} times: the last one (${last}) is used, as in Toil; give every entry in one ${flag} (e.g. --nodeTypes t2.medium,t2.large:0.20 -w 1,1)\n`,
    );
  return last;
}

async function run(name: string, f: Flags): Promise<number> {
  const env = clusterEnvironment();
  refuseNodeDebug();
  const clusterName = validateClusterName(name);
  // Toil's docs recommend kubernetes: its refusal says what to run instead, not only what is allowed.
  if (f.clusterType === 'kubernetes')
    throw new UserInputError(
      'BAD_FLAG',
      `--clusterType kubernetes: toil-ts launches no Kubernetes clusters; use mesos (Toil's default) or slurm, with -w N static workers, and let a run's scaler (toil run --provisioner aws --maxNodes N) add workers as jobs need them`,
    );
  if (f.clusterType !== 'mesos' && f.clusterType !== 'slurm')
    throw new UserInputError('BAD_FLAG', `--clusterType ${f.clusterType}: expected mesos or slurm`);
  checkProvisioner(f.provisioner);
  const { zone, source } = resolveZone(f.zone, env.zone);
  // The zone's region, whatever region is configured: TOIL_AWS_ZONE overrides TOIL_AWS_REGION in Toil.
  const region = regionOfZone(zone, source);
  if (!f.keyPairName)
    throw new UserInputError('NO_KEY_PAIR', '--keyPairName is required (the EC2 key pair for SSH)');
  // An empty Owner tag names nobody: the tag is how a shared account finds whose cluster it is.
  if (f.owner !== undefined && f.owner.trim() === '')
    throw new UserInputError(
      'BAD_FLAG',
      `--owner '${f.owner}': expected a name for the cluster's Owner tag (or leave --owner out: TOIL_OWNER_TAG, else the key pair name)`,
    );
  const leaderNodeType = f.leaderNodeType ?? f.nodeType;
  if (!leaderNodeType)
    throw new UserInputError(
      'NO_NODE_TYPE',
      'give --leaderNodeType or --nodeType (e.g. --nodeType t2.medium)',
    );
  const nodeTypesGiven = lastGiven(f.nodeTypes, '--nodeTypes');
  const workersGiven = lastGiven(f.workers, '-w/--workers');
  const nodeTypes = nodeTypesGiven
    ? parseNodeTypes(nodeTypesGiven, '--nodeTypes')
    : f.nodeType
      ? parseNodeTypes(f.nodeType, '--nodeType')
      : [];
  // Toil's rule ("The --nodeTypes option requires --workers"): without a count, the types given
  // would launch no worker at all, with no word that they did not.
  if (nodeTypesGiven !== undefined && !workersGiven?.trim())
    throw new UserInputError(
      'BAD_WORKERS',
      `--nodeTypes ${nodeTypesGiven} needs -w/--workers, how many static workers of each type to launch (e.g. -w ${nodeTypes.map(() => '1').join(',')}), as Toil's launch-cluster requires`,
    );
  if (workersGiven !== undefined && nodeTypes.length === 0)
    throw new UserInputError('NO_NODE_TYPE', '-w/--workers needs --nodeTypes or --nodeType for the workers');
  const workers = parseWorkerCounts(workersGiven, nodeTypes.length);
  const tagPairs = f.tag ?? [];
  const tagsGiven = tagPairs.length > 0;
  const tags = tagsGiven ? parseTags(tagPairs) : parseTagsJson(env.tagsJson);
  checkTagsAwsTakes(tags, tagsGiven ? '-t/--tag' : 'TOIL_AWS_TAGS');
  const owner = f.owner ?? env.ownerTag ?? f.keyPairName;
  // A user's Owner tag replaces this one (as in Toil), so only the Owner that is used is checked.
  if (!(TAG_OWNER in tags)) {
    if (f.owner !== undefined) checkOwnerTag(owner, '--owner');
    else if (env.ownerTag !== undefined) checkOwnerTag(owner, 'TOIL_OWNER_TAG');
    else
      checkOwnerTag(
        owner,
        '--keyPairName',
        ' (the Owner tag is the key pair name when no --owner is given: pass --owner NAME)',
      );
  }
  const leaderStorageGiB = rootVolumeGiB(f.leaderStorage, '--leaderStorage');
  const nodeStorageGiB = rootVolumeGiB(f.nodeStorage, '--nodeStorage');
  // The workers' types: --nodeTypes, else the leader's, which its daemon then scales.
  const workerTypes = nodeTypes.length > 0 ? nodeTypes.map((t) => t.instanceType) : [leaderNodeType];
  const nodeStorageOverridesGiB =
    f.nodeStorageOverrides === undefined
      ? undefined
      : parseNodeStorageOverrides(f.nodeStorageOverrides, workerTypes);
  const sshCidr = f.sshCidr ? validateCidr(f.sshCidr) : undefined;
  const subnetId = f.vpcSubnet === undefined ? undefined : validateSubnetId(f.vpcSubnet);
  const extraSecurityGroupIds = f.awsEc2ExtraSecurityGroupId.map(validateSecurityGroupId);
  const ownProfile =
    f.awsEc2ProfileArn === undefined ? undefined : validateInstanceProfileArn(f.awsEc2ProfileArn);
  const log = clusterLogger(f);
  const image = applianceImage(env.appliance, VERSION, log);
  const nodeInit = nodeInitCommands(env.nodeInit);
  // Checked here (one line, exit 2), not first by a node's job opening its store.
  s3EndpointFromEnv(process.env);
  const s3Variables = nodeS3Variables(process.env);
  const clock = new RealClock();
  // The AWS SDK and the provisioner load once the input is accepted: a mistake is reported at once.
  const [
    { createClusterCalls, createIamClient, createSsmClient, partitionRegionNames },
    { launchCluster },
    { instanceProfileExists },
    { clusterIamAndKey },
    { readCatalogue },
  ] = await Promise.all([
    import('../main/awsClients.js'),
    import('../provisioner/cluster/launchCluster.js'),
    import('../provisioner/aws/clusterIam.js'),
    import('./clusterIamAndKey.js'),
    import('../scaler/catalogueFile.js'),
  ]);
  const catalogue = await readCatalogue();
  const { calls, close } = await createClusterCalls({ region, clock, log });
  // With --awsEc2ProfileArn, IAM is only asked whether the profile exists.
  const iamClient = await createIamClient(process.env);
  if (iamClient && !ownProfile) checkZoneTakesClusterIam(zone, source);
  const ssmClient = f.clusterType === 'slurm' ? await createSsmClient(region, process.env) : undefined;
  // Ctrl-C stops the launch and removes what it made; a second one leaves at once, saying what to run.
  const interrupt = new AbortController();
  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptedBy) {
      process.stderr.write(
        `toil: ${signal} again: stopping now; remove what is left with 'toil destroy-cluster ${clusterName}'\n`,
      );
      process.exit(signalExitCode(interruptedBy));
    }
    interruptedBy = signal;
    interrupt.abort(new Error(`interrupted by ${signal}`));
  };
  const offSignals = onStopSignals(onSignal);
  try {
    const progress = progressTo(process.stdout);
    const cluster = await launchCluster(
      {
        clusterName,
        zone,
        zoneSource: source,
        leaderNodeType,
        nodeTypes,
        workers,
        keyPairName: f.keyPairName,
        owner,
        tags,
        leaderStorageGiB,
        nodeStorageGiB,
        ...(nodeStorageOverridesGiB ? { nodeStorageOverridesGiB } : {}),
        ...(sshCidr ? { sshCidr } : {}),
        ...(env.imageId ? { imageId: env.imageId } : {}),
        applianceImage: image,
        nodeInit,
        s3Variables,
        ...(ownProfile ? { instanceProfileArn: ownProfile.arn } : {}),
        ...(subnetId ? { subnetId } : {}),
        ...(extraSecurityGroupIds.length > 0 ? { extraSecurityGroupIds } : {}),
        clusterType: f.clusterType,
        waitTimeoutMs: 15 * 60_000,
        pollMs: 1000,
      },
      {
        calls,
        clock,
        log,
        progress,
        // With --awsEc2ProfileArn, no IAM is made: IAM is only asked whether the profile exists.
        ...clusterIamAndKey({
          iamClient: ownProfile ? undefined : iamClient,
          ssmClient,
          clusterName,
          region,
          clock,
          log,
          env: process.env,
        }),
        ...(iamClient && ownProfile
          ? { profileExists: () => instanceProfileExists(iamClient, ownProfile.name) }
          : {}),
        regionNames: () => partitionRegionNames({ region, clock, log }),
        signal: interrupt.signal,
        catalogue,
      },
    ).catch((e: unknown) => {
      if (interruptedBy) return undefined;
      throw e;
    });
    if (!cluster) {
      process.stderr.write(`toil: launch-cluster ${clusterName} interrupted by ${interruptedBy}\n`);
      return signalExitCode(interruptedBy!);
    }
    progress(
      `cluster '${clusterName}' is up: leader ${cluster.leader.instanceId} (${cluster.leader.publicIp ?? cluster.leader.privateIp}), ${cluster.workers.length} worker(s)`,
    );
    // Fewer workers than -w asked for is not the cluster asked for (Toil's on-demand launch fails
    // outright): say so and fail, but keep what was made, which the user may want as it is.
    const wanted = workers.reduce((sum, n) => sum + n, 0);
    if (cluster.workers.length < wanted) {
      process.stderr.write(
        `toil: got ${cluster.workers.length} of the ${wanted} workers asked for (-w ${workersGiven ?? ''}); cluster '${clusterName}' is left up with them: use it as it is, or remove it with 'toil destroy-cluster ${clusterName}'\n`,
      );
      return 1;
    }
    return 0;
  } finally {
    offSignals();
    close();
    iamClient?.destroy();
    ssmClient?.destroy();
  }
}
