import { Option, type Command } from 'commander';
import { extendCommaList } from '../provisioner/cluster/cliSupport.js';

/** The flags of `toil run`'s autoscaled form (Toil's spellings; `preemptible` wherever `preemptable`). */
export interface AutoscalingFlags {
  provisioner?: string;
  nodeType?: string;
  nodeTypes?: string;
  preemptableNodeType?: string;
  preemptibleNodeType?: string;
  maxNodes?: string;
  minNodes?: string;
  maxPreemptableNodes?: string;
  maxPreemptibleNodes?: string;
  minPreemptableNodes?: string;
  minPreemptibleNodes?: string;
  preemptableCompensation?: string;
  preemptibleCompensation?: string;
  targetTime?: string;
  betaInertia?: string;
  scaleInterval?: string;
  bootTime?: string;
  idleGrace?: string;
  zone?: string;
  clusterName?: string;
  keepNodes?: boolean;
  nodeStorage?: string;
  nodeStorageOverrides?: string;
  assumeZeroOverhead?: string | boolean;
}

/**
 * The autoscaling flags that set one field of the scaler section each (the node types aside), and
 * the flag that set it. Here, not with the scaler's config, so that a run can tell whether any was
 * given without loading that config's schemas (zod).
 */
export const SCALER_FIELD_FLAGS: readonly [
  field: string,
  flag: string,
  value: (f: AutoscalingFlags) => string | undefined,
][] = [
  ['maxNodes', '--maxNodes', (f) => f.maxNodes],
  ['minNodes', '--minNodes', (f) => f.minNodes],
  // Toil's -ible spellings are named as typed (a problem with one names that flag).
  ['maxPreemptableNodes', '--maxPreemptableNodes', (f) => f.maxPreemptableNodes],
  [
    'maxPreemptableNodes',
    '--maxPreemptibleNodes',
    (f) => (f.maxPreemptableNodes === undefined ? f.maxPreemptibleNodes : undefined),
  ],
  ['preemptableCompensation', '--preemptableCompensation', (f) => f.preemptableCompensation],
  [
    'preemptableCompensation',
    '--preemptibleCompensation',
    (f) => (f.preemptableCompensation === undefined ? f.preemptibleCompensation : undefined),
  ],
  ['targetTime', '--targetTime', (f) => f.targetTime],
  ['betaInertia', '--betaInertia', (f) => f.betaInertia],
  ['scaleInterval', '--scaleInterval', (f) => f.scaleInterval],
  ['bootTime', '--bootTime', (f) => f.bootTime],
  ['idleGrace', '--idleGrace', (f) => f.idleGrace],
  ['nodeStorage', '--nodeStorage', (f) => f.nodeStorage],
  ['nodeStorageOverrides', '--nodeStorageOverrides', (f) => f.nodeStorageOverrides],
  [
    'assumeZeroOverhead',
    '--assumeZeroOverhead',
    (f) => (f.assumeZeroOverhead === undefined ? undefined : String(f.assumeZeroOverhead)),
  ],
];

/** The autoscaling flags given (besides --provisioner itself), as the user spelt them. */
export function autoscalingFlagsGiven(f: AutoscalingFlags): string[] {
  const given: string[] = [];
  if (f.nodeTypes !== undefined) given.push('--nodeTypes');
  if (f.nodeType !== undefined) given.push('--nodeType');
  if ((f.preemptableNodeType ?? f.preemptibleNodeType) !== undefined) given.push('--preemptableNodeType');
  if ((f.minPreemptableNodes ?? f.minPreemptibleNodes) !== undefined) given.push('--minPreemptableNodes');
  for (const [, flag, value] of SCALER_FIELD_FLAGS) if (value(f) !== undefined) given.push(flag);
  return given;
}

/** Adds the autoscaling flags to `toil run`; they take effect with `--provisioner aws`. */
export function addAutoscalingOptions(cmd: Command): Command {
  return addScalerOptions(
    cmd.option(
      '--provisioner <name>',
      'aws: scale a cluster of EC2 workers for this workflow (--batchSystem mesos or slurm)',
    ),
  )
    .option('--zone <zone>', 'the cluster zone (default $TOIL_AWS_ZONE)')
    .option(
      '--clusterName <name>',
      "the cluster's name (default: the clusterName tag in $TOIL_AWS_TAGS, as on the cluster's leader)",
    )
    .option('--keepNodes', 'leave the workers running when the workflow ends');
}

/**
 * Toil's flags that set the scaler (node types, counts, timings, storage): those of `toil run`'s
 * autoscaled form that `toil simulate` takes too, registered once for both.
 */
export function addScalerOptions(cmd: Command): Command {
  return (
    cmd
      .option('--nodeType <types>', 'on-demand worker type(s), comma-separated, e.g. c3.large')
      // As in Toil, these four extend their list when given again (the others: the last one wins).
      .option(
        '--nodeTypes <spec>',
        "worker types, Toil's form: 'c5.large,c5.xlarge:0.10' (:bid = spot); repeatable",
        extendCommaList,
      )
      .option(
        '--preemptableNodeType <type:bid>',
        'spot worker type(s) with an optional bid, e.g. c3.large:0.05',
      )
      .addOption(new Option('--preemptibleNodeType <type:bid>').hideHelp())
      .option(
        '--maxNodes <n>',
        'most workers per node type (a number, or one per type: 4,2); repeatable',
        extendCommaList,
      )
      .option('--minNodes <n>', 'fewest workers per node type (default 0); repeatable', extendCommaList)
      .option('--maxPreemptableNodes <n>', 'most spot workers in all')
      .addOption(new Option('--maxPreemptibleNodes <n>').hideHelp())
      .option(
        '--minPreemptableNodes <n>',
        "fewest workers of the spot node type (Toil's older form, with --preemptableNodeType)",
      )
      .addOption(new Option('--minPreemptibleNodes <n>').hideHelp())
      .option(
        '--preemptableCompensation <fraction>',
        'share of missing spot capacity replaced by on-demand (0-1)',
      )
      .addOption(new Option('--preemptibleCompensation <fraction>').hideHelp())
      .option(
        '--targetTime <seconds>',
        'start every queued job within this long (default 1800); long work may wait up to a quarter of its runtime',
      )
      .option('--betaInertia <b>', 'smoothing of the node count between ticks (0-0.9, default 0.1)')
      .option('--scaleInterval <seconds>', 'seconds between scaler ticks (default 60)')
      .option('--bootTime <duration>', 'toil-ts: how long a node takes to boot and register (default 2m)')
      .option(
        '--idleGrace <duration>',
        'toil-ts: how long a node may idle before it is retired (default 0: at the first tick it is idle)',
      )
      .option(
        '--nodeStorage <GiB>',
        "workers' root volume for types without instance store (default 50); the scaler plans with it",
      )
      .option(
        '--nodeStorageOverrides <type:GiB,...>',
        "--nodeStorage per instance type, e.g. 'r5.xlarge:200,c5.large:80'; repeatable",
        extendCommaList,
      )
      .option(
        '--assumeZeroOverhead [bool]',
        "plan with a node's whole memory and disk (no allowance for the OS and the agent)",
      )
  );
}
