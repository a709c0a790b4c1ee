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
  where: '',
};

/** As a leader daemon takes them: the `scaler` keys of its config file at `configPath`. */
export function scalerConfigKeys(configPath: string): ScalerSettingNames {
  return {
    nodeTypes: 'scaler.nodeTypes',
    biggerNodeType: 'scaler.nodeTypes',
    onDemandType: 'one without a bid or spot: true',
    maxNodes: 'scaler.maxNodes',
    maxPreemptableNodes: 'scaler.maxPreemptableNodes',
    preemptableCompensation: 'scaler.preemptableCompensation',
    maxTotalNodes: 'scaler.maxTotalNodes',
    where: ` in ${configPath}`,
  };
}
