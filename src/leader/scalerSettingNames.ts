import { ROOT_VOLUME_FLAGS, type RootVolumeNames } from '../scaler/rootVolumes.js';
import type { LeaderConfig } from './leaderConfig.js';

/**
 * How a refusal names the scaler settings its reader can change. A workflow run by `toil run
 * --provisioner aws` is scaled by Toil's flags; one submitted to a leader daemon is scaled by the
 * daemon's config file, which its operator edits (the daemon reloads it): the submitter's scaling
 * flags do nothing there, so a refusal that named them sent the reader to change nothing.
 */
export interface ScalerSettingNames {
  readonly nodeTypes: string;
  /** Where a bigger node type is given. */
  readonly biggerNodeType: string;
  /** How an entry of `nodeTypes` is made on-demand. */
  readonly onDemandType: string;
  readonly maxNodes: string;
  readonly maxPreemptableNodes: string;
  readonly preemptableCompensation: string;
  readonly maxTotalNodes: string;
  /** What sizes the workers' root volumes (an EBS-only type's disk). */
  readonly rootVolumes: RootVolumeNames;
  /** Where they are changed, said after them: nothing for flags, ` in FILE` for a config file. */
  readonly where: string;
}

/** As `toil run --provisioner aws` takes them: Toil's flags (maxTotalNodes has none). */
export const SCALER_FLAGS: ScalerSettingNames = {
  nodeTypes: '--nodeTypes',
  biggerNodeType: '--nodeTypes/--nodeType',
  onDemandType: 'one without :BID',
  maxNodes: '--maxNodes',
  maxPreemptableNodes: '--maxPreemptableNodes',
  preemptableCompensation: '--preemptableCompensation',
  maxTotalNodes: 'maxTotalNodes',
  rootVolumes: ROOT_VOLUME_FLAGS,
  where: '',
};

/**
 * As a leader daemon takes them: the `scaler` keys of its config file at `configPath` (with
 * `provisioner.nodeStorageGiB` for the root volume where its `provisioner` gives that).
 */
export function scalerConfigKeys(
  configPath: string,
  provisioner?: LeaderConfig['provisioner'],
): ScalerSettingNames {
  return {
    nodeTypes: 'scaler.nodeTypes',
    biggerNodeType: 'scaler.nodeTypes',
    onDemandType: 'one without a bid or spot: true',
    maxNodes: 'scaler.maxNodes',
    maxPreemptableNodes: 'scaler.maxPreemptableNodes',
    preemptableCompensation: 'scaler.preemptableCompensation',
    maxTotalNodes: 'scaler.maxTotalNodes',
    rootVolumes: rootVolumeConfigKeys(provisioner),
    where: ` in ${configPath}`,
  };
}

/** How a daemon's config names the root volumes its scaler launches. */
export function rootVolumeConfigKeys(provisioner: LeaderConfig['provisioner'] | undefined): RootVolumeNames {
  return {
    // What launch-cluster writes into the leader's config; it stands for scaler.nodeStorage.
    nodeStorage:
      provisioner?.kind === 'aws' && provisioner.nodeStorageGiB !== undefined
        ? 'provisioner.nodeStorageGiB'
        : 'scaler.nodeStorage',
    override: (type) => `scaler.nodeStorageOverrides.${type}`,
  };
}
