/**
 * Cluster scenarios for the corpus: the `scaler:` and `simulation:` sections `toil simulate` reads,
 * as plain objects. They vary spot weather (calm, up to 0.3 interruptions per node-hour),
 * capacity refusals by type and zone, boot failures, few vs many node types, tight vs loose
 * maxNodes / maxPreemptableNodes, and preemptableCompensation on or off. Spot bids are the
 * on-demand price (what Toil users usually give), so spot is refused only by capacity.
 */
export interface ClusterSpec {
  readonly name: string;
  readonly description: string;
  readonly scaler: Record<string, unknown>;
  readonly simulation: Record<string, unknown>;
}

const ZONES = ['us-west-2a', 'us-west-2b'];
/** r5/m5/c5 at 2xlarge and 4xlarge, spot (bid = on-demand price) and on-demand. */
const RMC =
  'r5.2xlarge:0.504,m5.2xlarge:0.384,c5.2xlarge:0.34,r5.2xlarge,m5.2xlarge,c5.2xlarge,r5.4xlarge,m5.4xlarge,c5.4xlarge,r5.8xlarge';

export const CLUSTERS: readonly ClusterSpec[] = [
  {
    name: 'calm-rmc',
    description: 'r5/m5/c5 spot and on-demand, maxNodes 20, compensation 0.5, 0.02 interruptions per spot node-hour',
    scaler: { region: 'us-west-2', nodeTypes: RMC, maxNodes: 20, preemptableCompensation: 0.5 },
    simulation: { zones: ZONES, spotInterruptionRate: 0.02 },
  },
  {
    name: 'stormy-spot',
    description: 'as calm-rmc with 0.3 interruptions per spot node-hour and compensation 1',
    scaler: { region: 'us-west-2', nodeTypes: RMC, maxNodes: 20, preemptableCompensation: 1 },
    simulation: { zones: ZONES, spotInterruptionRate: 0.3 },
  },
  {
    name: 'refusals',
    description:
      'r5/m5/c5; spot r5.2xlarge refused in one zone for 3 h, spot m5.2xlarge in both zones from 1 h to 4 h, on-demand c5.4xlarge in one zone for 2 h; 3 % of launches never boot',
    scaler: { region: 'us-west-2', nodeTypes: RMC, maxNodes: 15, preemptableCompensation: 0.5 },
    simulation: {
      zones: ZONES,
      spotInterruptionRate: 0.05,
      bootFailureRate: 0.03,
      capacityRefusals: [
        { instanceType: 'r5.2xlarge', zone: 'us-west-2a', capacityType: 'spot', until: '3h' },
        { instanceType: 'm5.2xlarge', capacityType: 'spot', from: '1h', until: '4h' },
        { instanceType: 'c5.4xlarge', zone: 'us-west-2b', capacityType: 'on-demand', until: '2h' },
      ],
    },
  },
  {
    name: 'tight-few',
    description:
      'three node types (m5.2xlarge spot and on-demand, r5.4xlarge), maxNodes 4, maxPreemptableNodes 3, compensation 0',
    scaler: {
      region: 'us-west-2',
      nodeTypes: 'm5.2xlarge:0.384,m5.2xlarge,r5.4xlarge,r5.8xlarge',
      maxNodes: [4, 4, 4, 2],
      maxPreemptableNodes: 3,
      preemptableCompensation: 0,
    },
    simulation: { zones: ZONES, spotInterruptionRate: 0.02 },
  },
  {
    name: 'many-loose',
    description:
      'fourteen node types from large to 8xlarge, spot and on-demand, maxNodes 50, compensation 1, 0.05 interruptions per spot node-hour',
    scaler: {
      region: 'us-west-2',
      nodeTypes:
        'c5.large:0.085,c5.xlarge:0.17,c5.2xlarge:0.34,m5.xlarge:0.192,m5.2xlarge:0.384,r5.xlarge:0.252,r5.2xlarge:0.504,c5.xlarge,c5.4xlarge,m5.xlarge,m5.4xlarge,r5.xlarge,r5.4xlarge,r5.8xlarge',
      maxNodes: 50,
      preemptableCompensation: 1,
    },
    simulation: { zones: ZONES, spotInterruptionRate: 0.05 },
  },
  {
    name: 'on-demand-only',
    description: 'r5/m5/c5 on-demand only (no spot configured), maxNodes 15',
    scaler: {
      region: 'us-west-2',
      nodeTypes: 'c5.2xlarge,m5.2xlarge,r5.2xlarge,c5.4xlarge,r5.4xlarge,r5.8xlarge',
      maxNodes: 15,
    },
    simulation: { zones: ZONES },
  },
];
